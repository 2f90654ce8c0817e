import type { Route } from '../route.js';

/** Monitoring (issue 15): built by its own change; the shell links here already. */
export function MonitoringPage(_props: { route: Route }) {
  return (
    <section>
      <h1>Monitoring</h1>
      <p>This page is not built yet.</p>
    </section>
  );
}

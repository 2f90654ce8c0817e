import type { Route } from '../route.js';

/** Live traffic (issue 15): built by its own change; the shell links here already. */
export function TrafficPage(_props: { route: Route }) {
  return (
    <section>
      <h1>Live traffic</h1>
      <p>This page is not built yet.</p>
    </section>
  );
}

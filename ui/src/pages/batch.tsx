import type { Route } from '../route.js';

/** Batch jobs (issue 15): built by its own change; the shell links here already. */
export function BatchPage(_props: { route: Route }) {
  return (
    <section>
      <h1>Batch jobs</h1>
      <p>This page is not built yet.</p>
    </section>
  );
}

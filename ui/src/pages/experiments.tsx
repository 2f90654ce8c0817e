import type { Route } from '../route.js';

/** Experiments (issue 15): built by its own change; the shell links here already. */
export function ExperimentsPage(_props: { route: Route }) {
  return (
    <section>
      <h1>Experiments</h1>
      <p>This page is not built yet.</p>
    </section>
  );
}

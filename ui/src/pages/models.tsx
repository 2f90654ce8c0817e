import type { Route } from '../route.js';

/** Models (issue 15): built by its own change; the shell links here already. */
export function ModelsPage(_props: { route: Route }) {
  return (
    <section>
      <h1>Models</h1>
      <p>This page is not built yet.</p>
    </section>
  );
}

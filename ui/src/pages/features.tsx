import type { Route } from '../route.js';

/** Features and streams (issue 15): built by its own change; the shell links here already. */
export function FeaturesPage(_props: { route: Route }) {
  return (
    <section>
      <h1>Features and streams</h1>
      <p>This page is not built yet.</p>
    </section>
  );
}

import { AccessNote } from '../components/notices.js';
import { href, type Route } from '../route.js';
import { ModelDetail } from './models/model-detail.js';
import { ModelList } from './models/model-list.js';

/**
 * Models (issue 15): `#/models` lists every model, `#/models/<name>` shows one with its versions,
 * aliases and their history, and moves or rolls back an alias after a confirmation. Everything comes
 * from the admin API (GET /v1/models, /v1/models/{name}, /v1/models/{name}/aliases), so it needs the
 * admin token.
 */
export function ModelsPage({ route }: { route: Route }) {
  const name = route.path[1];
  if (name === undefined) {
    return (
      <section>
        <h1>Models</h1>
        <AccessNote needsToken />
        <ModelList />
      </section>
    );
  }
  return (
    <section>
      <p>
        <a href={href('models')}>← All models</a>
      </p>
      <h1>
        Model <span data-testid="model-name">{name}</span>
      </h1>
      <AccessNote needsToken />
      <ModelDetail key={name} name={name} query={route.query} />
    </section>
  );
}

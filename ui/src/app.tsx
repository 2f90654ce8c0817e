import type { FunctionComponent } from 'preact';
import { ConnectionBanner } from './components/notices.js';
import { TokenBox } from './components/token-box.js';
import { BatchPage } from './pages/batch.js';
import { ExperimentsPage } from './pages/experiments.js';
import { FeaturesPage } from './pages/features.js';
import { ModelsPage } from './pages/models.js';
import { MonitoringPage } from './pages/monitoring.js';
import { OverviewPage } from './pages/overview.js';
import { TrafficPage } from './pages/traffic.js';
import { href, type Route, useRoute } from './route.js';

interface PageSpec {
  /** First path segment: `#/models/...`. */
  id: string;
  title: string;
  component: FunctionComponent<{ route: Route }>;
}

/** The pages, in the navigation's order; the first path segment picks one. */
export const PAGES: readonly PageSpec[] = [
  { id: '', title: 'Overview', component: OverviewPage },
  { id: 'models', title: 'Models', component: ModelsPage },
  { id: 'traffic', title: 'Live traffic', component: TrafficPage },
  { id: 'experiments', title: 'Experiments', component: ExperimentsPage },
  { id: 'monitoring', title: 'Monitoring', component: MonitoringPage },
  { id: 'batch', title: 'Batch jobs', component: BatchPage },
  { id: 'features', title: 'Features and streams', component: FeaturesPage },
];

export function App() {
  const route = useRoute();
  const current = route.path[0] ?? '';
  const page = PAGES.find((p) => p.id === current);
  document.title = `${page?.title ?? 'Not found'} · Ferry`;
  const Page = page?.component;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href()}>
          Ferry
        </a>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.id}>
                <a
                  href={p.id === '' ? '#/' : href(p.id)}
                  aria-current={p.id === current ? 'page' : undefined}
                >
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <TokenBox />
      </header>
      <ConnectionBanner />
      <main id="main" tabIndex={-1}>
        {Page ? (
          <Page route={route} />
        ) : (
          <section>
            <h1>Not found</h1>
            <p>
              No page “{current}”. <a href="#/">Back to the overview</a>.
            </p>
          </section>
        )}
      </main>
    </>
  );
}

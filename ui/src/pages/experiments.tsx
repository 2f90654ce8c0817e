import type { Route } from '../route.js';
import './experiments/experiments.css';
import { ExperimentDetail } from './experiments/detail.js';
import { ExperimentList } from './experiments/list.js';

/** #/experiments: the list; #/experiments/<name>: one experiment (issue 15). */
export function ExperimentsPage({ route }: { route: Route }) {
  const name = route.path[1];
  return name === undefined ? <ExperimentList route={route} /> : <ExperimentDetail key={name} name={name} />;
}

import { AccessNote } from '../components/notices.js';
import type { Route } from '../route.js';
import { JobDetail } from './batch/job-detail.js';
import { JobListView } from './batch/job-list.js';

/**
 * Batch jobs (issue 15): `#/batch` lists the jobs of the server's database (GET /v1/batch/jobs,
 * polled every 5 s) with their progress, rejects and workers; `#/batch/<jobId>` is one job
 * (GET /v1/batch/jobs/{jobId}, polled every 2 s while it runs) with each worker's rate.
 */
export function BatchPage({ route }: { route: Route }) {
  const jobId = route.path[1];
  return (
    <section>
      <h1>Batch jobs</h1>
      <AccessNote needsToken />
      {jobId === undefined ? <JobListView route={route} /> : <JobDetail key={jobId} jobId={jobId} />}
    </section>
  );
}

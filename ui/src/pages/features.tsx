import { AccessNote } from '../components/notices.js';
import type { Route } from '../route.js';
import { Streams } from './features/streams.js';
import { FeatureViews } from './features/views.js';

/**
 * Features and streams (issue 15): each feature view's freshness against its TTL, and each
 * stream's readers' lag and newest dead letters, from GET /v1/features/status and
 * GET /v1/streams/status, polled every 5 s.
 */
export function FeaturesPage(_props: { route: Route }) {
  return (
    <section>
      <h1>Features and streams</h1>
      <AccessNote needsToken />
      <p class="access">
        The features or streams token (FERRY_FEATURES_TOKEN, FERRY_STREAMS_TOKEN) reads this page too.
      </p>
      <FeatureViews />
      <Streams />
    </section>
  );
}

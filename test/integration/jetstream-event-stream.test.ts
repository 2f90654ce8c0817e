import { JetStreamEventStream } from '../../src/adapters/nats/jetstream-event-stream.js';
import { eventStreamConformance } from '../conformance/event-stream.conformance.js';
import { deleteJetStreams } from '../helpers/nats-server.js';

const NATS = process.env.FERRY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

eventStreamConformance('NATS JetStream (the real server)', async () => ({
  open: () => new JetStreamEventStream({ url: NATS }),
  cleanup: (streams) => deleteJetStreams(NATS, streams),
}));

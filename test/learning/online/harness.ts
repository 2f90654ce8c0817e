import { join } from 'node:path';
import { FsBlobStore } from '../../../src/adapters/fs/fs-blob-store.js';
import { SqliteClient } from '../../../src/adapters/sqlite/sqlite-client.js';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.js';
import { publishLabeledEvents } from '../../../src/learning/online/labeled-event.js';
import { type LearnerDeps, OnlineLearner } from '../../../src/learning/online/learner.js';
import type { LearnerSettings } from '../../../src/learning/online/learner-settings.js';
import { verifyArtifact } from '../../../src/model/kinds/index.js';
import type { EventStream } from '../../../src/ports/event-stream.js';
import type { SqlClient } from '../../../src/ports/sql.js';
import { ModelRegistry } from '../../../src/registry/model-registry.js';
import { makeTmpDir } from '../../helpers/tmp-dir.js';
import type { ToyExample } from './toy.js';

export const KIND_CONTEXT = { cacheDir: '/nonexistent', callTimeoutMs: 5000 };

/** A real registry (SQLite + files) and a stream transport (the embedded log unless given). */
export interface Harness {
  readonly sql: SqlClient;
  readonly registry: ModelRegistry;
  /** A new transport over the same log: a restarted process's. */
  openStream(): EventStream;
  learner(settings: LearnerSettings, extra?: Partial<LearnerDeps>): OnlineLearner;
  publish(model: string, examples: readonly ToyExample[], firstId: number, stream?: string): Promise<void>;
  close(): Promise<void>;
}

/** `sqlClient`: the Ferry database (default SQLite in the temporary directory); closed by close(). */
export async function harness(openStream?: () => EventStream, sqlClient?: SqlClient): Promise<Harness> {
  const dir = await makeTmpDir('ferry-online-');
  const sql = sqlClient ?? new SqliteClient({ path: join(dir.path, 'ferry.db') });
  await sql.init();
  const registry = new ModelRegistry({
    sql,
    blobs: new FsBlobStore(join(dir.path, 'artifacts')),
    verifyArtifact: (bytes, version) => verifyArtifact(version.kind, bytes, KIND_CONTEXT),
  });
  await registry.init();
  const open =
    openStream ?? (() => new SqliteEventLog({ path: join(dir.path, 'streams.db'), maxPollMs: 10 }));
  const opened: EventStream[] = [];
  const openTracked = () => {
    const s = open();
    opened.push(s);
    return s;
  };
  const publisher = openTracked();
  return {
    sql,
    registry,
    openStream: openTracked,
    learner: (settings, extra = {}) =>
      new OnlineLearner(settings, {
        stream: openTracked(),
        sql,
        registry,
        kindContext: KIND_CONTEXT,
        ...extra,
      }),
    async publish(model, examples, firstId, stream = 'feedback') {
      await publisher.init();
      await publishLabeledEvents(
        publisher,
        stream,
        examples.map((e, k) => ({
          id: `label-${firstId + k}`,
          event: {
            model,
            title: e.title,
            description: e.description,
            label: e.label,
            at: '2026-12-01T00:00:00Z',
          },
        })),
      );
    },
    async close() {
      for (const s of opened) await s.close().catch(() => undefined);
      await sql.close();
      await dir.remove();
    },
  };
}

/** Steps the learner until `done()` or the time is up (then throws). */
export async function drive(
  learner: OnlineLearner,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error('the learner did not get there in time');
    await learner.step();
  }
}

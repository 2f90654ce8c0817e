/**
 * Event simulator of the recommendations example: users who each prefer one tag view projects,
 * and every view is a `project-viewed` event published to the stream transport, as a web site's
 * backend would publish them.
 *
 *   npx tsx examples/recommendations/simulate.ts --users 50 --rate 200 --seconds 60
 *
 * Flags: --url (default FERRY_STREAM_URL, else sqlite:$FERRY_HOME/streams.db), --users (50),
 * --rate (events per second, 100), --seconds (30; 0 publishes nothing), --seed (1), --projects
 * (synthetic projects when the prediction store has none of --model, 40), --model (tagifai),
 * --features (the definition file whose stream source describes the events, this folder's
 * features.json), --nightly-out <file> (also write a nightly row per user, see the README).
 *
 * Projects come from the prediction store (FERRY_DB) when it holds predictions of --model: each
 * project's tag is its predicted label. Otherwise synthetic projects with random tags.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openEventStream, openSqlClient } from '../../src/adapters/factory.js';
import { defaultStreamUrl } from '../../src/app/serving-features.js';
import { PredictionStore } from '../../src/batch/prediction-store.js';
import { loadConfig } from '../../src/core/config.js';
import { seededRandom } from '../../src/core/random.js';
import { readSetting } from '../../src/core/settings/read-settings.js';
import { loadDefinitions } from '../../src/features/load-definitions.js';
import { type EventSpec, encodeStreamEvent, eventSpecs, specFor } from '../../src/features/stream-events.js';
import type { EventStream } from '../../src/ports/event-stream.js';
import type { StoredPredictionStore } from '../../src/ports/prediction-store.js';

/** The course's tags (the tagifai classifier's classes). */
export const TAGS = ['computer-vision', 'mlops', 'natural-language-processing', 'other'] as const;
export const STREAM = 'project-viewed';

export interface SimProject {
  readonly id: string;
  readonly tag: string;
}
export interface SimUser {
  readonly id: string;
  /** The latent preference: most of the user's views are of projects with this tag. */
  readonly preferredTag: string;
}
/** One `project-viewed` event, as features.json's stream source reads it. */
export interface ViewEvent {
  readonly id: string;
  readonly user_id: string;
  readonly project_id: string;
  readonly tag: string;
  /** 1 when the view led to a click on the project's link, else 0 (averaged into click_rate). */
  readonly clicked: 0 | 1;
  /** ISO 8601. */
  readonly viewed_at: string;
}

const pad = (n: number) => String(n).padStart(4, '0');

/**
 * `count` users `u0001`…, each preferring one of `tags`. Drawn from a generator of their own, so
 * the first k users are the same whatever `count` is (one run can write nightly rows for 20 users
 * and another publish events for the first 10).
 */
export function makeUsers(count: number, tags: readonly string[], seed: number): SimUser[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => ({
    id: `u${pad(i + 1)}`,
    preferredTag: tags[Math.floor(random() * tags.length)]!,
  }));
}

/** `count` projects `p0001`…, tags dealt round-robin so that every tag has projects. */
export function syntheticProjects(count: number, tags: readonly string[]): SimProject[] {
  return Array.from({ length: count }, (_, i) => ({ id: `p${pad(i + 1)}`, tag: tags[i % tags.length]! }));
}

/**
 * The stored predictions of `model` as projects (entity id, predicted label), at most `max`, read
 * a page at a time. Rows of a model without labels (no `prediction`) are skipped.
 */
export async function projectsFromStore(
  store: Pick<StoredPredictionStore, 'list'>,
  model: string,
  max = 100_000,
): Promise<SimProject[]> {
  const out: SimProject[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.list(model, { limit: 1000, ...(after === undefined ? {} : { after }) });
    for (const p of page) if (p.prediction !== undefined) out.push({ id: p.entityId, tag: p.prediction });
    if (page.length < 1000 || out.length >= max) return out.slice(0, max);
    after = page[page.length - 1]!.entityId;
  }
}

export interface GeneratorOptions {
  readonly users: readonly SimUser[];
  readonly projects: readonly SimProject[];
  readonly seed: number;
  /** Share of a user's views that go to the preferred tag. Default 0.8. */
  readonly preference?: number;
  /** Click probability on a project of the preferred tag, and on any other. Default 0.4 and 0.1. */
  readonly clickPreferred?: number;
  readonly clickOther?: number;
  /** Makes ids unique across runs with the same seed (default: the start time in base 36). */
  readonly runId?: string;
}

/** Seeded views: a random user views a project of their tag (with `preference`) or any project. */
export class EventGenerator {
  private readonly random: () => number;
  private readonly byTag = new Map<string, SimProject[]>();
  private readonly runId: string;
  private seq = 0;

  constructor(private readonly opts: GeneratorOptions) {
    if (opts.users.length === 0) throw new Error('the simulation needs at least one user');
    if (opts.projects.length === 0) throw new Error('the simulation needs at least one project');
    this.random = seededRandom(opts.seed ^ 0x5eed);
    for (const p of opts.projects) {
      const list = this.byTag.get(p.tag) ?? [];
      list.push(p);
      this.byTag.set(p.tag, list);
    }
    this.runId = opts.runId ?? Date.now().toString(36);
  }

  /** The next event at `atMs`, for a random user (or `user`). */
  next(atMs: number, user?: SimUser): ViewEvent {
    const { users, projects } = this.opts;
    const u = user ?? users[Math.floor(this.random() * users.length)]!;
    const ofTag = this.byTag.get(u.preferredTag);
    const preferred = ofTag !== undefined && this.random() < (this.opts.preference ?? 0.8);
    const pool = preferred ? ofTag : projects;
    const project = pool[Math.floor(this.random() * pool.length)]!;
    const pClick =
      project.tag === u.preferredTag ? (this.opts.clickPreferred ?? 0.4) : (this.opts.clickOther ?? 0.1);
    this.seq += 1;
    return {
      id: `sim-${this.opts.seed}-${this.runId}-${this.seq}`,
      user_id: u.id,
      project_id: project.id,
      tag: project.tag,
      clicked: this.random() < pClick ? 1 : 0,
      viewed_at: new Date(atMs).toISOString(),
    };
  }
}

/** Largest publish call: one transaction on the embedded log, one batch of acks on JetStream. */
export const PUBLISH_BATCH = 500;

/**
 * Publishes events through the transport in batches of PUBLISH_BATCH, each checked against the
 * stream source's spec first (id, key, event time, size), as the HTTP route checks them.
 * Returns how many were stored now (duplicates of ids already stored are not counted).
 */
export async function publishEvents(
  transport: EventStream,
  spec: EventSpec,
  events: readonly ViewEvent[],
  maxEventBytes = 1024 * 1024,
): Promise<number> {
  let stored = 0;
  for (let i = 0; i < events.length; i += PUBLISH_BATCH) {
    const batch = events
      .slice(i, i + PUBLISH_BATCH)
      .map((e, j) => encodeStreamEvent(e, i + j, spec, maxEventBytes));
    const acks = await transport.publish(spec.stream, batch);
    stored += acks.filter((a) => !a.duplicate).length;
  }
  return stored;
}

/** The spec of the `project-viewed` stream from a definition file. */
export async function viewEventSpec(featuresFile: string): Promise<EventSpec> {
  const { repo } = await loadDefinitions(featuresFile);
  return specFor(eventSpecs(repo), STREAM);
}

/** The nightly file's rows: per user, the first `perUser` projects of the preferred tag. */
export function nightlyRows(
  users: readonly SimUser[],
  projects: readonly SimProject[],
  computedAt: Date,
  perUser = 5,
): string {
  return users
    .map((u) =>
      JSON.stringify({
        user_id: u.id,
        computed_at: computedAt.toISOString(),
        projects: projects
          .filter((p) => p.tag === u.preferredTag)
          .slice(0, perUser)
          .map((p) => p.id),
      }),
    )
    .join('\n')
    .concat(users.length > 0 ? '\n' : '');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function positiveInt(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new Error(`--${flag} must be an integer >= ${min}, got "${text}"`);
  }
  return n;
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      users: { type: 'string', default: '50' },
      rate: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '30' },
      seed: { type: 'string', default: '1' },
      projects: { type: 'string', default: '40' },
      model: { type: 'string', default: 'tagifai' },
      features: { type: 'string', default: join(here, 'features.json') },
      'nightly-out': { type: 'string' },
    },
  });
  const users = positiveInt('users', values.users, 1);
  const rate = positiveInt('rate', values.rate, 1);
  const seconds = positiveInt('seconds', values.seconds, 0);
  const seed = positiveInt('seed', values.seed, 0);
  const config = loadConfig();
  const url = values.url ?? readSetting(process.env, 'FERRY_STREAM_URL') ?? defaultStreamUrl(config);

  const sql = openSqlClient(config.db);
  let projects: SimProject[];
  try {
    await sql.init();
    const store = new PredictionStore({ sql });
    await store.init();
    projects = await projectsFromStore(store, values.model);
  } finally {
    await sql.close();
  }
  const fromStore = projects.length > 0;
  if (!fromStore) projects = syntheticProjects(positiveInt('projects', values.projects, 1), TAGS);
  const tags = [...new Set(projects.map((p) => p.tag))].sort();
  const people = makeUsers(users, tags, seed);
  process.stdout.write(
    `${projects.length} projects (${fromStore ? `stored predictions of ${values.model}` : 'synthetic'}), tags ${tags.join(', ')}; ${users} users\n`,
  );
  if (values['nightly-out'] !== undefined) {
    await writeFile(values['nightly-out'], nightlyRows(people, projects, new Date()));
    process.stdout.write(`wrote a nightly row for each of the ${users} users to ${values['nightly-out']}\n`);
  }
  if (seconds === 0) return;

  const spec = await viewEventSpec(values.features);
  const transport = openEventStream(url);
  const generator = new EventGenerator({ users: people, projects, seed });
  let stopping = false;
  process.once('SIGINT', () => {
    stopping = true;
  });
  try {
    await transport.init();
    await transport.ensureStream({ name: spec.stream });
    const started = Date.now();
    let published = 0;
    let lastPrint = 0;
    const tty = process.stdout.isTTY === true;
    for (;;) {
      const elapsed = Math.min(seconds * 1000, Date.now() - started);
      const due = Math.floor((rate * elapsed) / 1000) - published;
      if (due > 0) {
        const now = Date.now();
        const events = Array.from({ length: due }, () => generator.next(now));
        await publishEvents(transport, spec, events);
        published += due;
      }
      const done = stopping || elapsed >= seconds * 1000;
      if (done || Date.now() - lastPrint >= 1000) {
        lastPrint = Date.now();
        const secs = (Date.now() - started) / 1000;
        const line = `published ${published} events to ${spec.stream} (${(published / Math.max(secs, 0.001)).toFixed(0)}/s, target ${rate}/s), ${secs.toFixed(0)} s of ${seconds} s`;
        process.stdout.write(tty ? `\r${line}` : `${line}\n`);
      }
      if (done) break;
      await sleep(Math.max(10, Math.min(100, 1000 / rate)));
    }
    if (tty) process.stdout.write('\n');
  } finally {
    await transport.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`simulate: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}

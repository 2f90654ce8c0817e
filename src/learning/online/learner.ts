import { ErrorCode, FerryError } from '../../core/errors.js';
import { decodeModel } from '../../model/codec.js';
import type { KindContext } from '../../model/kinds/index.js';
import {
  type LearnOutcome,
  ONLINE_TEXT_KIND,
  OnlineTextClassifier,
} from '../../model/kinds/online-text/online-text-classifier.js';
import { isTextModel, type TextInput, type TextModel } from '../../model/model.js';
import type { Delivery, EventStream, StreamConsumer } from '../../ports/event-stream.js';
import type { TextLogItem } from '../../ports/prediction-log-sink.js';
import type { SqlClient } from '../../ports/sql.js';
import { loadModel } from '../../registry/load-model.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import { registerArtifact } from '../../registry/register-artifact.js';
import { CheckpointStore, type LearnedEvent } from './checkpoint-store.js';
import { decideFallback, decidePromotion } from './guardrails.js';
import { type LabeledEvent, parseLabeledEvent } from './labeled-event.js';
import { type LearnerSettings, learnerSettings } from './learner-settings.js';
import { ProgressiveWindow, type WindowEntry, type WindowFigures } from './progressive-window.js';

export type LearnerLog = (message: string, fields: Record<string, unknown>) => void;

export interface LearnerDeps {
  readonly stream: EventStream;
  readonly sql: SqlClient;
  readonly registry: ModelRegistry;
  readonly kindContext: KindContext;
  readonly log?: LearnerLog;
  readonly now?: () => number;
  /** Called after each checkpoint commits with the event ids it made durable (tests count them). */
  readonly onCheckpoint?: (ids: readonly string[]) => void;
  /**
   * Called once a snapshot is registered, before its alias moves, with the learner's last answers
   * (given before each example was learned, as the log keeps served ones) and their true labels:
   * what the snapshot's reference profile is made of. A failure is logged, never the learner's.
   */
  readonly onSnapshot?: (version: number, recent: RecentAnswers) => Promise<void>;
}

/** The learner's last progressive answers (at most its window; since the process started). */
export interface RecentAnswers {
  readonly items: readonly TextLogItem[];
  readonly labels: readonly string[];
}

/** Counters and guardrail state, stored with each checkpoint. */
interface LearnerMeta {
  learned: number;
  duplicates: number;
  invalid: number;
  otherModels: number;
  window: WindowEntry[];
  lastSnapshotLabels: number;
  lastSnapshotAtMs: number;
  lastSnapshotVersion: number | null;
  /** The snapshot the learner made production, and the version it replaced (for the fallback). */
  promoted: { version: number; previous: number | null } | null;
}

export interface LearnerStatus {
  readonly model: string;
  readonly stream: string;
  readonly learned: number;
  readonly duplicates: number;
  readonly invalid: number;
  readonly otherModels: number;
  readonly classes: readonly string[];
  readonly progressive: WindowFigures;
  readonly lastSnapshotVersion: number | null;
  readonly promoted: LearnerMeta['promoted'];
}

/**
 * Learns a model online from a stream of labeled events:
 * 1. fetch; each label is first predicted by the learner (and by the registry versions the
 *    guardrails compare it with), then learned: progressive validation;
 * 2. every `checkpointEvery` labels (or `checkpointEveryMs`), ONE transaction stores the weights,
 *    the window and the ids learned; only then are those deliveries acked. A crash before the commit
 *    loses the uncommitted learning AND leaves the deliveries unacked, so they come again and are
 *    learned once; a redelivery of a committed id (crash between commit and ack) is found in the
 *    id table and acked without learning. No label learned twice, none skipped;
 * 3. after a checkpoint, a snapshot when due (registered as a version of kind
 *    online-text-classifier, with its progressive figures), then the guardrails (guardrails.ts).
 */
export class OnlineLearner {
  private readonly s: ReturnType<typeof learnerSettings>;
  private readonly store: CheckpointStore;
  private readonly now: () => number;
  private readonly log: LearnerLog;
  private model: OnlineTextClassifier;
  private window: ProgressiveWindow;
  private meta: LearnerMeta;
  /** The last answers and labels, for the snapshots' profiles (in memory: a restart starts empty). */
  private readonly recent: Array<{ item: TextLogItem; label: string }> = [];
  private consumer: StreamConsumer | undefined;
  /** Learned, not yet committed: their ids (dedupe within the batch) and deliveries to ack. */
  private pending: LearnedEvent[] = [];
  private readonly pendingIds = new Set<string>();
  private toAck: Delivery[] = [];
  private lastCheckpointMs = 0;
  /** Registry versions answering every label: production, and the version a promotion replaced. */
  private compared = new Map<number, TextModel>();
  private production: number | undefined;

  constructor(
    settings: LearnerSettings,
    private readonly deps: LearnerDeps,
  ) {
    this.s = learnerSettings(settings);
    this.store = new CheckpointStore(deps.sql);
    this.now = deps.now ?? Date.now;
    this.log = deps.log ?? (() => {});
    this.model = OnlineTextClassifier.create(this.s.params);
    this.window = new ProgressiveWindow(this.s.window);
    this.meta = freshMeta();
  }

  /** Migrates, restores the checkpoint, creates the stream if needed and opens the durable consumer. */
  async init(): Promise<void> {
    await this.store.init();
    const stored = await this.store.load(this.s.model);
    if (stored !== undefined) {
      const model = decodeModel(new TextEncoder().encode(stored.state));
      if (!(model instanceof OnlineTextClassifier))
        throw new FerryError(ErrorCode.INTERNAL, 'stored learner state is not an online model');
      this.model = model;
      this.meta = { ...freshMeta(), ...(JSON.parse(stored.meta) as Partial<LearnerMeta>) };
      this.window = ProgressiveWindow.fromJSON(this.s.window, this.meta.window);
    }
    this.lastCheckpointMs = this.now();
    await this.deps.stream.init();
    await this.deps.stream.ensureStream({ name: this.s.stream });
    this.consumer = await this.deps.stream.consumer(this.s.stream, {
      name: consumerName(this.s.model),
      ackWaitMs: this.s.ackWaitMs,
    });
    await this.refreshCompared();
  }

  private rememberAnswer(input: TextInput, label: string, outcome: LearnOutcome): void {
    const { predicted, confidence } = outcome;
    this.recent.push({
      item: {
        title: input.title,
        description: input.description,
        prediction: predicted ?? '',
        probabilities: predicted !== undefined && confidence !== undefined ? { [predicted]: confidence } : {},
        source: 'model',
      },
      label,
    });
    if (this.recent.length > this.s.window) this.recent.shift();
  }

  get learnedModel(): OnlineTextClassifier {
    return this.model;
  }

  /** One fetch handled (learned, maybe checkpointed); returns the deliveries it got. */
  async step(): Promise<number> {
    const consumer = this.consumer;
    if (consumer === undefined) throw new FerryError(ErrorCode.INTERNAL, 'OnlineLearner.init() first');
    const deliveries = await consumer.fetch(this.s.fetchMax, this.s.fetchWaitMs);
    const mine: Array<{ d: Delivery; event: LabeledEvent }> = [];
    // Nothing to learn in these (other models' labels, labels already committed): acked at once.
    const ackNow: Delivery[] = [];
    for (const d of deliveries) {
      let event: LabeledEvent;
      try {
        event = parseLabeledEvent(d.data);
      } catch (e) {
        this.meta.invalid++;
        await this.deps.stream.deadLetter(this.s.stream, d, (e as Error).message);
        continue;
      }
      if (event.model !== this.s.model) {
        this.meta.otherModels++;
        ackNow.push(d);
        continue;
      }
      mine.push({ d, event });
    }
    const committed = await this.store.learned(
      this.s.model,
      mine.map((m) => m.d.id),
    );
    for (const { d, event } of mine) {
      if (committed.has(d.id)) {
        this.meta.duplicates++;
        ackNow.push(d);
        continue;
      }
      if (this.pendingIds.has(d.id)) {
        this.meta.duplicates++;
        this.toAck.push(d);
        continue;
      }
      try {
        this.learn(d, event);
      } catch (e) {
        // A label the model cannot take (a class beyond its bound): to the dead letters, not a crash loop.
        if (!(e instanceof FerryError && e.code === ErrorCode.LEARNER_INVALID)) throw e;
        this.meta.invalid++;
        await this.deps.stream.deadLetter(this.s.stream, d, e.message);
      }
    }
    await Promise.all(ackNow.map((d) => d.ack()));
    if (
      this.pending.length >= this.s.checkpointEvery ||
      this.now() - this.lastCheckpointMs >= this.s.checkpointEveryMs
    )
      await this.checkpoint();
    return deliveries.length;
  }

  private learn(d: Delivery, event: LabeledEvent): void {
    const input = { title: event.title, description: event.description };
    const versions: Array<readonly [number, string]> = [];
    for (const [version, model] of this.compared) {
      const [p] = model.predictBatch([input]);
      if (p !== undefined) versions.push([version, p.prediction]);
    }
    const outcome = this.model.learnOne(input, event.label);
    this.window.push({ label: event.label, learner: outcome.predicted ?? null, versions });
    this.rememberAnswer(input, event.label, outcome);
    this.meta.learned++;
    this.pending.push({ id: d.id, sequence: d.sequence });
    this.pendingIds.add(d.id);
    this.toAck.push(d);
  }

  /** Commits the learning since the last checkpoint, acks it, then snapshots and guards when due. */
  async checkpoint(): Promise<void> {
    const events = this.pending;
    const acks = this.toAck;
    this.meta.window = this.window.toJSON();
    await this.store.commit(
      this.s.model,
      {
        stream: this.s.stream,
        state: new TextDecoder().decode(this.model.toCheckpoint()),
        meta: JSON.stringify(this.meta),
        labels: this.meta.learned,
      },
      events,
    );
    this.pending = [];
    this.pendingIds.clear();
    this.toAck = [];
    this.lastCheckpointMs = this.now();
    // In one turn: the embedded log writes them in one transaction, JetStream pipelines them.
    await Promise.all(acks.map((d) => d.ack()));
    this.deps.onCheckpoint?.(events.map((e) => e.id));
    // Production may have been moved by someone else (a rollback, a retrain): compare with what serves.
    await this.refreshCompared();
    if (this.snapshotDue()) await this.snapshot();
    await this.guardFallback();
  }

  private snapshotDue(): boolean {
    const since = this.meta.learned - this.meta.lastSnapshotLabels;
    if (since <= 0 || this.model.classes.length < 2) return false;
    if (since >= this.s.snapshotEvery) return true;
    return this.s.snapshotEveryMs > 0 && this.now() - this.meta.lastSnapshotAtMs >= this.s.snapshotEveryMs;
  }

  /** Registers the learner's weights as a version, then decides its alias. */
  async snapshot(): Promise<number> {
    const progressive = this.window.learnerFigures();
    await this.refreshCompared();
    const registered = await registerArtifact(
      this.deps.registry,
      this.s.model,
      this.model.toArtifact(),
      {
        kind: ONLINE_TEXT_KIND,
        metrics: { progressive: { ...progressive, window: this.s.window } },
        dataset: { source: 'online-learner', stream: this.s.stream, labelsLearned: this.meta.learned },
        tags: { source: 'online-learner' },
      },
      this.deps.kindContext,
    );
    const version = registered.version;
    if (this.deps.onSnapshot && this.recent.length > 0) {
      const recent = {
        items: this.recent.map((r) => r.item),
        labels: this.recent.map((r) => r.label),
      };
      await this.deps.onSnapshot(version, recent).catch((e: unknown) =>
        this.log('no reference profile for the snapshot', {
          version,
          error: e instanceof Error ? e.message : String(e),
        }),
      );
    }
    this.meta.lastSnapshotLabels = this.meta.learned;
    this.meta.lastSnapshotAtMs = this.now();
    this.meta.lastSnapshotVersion = version;
    // A production that cannot answer text (another kind) is not in `compared`: no comparison possible.
    const comparable =
      this.production !== undefined && this.compared.has(this.production) ? this.production : undefined;
    const decision = decidePromotion(this.window, comparable, {
      margin: this.s.margin,
      minLabels: this.s.minLabels,
    });
    const figures = {
      learner: decision.learner,
      production: decision.production ?? null,
      productionVersion: this.production ?? null,
    };
    if (decision.promote) {
      const previous = this.production ?? null;
      await this.deps.registry.setAlias(
        this.s.model,
        'production',
        version,
        `online learner: ${decision.reason}`,
      );
      this.meta.promoted = { version, previous };
      await this.decide('promote', version, { reason: decision.reason, ...figures });
    } else {
      await this.deps.registry.setAlias(
        this.s.model,
        'candidate',
        version,
        `online learner: ${decision.reason}`,
      );
      await this.decide('candidate', version, { reason: decision.reason, ...figures });
    }
    await this.store.saveMeta(this.s.model, JSON.stringify({ ...this.meta, window: this.window.toJSON() }));
    await this.refreshCompared();
    return version;
  }

  /** While a snapshot the learner promoted serves: back to the replaced version when it does worse. */
  private async guardFallback(): Promise<void> {
    const promoted = this.meta.promoted;
    if (promoted === null || promoted.previous === null) return;
    if (this.production !== promoted.version) {
      // Someone else moved production: the learner's promotion no longer serves.
      this.meta.promoted = null;
      return;
    }
    if (!this.compared.has(promoted.previous)) return;
    const d = decideFallback(this.window, promoted.version, promoted.previous, {
      margin: this.s.margin,
      minLabels: this.s.minLabels,
    });
    if (!d.fallBack) return;
    await this.deps.registry.setAlias(
      this.s.model,
      'production',
      promoted.previous,
      `online learner fallback: ${d.reason}`,
    );
    this.meta.promoted = null;
    await this.decide('fallback', promoted.previous, {
      reason: d.reason,
      serving: d.serving,
      previous: d.previous,
      from: promoted.version,
    });
    await this.store.saveMeta(this.s.model, JSON.stringify({ ...this.meta, window: this.window.toJSON() }));
    await this.refreshCompared();
  }

  private async decide(action: string, version: number, detail: Record<string, unknown>): Promise<void> {
    this.log(`online learner ${action}`, { model: this.s.model, version, ...detail });
    await this.store.addDecision(this.s.model, {
      at: new Date(this.now()).toISOString(),
      action,
      version,
      detail,
    });
  }

  /** Loads the versions to compare with: production, and the version a promotion replaced. */
  private async refreshCompared(): Promise<void> {
    let aliases: Record<string, number> = {};
    try {
      aliases = await this.deps.registry.aliases(this.s.model);
    } catch (e) {
      if (!(e instanceof FerryError && e.code === ErrorCode.REGISTRY_NOT_FOUND)) throw e;
    }
    this.production = aliases.production;
    const wanted = new Set<number>();
    if (this.production !== undefined) wanted.add(this.production);
    const previous = this.meta.promoted?.previous;
    if (previous !== null && previous !== undefined) wanted.add(previous);
    for (const v of [...this.compared.keys()]) if (!wanted.has(v)) this.compared.delete(v);
    for (const v of wanted) {
      if (this.compared.has(v)) continue;
      const { model } = await loadModel(this.deps.registry, `${this.s.model}/${v}`, this.deps.kindContext);
      if (isTextModel(model)) this.compared.set(v, model);
      else await model.close?.();
    }
  }

  status(): LearnerStatus {
    return statusOf(this.s.model, this.s.stream, this.meta, this.model.classes, this.window);
  }

  /**
   * Runs until `signal` aborts, then checkpoints (graceful stop). A transport that is down
   * (FERRY_STREAM_UNAVAILABLE) is retried with a doubling delay up to 5 s; other errors end the run
   * (what was learned since the last checkpoint is redelivered to the next run).
   */
  async run(signal: AbortSignal, onRetry?: (error: unknown, delayMs: number) => void): Promise<void> {
    let delayMs = 0;
    while (!signal.aborted) {
      try {
        await this.step();
        delayMs = 0;
      } catch (e) {
        if (!(e instanceof FerryError && e.code === ErrorCode.STREAM_UNAVAILABLE)) throw e;
        delayMs = Math.min(5000, Math.max(100, delayMs * 2));
        onRetry?.(e, delayMs);
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
    await this.close();
  }

  /** Graceful: commits what was learned, acks it, closes the consumer. */
  async close(): Promise<void> {
    if (this.pending.length > 0 || this.toAck.length > 0) await this.checkpoint();
    await this.consumer?.close();
    this.consumer = undefined;
  }

  /** As a crash would: closes the consumer without committing or acking (tests). */
  async abandon(): Promise<void> {
    await this.consumer?.close();
    this.consumer = undefined;
  }
}

function freshMeta(): LearnerMeta {
  return {
    learned: 0,
    duplicates: 0,
    invalid: 0,
    otherModels: 0,
    window: [],
    lastSnapshotLabels: 0,
    lastSnapshotAtMs: 0,
    lastSnapshotVersion: null,
    promoted: null,
  };
}

/** One durable consumer per model on the stream: `online-<model>`, cut to the name rule. */
function consumerName(model: string): string {
  return `online-${model.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`.slice(0, 64);
}

function statusOf(
  model: string,
  stream: string,
  meta: LearnerMeta,
  classes: readonly string[],
  window: ProgressiveWindow,
): LearnerStatus {
  return {
    model,
    stream,
    learned: meta.learned,
    duplicates: meta.duplicates,
    invalid: meta.invalid,
    otherModels: meta.otherModels,
    classes: [...classes],
    progressive: window.learnerFigures(),
    lastSnapshotVersion: meta.lastSnapshotVersion,
    promoted: meta.promoted,
  };
}

/** The stored learner's status and newest decisions, without running it (`ferry learn status`). */
export async function readLearnerStatus(
  sql: SqlClient,
  model: string,
  decisions = 10,
): Promise<
  | { status: LearnerStatus; updatedAt: string; decisions: Awaited<ReturnType<CheckpointStore['decisions']>> }
  | undefined
> {
  const store = new CheckpointStore(sql);
  await store.init();
  const stored = await store.load(model);
  if (stored === undefined) return undefined;
  const meta = { ...freshMeta(), ...(JSON.parse(stored.meta) as Partial<LearnerMeta>) };
  const doc = JSON.parse(stored.state) as { classes?: unknown };
  const classes = Array.isArray(doc.classes)
    ? doc.classes.filter((c): c is string => typeof c === 'string')
    : [];
  const window = ProgressiveWindow.fromJSON(meta.window.length || 1, meta.window);
  return {
    status: statusOf(model, stored.stream, meta, classes, window),
    updatedAt: stored.updatedAt,
    decisions: await store.decisions(model, decisions),
  };
}

/**
 * /metrics over `ferry serve --workers N`. The port is shared, so a scrape reaches one worker; that
 * worker asks the primary, which gathers every worker's registry with prom-client's
 * AggregatorRegistry (counters and histograms summed, gauges by each metric's `aggregator`) and
 * sends the text back. Every scrape therefore sees all workers, whichever one answered it.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { ErrorCode, FerryError } from '../core/errors.js';

const REQUEST = 'ferry:metrics-request';
const RESPONSE = 'ferry:metrics-response';
/** Longer than prom-client's own 5 s wait for the workers, so that its error is the one seen. */
const WORKER_WAIT_MS = 6000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}
interface MetricsResponse {
  type: typeof RESPONSE;
  id: number;
  text?: string;
  error?: string;
}

function isMessage<T extends { type: string }>(m: unknown, type: T['type']): m is T {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}

/** In the primary: answers the workers' requests for the aggregated metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<MetricsRequest>(message, REQUEST)) return;
    const reply = (r: Omit<MetricsResponse, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: RESPONSE, id: message.id, ...r });
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (e: unknown) => reply({ error: e instanceof Error ? e.message : String(e) }),
    );
  });
}

/**
 * In a worker, before anything else: answer the primary's requests for this worker's metrics from
 * now on, with nothing until `registry` is set (a worker still starting must not stall a scrape).
 */
export function joinClusterMetrics(): { setRegistry(registry: Registry): void } {
  AggregatorRegistry.setRegistries([]);
  new AggregatorRegistry(); // installs prom-client's listener for the primary's requests
  return { setRegistry: (registry) => AggregatorRegistry.setRegistries([registry]) };
}

let nextId = 0;
const pending = new Map<number, { resolve(text: string): void; reject(e: Error): void }>();
let listening = false;

/** In a worker: every worker's metrics, aggregated by the primary, as Prometheus text. */
export function clusterMetricsFromPrimary(): Promise<string> {
  if (!listening) {
    listening = true;
    process.on('message', (message: unknown) => {
      if (!isMessage<MetricsResponse>(message, RESPONSE)) return;
      const waiter = pending.get(message.id);
      if (waiter === undefined) return;
      pending.delete(message.id);
      if (message.text !== undefined) waiter.resolve(message.text);
      else waiter.reject(unavailable(message.error ?? 'no answer'));
    });
  }
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(unavailable('the primary did not answer in time'));
    }, WORKER_WAIT_MS);
    pending.set(id, {
      resolve: (text) => {
        clearTimeout(timer);
        resolve(text);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    if (process.send === undefined) {
      pending.get(id)?.reject(unavailable('not a cluster worker'));
      return;
    }
    process.send({ type: REQUEST, id } satisfies MetricsRequest);
  });
}

/**
 * A scrape that could not gather every worker fails rather than show one worker's numbers as the
 * whole server's (503: the next scrape may succeed).
 */
function unavailable(reason: string): FerryError {
  return new FerryError(
    ErrorCode.SERVING_NOT_READY,
    `the metrics of every worker could not be gathered: ${reason}`,
  );
}

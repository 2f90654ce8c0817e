import { ApiError, api } from '../../api.js';
import { ErrorNotice, UpdatedAt } from '../../components/notices.js';
import { fmtBytes, fmtNum, fmtTime } from '../../format.js';
import { usePoll } from '../../poll.js';
import { fmtAge } from './age.js';
import type { DeadLetter, StreamReader, StreamStatus, StreamsStatus } from './types.js';

const POLL_MS = 5000;
/** Dead letters shown per stream, and how much of each payload. */
const DEAD_LETTERS = 5;
const PAYLOAD_CHARS = 300;

type Loaded<T> = { data: T } | { none: string };

async function loadStreams(signal: AbortSignal): Promise<Loaded<StreamsStatus>> {
  try {
    return {
      data: await api<StreamsStatus>(
        `/v1/streams/status?dead_letters=${DEAD_LETTERS}&payload_chars=${PAYLOAD_CHARS}`,
        { signal },
      ),
    };
  } catch (e) {
    if (e instanceof ApiError && e.code === 'FERRY_STREAM_NONE') {
      return {
        none: 'No streams on this server: no stream source is applied and the stream transport holds no stream.',
      };
    }
    if (e instanceof ApiError && e.code === 'FERRY_HTTP_NOT_FOUND') {
      return { none: 'This server has no stream transport configured: it does not serve stream status.' };
    }
    throw e;
  }
}

function Instances({ reader }: { reader: StreamReader }) {
  const instances = reader.pipeline?.instances ?? [];
  if (instances.length === 0) return <span class="muted">none seen</span>;
  const running = instances.filter((i) => !i.stopped);
  const newest = Math.min(...instances.map((i) => i.heartbeat_age_seconds));
  const rate = running.reduce((a, i) => a + (i.events_per_second ?? 0), 0);
  return (
    <>
      {running.length} running
      {instances.length > running.length ? `, ${instances.length - running.length} stopped` : ''}
      <div class="muted">
        {fmtNum(rate, 3)} events/s, heartbeat {fmtAge(newest)} ago
      </div>
    </>
  );
}

function Readers({ stream }: { stream: StreamStatus }) {
  if (stream.readers.length === 0) return <p class="muted">No consumer or pipeline reads this stream.</p>;
  return (
    <div class="table-wrap">
      <table class="wide" data-testid={`readers-${stream.name}`}>
        <thead>
          <tr>
            <th scope="col">Reader</th>
            <th scope="col" class="num">
              Lag (events)
            </th>
            <th scope="col" class="num">
              Lag (time)
            </th>
            <th scope="col" class="num">
              In flight
            </th>
            <th scope="col">Newest event processed</th>
            <th scope="col" class="num">
              Processed
            </th>
            <th scope="col" class="num">
              Late
            </th>
            <th scope="col" class="num">
              Dead-lettered
            </th>
            <th scope="col">Instances</th>
          </tr>
        </thead>
        <tbody>
          {stream.readers.map((r) => (
            <tr key={r.name} data-testid={`reader-${r.name}`}>
              <th scope="row">
                {r.name}
                {!r.consumer && <div class="muted">not started</div>}
              </th>
              <td class="num" data-testid="lag-events">
                {fmtNum(r.lag_events)}
              </td>
              <td class="num nowrap" data-testid="lag-time">
                {r.pipeline?.lag_seconds === 0 ? 'caught up' : fmtAge(r.pipeline?.lag_seconds)}
              </td>
              <td class="num">{fmtNum(r.in_flight)}</td>
              <td>{fmtTime(r.pipeline?.last_event_time)}</td>
              <td class="num">{fmtNum(r.pipeline?.processed)}</td>
              <td class="num">{fmtNum(r.pipeline?.late)}</td>
              <td class="num">{fmtNum(r.pipeline?.dead_lettered)}</td>
              <td>
                <Instances reader={r} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeadLetters({ stream }: { stream: StreamStatus }) {
  if (stream.dead_letters === 0) return <p class="muted">No dead letters.</p>;
  const shown = stream.recent_dead_letters;
  return (
    <>
      <p>
        {fmtNum(stream.dead_letters)} dead letter{stream.dead_letters === 1 ? '' : 's'}
        {stream.dead_letters > shown.length ? `; the newest ${shown.length}:` : ':'}
      </p>
      <div class="table-wrap">
        <table class="wide" data-testid={`dead-letters-${stream.name}`}>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Reason</th>
              <th scope="col">Payload</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((d: DeadLetter) => (
              <tr key={`${d.sequence ?? ''}:${d.id}:${d.at}`} data-testid="dead-letter">
                <td>{fmtTime(d.at)}</td>
                <td>
                  <div>id {d.id}</div>
                  <div class="muted">
                    key {d.key}
                    {d.sequence !== null ? ` · #${d.sequence}` : ''}
                    {d.consumer !== null ? ` · by ${d.consumer}` : ''}
                  </div>
                </td>
                <td data-testid="dead-letter-reason">{d.reason}</td>
                <td>
                  <code class="payload" data-testid="dead-letter-payload">
                    {d.payload}
                  </code>
                  {d.payload_truncated && (
                    <div class="muted">
                      … cut; {fmtBytes(d.payload_bytes)} in all (`ferry stream dead-letters {stream.name}`)
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Streams: each reader's lag, in events and in time, and the newest dead letters with their reasons. */
export function Streams() {
  const polled = usePoll(loadStreams, POLL_MS, []);
  const loaded = polled.data;
  return (
    <section aria-labelledby="streams-heading">
      <h2 id="streams-heading">Streams</h2>
      <ErrorNotice error={polled.error} what="the streams" />
      {loaded === undefined && polled.error === undefined && <p class="muted">Loading…</p>}
      {loaded !== undefined && 'none' in loaded && (
        <p class="notice notice-warn" data-testid="streams-none">
          {loaded.none}
        </p>
      )}
      {loaded !== undefined &&
        'data' in loaded &&
        loaded.data.streams.map((s) => (
          <section key={s.name} data-testid={`stream-${s.name}`} aria-labelledby={`stream-h-${s.name}`}>
            <h3 id={`stream-h-${s.name}`}>
              {s.name}
              {!s.exists && <span class="muted"> (not created yet: nothing published)</span>}
            </h3>
            <p class="muted">
              {fmtNum(s.events)} events in {fmtNum(s.partitions)} partitions
              {s.sources.length > 0 ? ` · read by the source ${s.sources.join(', ')}` : ''}
            </p>
            <Readers stream={s} />
            <DeadLetters stream={s} />
          </section>
        ))}
      <UpdatedAt at={polled.updatedAt} />
    </section>
  );
}

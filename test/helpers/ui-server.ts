/**
 * A real `ferry serve` for the dashboard's browser tests: a registry with two trained versions of
 * tagifai (production → 1), the admin token set, the SQLite prediction log on, the dashboard built.
 */
import { ensureUiBuilt } from './browser.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  type ServeProcess,
  spawnServe,
  type TestRegistry,
} from './serving.js';

export { ADMIN_TOKEN };

export interface UiServer {
  url: string;
  reg: TestRegistry;
  proc: ServeProcess;
  /** An admin API call: JSON in, JSON out; throws on a non-2xx answer. */
  admin<T>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export async function startUiServer(
  opts: { args?: string[]; env?: Record<string, string | undefined>; reg?: TestRegistry } = {},
): Promise<UiServer> {
  ensureUiBuilt();
  const reg = opts.reg ?? (await createTestRegistry());
  const proc = spawnServe(reg.home, ['--port', '0', '--prediction-log', 'sql', ...(opts.args ?? [])], {
    FERRY_ADMIN_TOKEN: ADMIN_TOKEN,
    ...opts.env,
  });
  let url: string;
  try {
    url = await proc.address;
  } catch (e) {
    proc.kill();
    if (opts.reg === undefined) await reg.close();
    throw e;
  }
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
  return {
    url,
    reg,
    proc,
    admin,
    close: async () => {
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill(), 10_000);
      await proc.exited;
      clearTimeout(timer);
      if (opts.reg === undefined) await reg.close();
    },
  };
}

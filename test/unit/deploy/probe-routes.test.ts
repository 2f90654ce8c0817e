import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployTargetSpecs } from '../../../src/deploy/targets.js';
import { startTestServer, type TestServer, V1_SPEC } from '../../helpers/serving.js';
import { DEFAULTS } from './k8s-checks.js';
import { parseYamlDocuments } from './manifest-validation.js';

/** Every httpGet path of every probe in a rendered object, wherever it is nested. */
function probePaths(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) probePaths(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (/Probe$/.test(k)) {
        const path = (v as { httpGet?: { path?: string } }).httpGet?.path;
        if (path !== undefined) out.add(path);
      }
      probePaths(v, out);
    }
  }
  return out;
}

describe("the probes' paths are routes of a real Ferry server", () => {
  let server: TestServer;
  beforeAll(async () => {
    // One small model, production pointed: the server is ready once it is loaded.
    server = await startTestServer({ listen: false, registryOptions: { versions: [V1_SPEC] } });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const paths = new Set<string>();
  for (const spec of deployTargetSpecs().filter((s) => ['kubernetes', 'kserve', 'seldon'].includes(s.target)))
    for (const f of spec.render(DEFAULTS))
      if (f.path.endsWith('.yaml')) for (const d of parseYamlDocuments(f.content)) probePaths(d, paths);

  it('the manifests probe the v2 health routes', () => {
    expect([...paths].sort()).toEqual(['/v2/health/live', '/v2/health/ready']);
  });

  it.each([...paths])('GET %s answers 200 on a server with its model loaded', async (path) => {
    const res = await server.app.inject({ method: 'GET', url: path });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('a path Ferry does not serve answers 404 (the check above can fail)', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/v2/health/readyz' });
    expect(res.statusCode).toBe(404);
  });
});

import { describe, expect, it } from 'vitest';
import { loadServingConfig } from '../../../src/serving/serving-config.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

/** The settings added for issue 8 (items 4, 7, 27): defaults, overrides, refused values. */
describe('edge settings', () => {
  it('defaults', () => {
    const sc = loadServingConfig({});
    expect(sc.predictionLogMaxBytesPerRequest).toBe(65_536);
    expect(sc.limits.maxConnections).toBe(10_000);
    expect(sc.limits.keepAliveTimeoutMs).toBe(5000);
    expect(sc.limits.maxRequestsPerSocket).toBe(0);
    expect(sc.corsOrigins).toEqual([]);
  });

  it('reads the environment', () => {
    const sc = loadServingConfig({
      FERRY_PREDICTION_LOG_MAX_BYTES_PER_REQUEST: '8192',
      FERRY_MAX_CONNECTIONS: '0',
      FERRY_KEEP_ALIVE_TIMEOUT_MS: '2000',
      FERRY_MAX_REQUESTS_PER_SOCKET: '100',
      FERRY_CORS_ORIGINS: 'https://a.example',
    });
    expect(sc.predictionLogMaxBytesPerRequest).toBe(8192);
    expect(sc.limits).toMatchObject({
      maxConnections: 0,
      keepAliveTimeoutMs: 2000,
      maxRequestsPerSocket: 100,
    });
    expect(sc.corsOrigins).toEqual(['https://a.example']);
  });

  it('refuses values out of range', () => {
    for (const env of [
      { FERRY_PREDICTION_LOG_MAX_BYTES_PER_REQUEST: '100' },
      { FERRY_MAX_CONNECTIONS: '-1' },
      { FERRY_KEEP_ALIVE_TIMEOUT_MS: '0' },
      { FERRY_MAX_REQUESTS_PER_SOCKET: '1.5' },
      { FERRY_CORS_ORIGINS: 'not an origin' },
    ]) {
      expectFerryErrorSync(() => loadServingConfig(env), 'FERRY_CONFIG_INVALID');
    }
  });
});

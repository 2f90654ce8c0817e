import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/hash.js';

// sha256Hex takes crypto.hash's one-call path where Node has it: the digests every key, fingerprint
// and artifact id depend on must stay the standard ones.
describe('sha256Hex', () => {
  it('gives the standard digests (FIPS 180-2 test vectors)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('hashes text as UTF-8 and bytes as they are, as createHash does', () => {
    for (const data of ['é中😀', 'x'.repeat(100_000), new Uint8Array([0, 1, 2, 255]), Buffer.from('abc')]) {
      expect(sha256Hex(data)).toBe(createHash('sha256').update(data).digest('hex'));
    }
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(sha256Hex('abc'));
  });
});

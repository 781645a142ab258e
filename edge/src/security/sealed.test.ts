import { randomBytes } from 'node:crypto';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { CODE, SERIAL, tempDir } from '../test/util.js';
import { isSealed, Sealer, SECRET_KEY_FILE, SecretKeyError } from './sealed.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function dir(): Promise<string> {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  return tmp.dir;
}

const KEY = 'F0E1D2C3B4A5968778695A4B3C2D1E0FF0E1D2C3B4A5968778695A4B3C2D1E0F';

/** The value with one character of its part `part` (0 version, 1 nonce, 2 ciphertext and tag) changed. */
function tamper(sealed: string, part: 1 | 2, at = 0): string {
  const parts = sealed.split('.');
  const s = parts[part] ?? '';
  parts[part] = `${s.slice(0, at)}${s[at] === 'A' ? 'B' : 'A'}${s.slice(at + 1)}`;
  return parts.join('.');
}

describe('sealed values', () => {
  it('round-trips, with a fresh nonce per value and nothing of the plain text in the sealed one', () => {
    const sealer = Sealer.fromKey(randomBytes(32));
    const a = sealer.seal(KEY);
    const b = sealer.seal(KEY);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(isSealed(a)).toBe(true);
    expect(isSealed(KEY)).toBe(false);
    expect(a).not.toBe(b);
    expect(a.toUpperCase()).not.toContain(KEY);
    expect(sealer.open(a)).toEqual({ ok: true, value: KEY });
    expect(sealer.open(b)).toEqual({ ok: true, value: KEY });
    expect(sealer.open(sealer.seal(''))).toEqual({ ok: true, value: '' });
    expect(sealer.open(sealer.seal('pässwörd ✓'))).toEqual({ ok: true, value: 'pässwörd ✓' });
  });

  it('refuses a changed value or one sealed under another key, with an error result', () => {
    const sealer = Sealer.fromKey(randomBytes(32));
    const sealed = sealer.seal(KEY);
    const body = sealed.split('.')[2] ?? '';
    for (const changed of [tamper(sealed, 1), tamper(sealed, 2), tamper(sealed, 2, body.length - 2), `${sealed.slice(0, -4)}`]) {
      expect(sealer.open(changed)).toMatchObject({ ok: false, error: expect.stringMatching(/cannot be opened|bad length/) as string });
    }
    expect(Sealer.fromKey(randomBytes(32)).open(sealed)).toEqual({ ok: false, error: 'cannot be opened: sealed under another key, or changed' });
    for (const other of ['', KEY, 'v2.AAAA.BBBB', 'v1.only-two', 'v1.a.b.c', 'v1.AAAAAAAAAAAAAAAA.']) {
      expect(sealer.open(other).ok).toBe(false);
    }
  });

  it('creates the key file at first use, 0600, and finds the same key there next time', async () => {
    const d = await dir();
    const first = await Sealer.load({ dataDir: path.join(d, 'nested') });
    const file = path.join(d, 'nested', SECRET_KEY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    // No temporary file is left beside it.
    expect(await readdir(path.join(d, 'nested'))).toEqual([SECRET_KEY_FILE]);
    const again = await Sealer.load({ dataDir: path.join(d, 'nested') });
    expect(again.open(first.seal('secret'))).toEqual({ ok: true, value: 'secret' });
  });

  it('gives processes that start together one key', async () => {
    const d = await dir();
    const sealers = await Promise.all(Array.from({ length: 8 }, () => Sealer.load({ dataDir: d })));
    const sealed = sealers[0]?.seal('secret') ?? '';
    for (const s of sealers) expect(s.open(sealed)).toEqual({ ok: true, value: 'secret' });
    expect(await readdir(d)).toEqual([SECRET_KEY_FILE]);
  });

  it('refuses a malformed key file and leaves it as it is', async () => {
    const d = await dir();
    const file = path.join(d, SECRET_KEY_FILE);
    for (const bad of ['', 'not a key\n', `${KEY.slice(2)}\n`, `${KEY}00\n`]) {
      await writeFile(file, bad, { mode: 0o600 });
      const err: unknown = await Sealer.load({ dataDir: d }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SecretKeyError);
      expect((err as Error).message).toMatch(/malformed .*not replaced/);
      expect(await readFile(file, 'utf8')).toBe(bad);
    }
  });

  it('restricts a key file that others can read to 0600, and says so', async () => {
    const d = await dir();
    const file = path.join(d, SECRET_KEY_FILE);
    await writeFile(file, `${KEY}\n`);
    await chmod(file, 0o644);
    const warnings: string[] = [];
    const log = { warn: (msg: string) => warnings.push(msg), debug: () => {}, info: () => {}, error: () => {}, child: () => log };
    const sealer = await Sealer.load({ dataDir: d, log });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(warnings).toEqual(['secret key file was readable by other users: restricted to 0600']);
    expect(Sealer.fromKey(Buffer.from(KEY, 'hex')).open(sealer.seal('x'))).toEqual({ ok: true, value: 'x' });
  });

  it('takes the key from the environment instead, and then writes no file', async () => {
    const d = await dir();
    const sealer = await Sealer.load({ dataDir: d, keyHex: KEY.toLowerCase() });
    expect(Sealer.fromKey(Buffer.from(KEY, 'hex')).open(sealer.seal('x'))).toEqual({ ok: true, value: 'x' });
    expect(await readdir(d)).toEqual([]);
    await expect(Sealer.load({ dataDir: d, keyHex: 'abc' })).rejects.toThrow(SecretKeyError);
  });

  it('reads VIGIL_EDGE_SECRET_KEY with the configuration, and reports a bad one without repeating it', () => {
    const env = { VIGIL_EDGE_SERIAL: SERIAL, VIGIL_EDGE_VERIFICATION_CODE: CODE, VIGIL_CLOUD_URL: 'http://127.0.0.1:8080' };
    expect(loadConfig(env).secretKey).toBeNull();
    expect(loadConfig({ ...env, VIGIL_EDGE_SECRET_KEY: ` ${KEY} ` }).secretKey).toBe(KEY);
    const bad = `${KEY.slice(1)}Z`;
    const err: unknown = (() => {
      try {
        return loadConfig({ ...env, VIGIL_EDGE_SECRET_KEY: bad });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual(['VIGIL_EDGE_SECRET_KEY: empty or 64 hex digits (32 bytes)']);
  });
});

import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';

/** The box's master key for secrets at rest, beside the stores in the data dir. */
export const SECRET_KEY_FILE = 'secret.key';
/** What a sealed value starts with; anything else read back is a value stored in plain text by an older version. */
export const SEALED_PREFIX = 'v1.';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const keyHexRe = /^[0-9a-fA-F]{64}$/;

export type Opened = { ok: true; value: string } | { ok: false; error: string };

/** A value as stored: sealed by this module, or left by an older version in plain text. */
export const isSealed = (stored: string): boolean => stored.startsWith(SEALED_PREFIX);

/** The key file is unusable: the stores' secrets cannot be opened until it is restored. */
export class SecretKeyError extends ConfigError {
  constructor(problem: string) {
    super([problem]);
    this.name = 'SecretKeyError';
  }
}

export interface SealerLoadOptions {
  dataDir: string;
  /** VIGIL_EDGE_SECRET_KEY (64 hex digits): when given, the key file is neither read nor created. */
  keyHex?: string | null;
  log?: Logger;
}

/**
 * Seals the box's secrets at rest (DC-09 keys, its MQTT secret) with AES-256-GCM under one per-box key, so that a
 * copied database alone does not give them away. Each value gets a fresh random 96-bit nonce; the stored text is
 * `v1.<nonce>.<ciphertext and tag>`, both base64url. Opening never throws: a wrong key or a changed value is a
 * `{ok:false}` result.
 */
export class Sealer {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Buffer): Sealer {
    if (key.length !== KEY_BYTES) throw new RangeError(`a sealing key is ${KEY_BYTES} bytes, got ${key.length}`);
    return new Sealer(Buffer.from(key));
  }

  /** The key from the environment when given, otherwise from the data dir's key file, created at first use. */
  static async load(opts: SealerLoadOptions): Promise<Sealer> {
    if (opts.keyHex) {
      if (!keyHexRe.test(opts.keyHex)) throw new SecretKeyError('VIGIL_EDGE_SECRET_KEY: expected 64 hex digits');
      return new Sealer(Buffer.from(opts.keyHex, 'hex'));
    }
    return new Sealer(await keyFromFile(path.join(opts.dataDir, SECRET_KEY_FILE), opts.log));
  }

  seal(plain: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${SEALED_PREFIX}${nonce.toString('base64url')}.${body.toString('base64url')}`;
  }

  open(sealed: string): Opened {
    const parts = sealed.split('.');
    if (parts.length !== 3 || `${parts[0]}.` !== SEALED_PREFIX) return { ok: false, error: 'not a sealed value (unknown format)' };
    const nonce = Buffer.from(parts[1] ?? '', 'base64url');
    const body = Buffer.from(parts[2] ?? '', 'base64url');
    if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) return { ok: false, error: 'not a sealed value (bad length)' };
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, nonce);
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
      return { ok: true, value: plain.toString('utf8') };
    } catch {
      // GCM cannot tell a wrong key from a changed value: both fail authentication.
      return { ok: false, error: 'cannot be opened: sealed under another key, or changed' };
    }
  }
}

const errCode = (err: unknown): unknown => (err as { code?: unknown }).code;

async function keyFromFile(file: string, log: Logger | undefined): Promise<Buffer> {
  await mkdir(path.dirname(file), { recursive: true });
  const existing = await readKeyFile(file, log);
  if (existing) return existing;
  await createKeyFile(file);
  const created = await readKeyFile(file, log);
  if (!created) throw new SecretKeyError(`${file}: could not be created`);
  return created;
}

/** The key in the file, or null when there is no file. A malformed file is an error, never replaced: that would lose every sealed secret. */
async function readKeyFile(file: string, log: Logger | undefined): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw new SecretKeyError(`${file}: cannot be read (${String(err)})`);
  }
  const hex = text.trim();
  if (!keyHexRe.test(hex)) {
    throw new SecretKeyError(
      `${file}: malformed (expected 64 hex digits); it is not replaced, since the secrets sealed with it would be lost: restore the box's key file`,
    );
  }
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) {
    // Tightened rather than refused: refusing would stop the alarm relay over a file mode, and would not make a key
    // that others could read secret again.
    try {
      await chmod(file, 0o600);
    } catch (err) {
      throw new SecretKeyError(`${file}: readable by others (mode ${(mode & 0o777).toString(8)}) and cannot be restricted to 0600 (${String(err)})`);
    }
    log?.warn('secret key file was readable by other users: restricted to 0600', { file, mode: (mode & 0o777).toString(8) });
  }
  return Buffer.from(hex, 'hex');
}

/**
 * Writes a new random key to a temporary file, then links it into place: unlike a rename, the link fails when the
 * file already exists, so the agent and the alarm relay starting together agree on one key. A reader never sees a
 * partly written file.
 */
async function createKeyFile(file: string): Promise<void> {
  const tmp = `${file}.${randomUUID()}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${randomBytes(KEY_BYTES).toString('hex')}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, file);
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw new SecretKeyError(`${file}: cannot be created (${String(err)})`);
  } finally {
    await unlink(tmp);
  }
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';
export const SECRET_KEY_FILE = 'secret.key';

/**
 * Secrets the cloud must give back later (device passwords, verification codes), sealed with AES-256-GCM.
 * A sealed value is `v1.<iv>.<tag>.<ciphertext>` (base64url). The optional context (e.g. the owning row)
 * is authenticated with it, so a value copied onto another row does not open there.
 */
export class Vault {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`the secret key must have ${KEY_BYTES} bytes, not ${key.length}`);
    this.key = Buffer.from(key);
  }

  seal(plain: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
  }

  /** Opens a sealed value; throws when it was altered, sealed with another key or for another context. */
  open(sealed: string, context = ''): string {
    const [version, iv, tag, data, ...rest] = sealed.split('.');
    if (version !== VERSION || iv === undefined || tag === undefined || data === undefined || rest.length > 0) {
      throw new Error('not a sealed value');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('the sealed value does not open with this key');
    }
  }
}

/**
 * The vault for this cloud: the configured key, else the key in `{dataDir}/secret.key`, written on first
 * start (owner-only) and reused afterwards. Every node of a cluster must share it: configure it then.
 */
export function openVault(configuredKey: Buffer | null, dataDir: string): Vault {
  if (configuredKey) return new Vault(configuredKey);
  const path = join(dataDir, SECRET_KEY_FILE);
  mkdirSync(dataDir, { recursive: true });
  try {
    // `wx`: never overwrite a key another process wrote meanwhile; losing it would lose every secret.
    writeFileSync(path, `${randomBytes(KEY_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const text = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new Error(`${path}: expected 64 hexadecimal characters (the secret key)`);
  return new Vault(Buffer.from(text, 'hex'));
}

/**
 * DC-09 encryption: AES in CBC mode with an all-zero IV, keys of 128, 192 or 256 bits. The encrypted region
 * starts right after the data block's `[` and runs to the end of the timestamp: `pad|data][xdata]_timestamp`.
 * The pad is 1 to 16 pseudo-random bytes (any value but `|`, `[` and `]`) chosen so that the region is a
 * multiple of 16 bytes; a region already a multiple of 16 gets 16 pad bytes. The `|` after the pad is always
 * there. The ciphertext travels as hex characters; the closing `]` of the data block is inside it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fail, ok, type Result } from '../result.js';

/** A key: 32, 48 or 64 hex characters, or 16, 24 or 32 raw bytes. */
export type Dc09Key = string | Uint8Array;
/** Where pad bytes come from; tests pass a seeded source. */
export type Dc09RandomSource = (size: number) => Uint8Array;

export const DC09_BLOCK_BYTES = 16;
export const DC09_PAD_TERMINATOR = 0x7c; // '|'
const FORBIDDEN_PAD = new Set([0x7c, 0x5b, 0x5d]); // '|', '[', ']'
const ZERO_IV = Buffer.alloc(DC09_BLOCK_BYTES);
const HEX = /^[0-9A-Fa-f]*$/;

/** Checks a key and returns its bytes. Never throws. */
export function parseDc09Key(key: Dc09Key): Result<Buffer> {
  if (typeof key === 'string') {
    if (!HEX.test(key) || ![32, 48, 64].includes(key.length)) return fail('a DC-09 key in text is 32, 48 or 64 hex characters');
    return ok(Buffer.from(key, 'hex'));
  }
  if (![16, 24, 32].includes(key.length)) return fail('a DC-09 key is 16, 24 or 32 bytes');
  return ok(Buffer.from(key));
}

const cipherFor = (key: Buffer): string => `aes-${key.length * 8}-cbc`;

/** `size` pseudo-random pad bytes; a forbidden value (`|`, `[`, `]`) is moved to its neighbour. */
export function dc09Pad(size: number, random: Dc09RandomSource = randomBytes): Buffer {
  const source = random(size);
  const pad = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    const b = source[i] ?? 0;
    pad[i] = FORBIDDEN_PAD.has(b) ? b ^ 1 : b;
  }
  return pad;
}

/** How many pad bytes precede `|` + `rest` so that the encrypted region is a multiple of 16 (1 to 16). */
export const dc09PadLength = (restLength: number): number => DC09_BLOCK_BYTES - ((restLength + 1) % DC09_BLOCK_BYTES);

/**
 * Encrypts `rest` (what follows the pad terminator: `data][xdata]_timestamp`, or `]_timestamp` for a NULL or
 * ACK) behind a fresh pad. Returns the ciphertext as upper-case hex. Never throws.
 */
export function encryptDc09Payload(rest: Uint8Array, key: Dc09Key, random?: Dc09RandomSource): Result<string> {
  const k = parseDc09Key(key);
  if (!k.ok) return k;
  const plain = Buffer.concat([dc09Pad(dc09PadLength(rest.length), random), Buffer.of(DC09_PAD_TERMINATOR), rest]);
  try {
    const cipher = createCipheriv(cipherFor(k.value), k.value, ZERO_IV);
    cipher.setAutoPadding(false);
    return ok(Buffer.concat([cipher.update(plain), cipher.final()]).toString('hex').toUpperCase());
  } catch (e) {
    return fail(`encryption failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Decrypts hex ciphertext (either case) into the plaintext region, pad included. Whether the key was right
 * shows only in the plaintext's shape, which the frame decoder checks. Never throws.
 */
export function decryptDc09Payload(hex: string, key: Dc09Key): Result<Buffer> {
  const k = parseDc09Key(key);
  if (!k.ok) return k;
  if (hex.length === 0 || !HEX.test(hex)) return fail('the encrypted data is not hex');
  if (hex.length % (2 * DC09_BLOCK_BYTES) !== 0) return fail(`the encrypted data is ${hex.length / 2} bytes, not a multiple of 16`);
  try {
    const decipher = createDecipheriv(cipherFor(k.value), k.value, ZERO_IV);
    decipher.setAutoPadding(false);
    return ok(Buffer.concat([decipher.update(Buffer.from(hex, 'hex')), decipher.final()]));
  } catch (e) {
    return fail(`decryption failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

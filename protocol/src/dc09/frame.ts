/**
 * The SIA DC-09 frame (ANSI/SIA DC-09-2013):
 *
 *   <LF> crc 0LLL "id" seq [Rrcvr] Lpref #acct [data] [xdata]... [_HH:MM:SS,MM-DD-YYYY] <CR>
 *
 * `crc` is four hex characters, the CRC-16/ARC of the body (from the opening quote of the ID token to the end
 * of the timestamp); `0LLL` is the body's length in hex. The ID token is `SIA-DCS`, `ADM-CID` or `NULL` from
 * the premises, `ACK`, `NAK` or `DUH` from the receiver, with a leading `*` when encrypted (see crypto.ts).
 * `seq` is four decimal digits; `R` and `L` carry 1 to 6 hex digits; the account is 3 to 16 hex digits.
 *
 * Encoding is strict. Decoding is lenient about what real panels send (lower-case hex, a missing LF or CR,
 * trailing NULs, accounts that are not hex, data in a NULL message, a length written in decimal) and
 * strict about integrity: nothing with a wrong CRC is ever accepted. Decoders never throw.
 */
import { fail, ok, type Result } from '../result.js';
import { crc16Arc, crcHex } from './crc.js';
import { decryptDc09Payload, encryptDc09Payload, parseDc09Key, type Dc09Key, type Dc09RandomSource } from './crypto.js';
import { formatDc09Timestamp, parseDc09Timestamp } from './timestamp.js';

export const Dc09Token = { sia: 'SIA-DCS', contactId: 'ADM-CID', null: 'NULL', ack: 'ACK', nak: 'NAK', duh: 'DUH' } as const;
export type Dc09Token = (typeof Dc09Token)[keyof typeof Dc09Token];
const TOKENS = new Set<string>(Object.values(Dc09Token));
/** NAK and DUH are never encrypted. */
const ENCRYPTABLE = new Set<string>([Dc09Token.sia, Dc09Token.contactId, Dc09Token.null, Dc09Token.ack]);

/** The length field is `0LLL`, so a body is at most 0xFFF bytes. */
export const DC09_MAX_BODY_BYTES = 0xfff;
/** LF, CRC, length, body and CR. */
export const DC09_MAX_FRAME_BYTES = 1 + 4 + 4 + DC09_MAX_BODY_BYTES + 1;
/** Inputs longer than this are refused before any parsing. */
const MAX_INPUT_BYTES = 2 * DC09_MAX_FRAME_BYTES;

/** Why a frame was refused; the receiver's answer follows from it (see dc09AnswerFor in messages.ts). */
export const Dc09FailReason = {
  /** Longer than any frame can be. No answer. */
  oversized: 'oversized',
  /** Not shaped like a frame (no CRC and length fields). No answer. */
  framing: 'framing',
  /** The CRC does not match. No answer. */
  crc: 'crc',
  /** The length field does not match. No answer. */
  length: 'length',
  /** Intact (CRC and length good) but malformed. DUH. */
  format: 'format',
  /** Intact but with an unknown or unexpected ID token. DUH. */
  unsupported: 'unsupported',
  /** Encrypted, and no key to open it. NAK. */
  noKey: 'no-key',
  /** Encrypted, and the key does not open it. NAK. */
  decrypt: 'decrypt',
} as const;
export type Dc09FailReason = (typeof Dc09FailReason)[keyof typeof Dc09FailReason];

/** What lenient decoding let through; listed on the decoded frame. */
export const Dc09Quirk = {
  noLf: 'no-lf',
  noCr: 'no-cr',
  trailingNul: 'trailing-nul',
  lowerCaseCrc: 'lower-case-crc',
  decimalLength: 'decimal-length',
  noLine: 'no-line',
  nonHexAccount: 'non-hex-account',
  dataInNull: 'data-in-null',
} as const;
export type Dc09Quirk = (typeof Dc09Quirk)[keyof typeof Dc09Quirk];

/** The header fields a response echoes from the message it answers. */
export interface Dc09Echo {
  /** 0 to 9999. */
  sequence: number;
  /** Receiver number, hex digits as sent. */
  receiver?: string;
  /** Line prefix, hex digits as sent. */
  line?: string;
  account?: string;
}

export interface Dc09Header extends Dc09Echo {
  id: Dc09Token;
  encrypted: boolean;
}

export interface Dc09Failure {
  ok: false;
  error: string;
  reason: Dc09FailReason;
  /** The header, when it could be read: what a DUH echoes. */
  header?: Dc09Echo;
}
/** A Result whose failure also says why, so that a receiver knows how to answer. */
export type Dc09Result<T> = { ok: true; value: T } | Dc09Failure;

const refuse = (reason: Dc09FailReason, error: string, header?: Dc09Echo): Dc09Failure =>
  header ? { ok: false, error, reason, header } : { ok: false, error, reason };
const accept = <T>(value: T): Dc09Result<T> => ({ ok: true, value });

/** A frame checked for integrity, its data still as sent (encrypted or not). */
export interface Dc09RawFrame extends Dc09Header {
  crc: number;
  /** From the data block's `[` to the end of the body, one character per byte. */
  payload: string;
  quirks: Dc09Quirk[];
}

/** An extended data block `[Xvalue]`: `id` is its first character (X longitude, M MAC, V verification...). */
export interface Dc09ExtendedData {
  id: string;
  value: string;
}

export interface Dc09Message extends Dc09Header {
  /** The data block's content without brackets (and without the pad when it was encrypted); '' when empty. */
  data: string;
  xdata: Dc09ExtendedData[];
  timestamp?: Date;
  quirks: Dc09Quirk[];
}

const HEX4 = /^[0-9A-Fa-f]{4}$/;
const ID_TOKEN = /^"(\*?)([^"]{0,16})"/;
const SEQUENCE = /^\d{4}/;
const HEADER_FIELDS = /^(?:R([0-9A-Fa-f]{1,6}))?(?:L([0-9A-Fa-f]{1,6}))?(?:#([0-9A-Za-z]{1,16}))?$/;
/** A NAK carries the fixed `R0L0A0`; the lazy line stops before the `A` placeholder. */
const NAK_FIELDS = /^(?:R([0-9A-Fa-f]{1,6}))?(?:L([0-9A-Fa-f]{1,6}?))?(?:A[0-9A-Fa-f]{1,16})?$/;
const PLAIN_PAYLOAD = /^\[([^[\]]*)\]((?:\[[^[\]]*\])*)(?:_([^[\]]*))?$/;
const XDATA_BLOCK = /\[([^[\]]*)\]/g;

/** Bytes as a string of one character per byte; a string input is taken as text and read as UTF-8. */
const binary = (input: Uint8Array | string): string =>
  typeof input === 'string' ? Buffer.from(input, 'utf8').toString('latin1') : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Text fields are shown as UTF-8 when they are valid UTF-8, byte per character otherwise. */
function text(bin: string): string {
  const bytes = Buffer.from(bin, 'latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    return bin;
  }
}

/**
 * Checks a frame's integrity (size, CRC, length) and reads its header. The data stays as sent; openDc09Frame
 * decrypts and splits it. Never throws.
 */
export function parseDc09Frame(input: Uint8Array | string): Dc09Result<Dc09RawFrame> {
  if (input.length > MAX_INPUT_BYTES) return refuse('oversized', `frame of ${input.length} bytes exceeds ${DC09_MAX_FRAME_BYTES}`);
  let s = binary(input);
  const quirks: Dc09Quirk[] = [];
  const trimmed = s.replace(/\0+$/, '');
  if (trimmed.length !== s.length) quirks.push(Dc09Quirk.trailingNul);
  s = trimmed;
  if (s.length > DC09_MAX_FRAME_BYTES) return refuse('oversized', `frame of ${s.length} bytes exceeds ${DC09_MAX_FRAME_BYTES}`);
  if (s.startsWith('\n')) s = s.slice(1);
  else quirks.push(Dc09Quirk.noLf);
  if (s.endsWith('\r')) s = s.slice(0, -1);
  else quirks.push(Dc09Quirk.noCr);
  if (s.length < 8) return refuse('framing', 'too short for a frame');
  const crcText = s.slice(0, 4);
  const lengthText = s.slice(4, 8);
  if (!HEX4.test(crcText) || !HEX4.test(lengthText)) return refuse('framing', 'no CRC and length fields');
  const body = s.slice(8);
  if (body.length > DC09_MAX_BODY_BYTES) return refuse('oversized', `body of ${body.length} bytes exceeds ${DC09_MAX_BODY_BYTES}`);
  if (parseInt(lengthText, 16) !== body.length) {
    // Some panels write the length in decimal; the CRC below still guards the content.
    if (!/^\d{4}$/.test(lengthText) || Number(lengthText) !== body.length)
      return refuse('length', `length field ${lengthText} does not match the ${body.length}-byte body`);
    quirks.push(Dc09Quirk.decimalLength);
  }
  const crc = parseInt(crcText, 16);
  const actual = crc16Arc(body);
  if (crc !== actual) return refuse('crc', `CRC ${crcText} does not match the body's ${crcHex(actual)}`);
  if (/[a-f]/.test(crcText)) quirks.push(Dc09Quirk.lowerCaseCrc);

  const token = ID_TOKEN.exec(body);
  if (!token) return refuse('format', 'no quoted ID token');
  const encrypted = token[1] === '*';
  const id = token[2]!;
  const afterToken = body.slice(token[0].length);
  if (!SEQUENCE.test(afterToken)) return refuse('format', 'no four-digit sequence number');
  const sequence = Number(afterToken.slice(0, 4));
  const open = afterToken.indexOf('[');
  if (open < 0) return refuse('format', 'no data block', { sequence });
  const fieldsText = afterToken.slice(4, open);
  const fields = (id === Dc09Token.nak ? NAK_FIELDS.exec(fieldsText) : null) ?? HEADER_FIELDS.exec(fieldsText);
  if (!fields) return refuse('format', `bad receiver, line or account fields ${JSON.stringify(fieldsText.slice(0, 40))}`, { sequence });
  const [, receiver, line, account] = fields;
  const echo: Dc09Echo = {
    sequence,
    ...(receiver === undefined ? {} : { receiver }),
    ...(line === undefined ? {} : { line }),
    ...(account === undefined ? {} : { account }),
  };
  if (!TOKENS.has(id)) return refuse('unsupported', `unknown ID token ${JSON.stringify(id)}`, echo);
  if (encrypted && !ENCRYPTABLE.has(id)) return refuse('unsupported', `${id} is never encrypted`, echo);
  if (line === undefined && id !== Dc09Token.nak) quirks.push(Dc09Quirk.noLine);
  if (account !== undefined && !/^[0-9A-Fa-f]+$/.test(account)) quirks.push(Dc09Quirk.nonHexAccount);
  return accept({ ...echo, id: id as Dc09Token, encrypted, crc, payload: afterToken.slice(open), quirks });
}

interface PayloadParts {
  data: string;
  xdata: Dc09ExtendedData[];
  timestamp?: Date;
}

/** Splits `[data][xdata]..._timestamp` (one character per byte). */
function splitPayload(payload: string): Result<PayloadParts> {
  const m = PLAIN_PAYLOAD.exec(payload);
  if (!m) return fail('the data and extended data blocks are malformed');
  const xdata = [...m[2]!.matchAll(XDATA_BLOCK)].map((b) => ({ id: b[1]!.slice(0, 1), value: text(b[1]!.slice(1)) }));
  const parts: PayloadParts = { data: text(m[1]!), xdata };
  if (m[3] === undefined) return ok(parts);
  const at = parseDc09Timestamp(m[3]);
  return at.ok ? ok({ ...parts, timestamp: at.value }) : at;
}

/** Opens a frame's data: decrypts it with `key` when it is encrypted, then splits it. Never throws. */
export function openDc09Frame(raw: Dc09RawFrame, key?: Dc09Key | null): Dc09Result<Dc09Message> {
  const header: Dc09Echo = {
    sequence: raw.sequence,
    ...(raw.receiver === undefined ? {} : { receiver: raw.receiver }),
    ...(raw.line === undefined ? {} : { line: raw.line }),
    ...(raw.account === undefined ? {} : { account: raw.account }),
  };
  let parts: PayloadParts;
  if (!raw.encrypted) {
    const split = splitPayload(raw.payload);
    if (!split.ok) return refuse('format', split.error, header);
    parts = split.value;
  } else {
    if (key === undefined || key === null) return refuse('no-key', `no key for encrypted ${raw.id} from account ${raw.account ?? '(none)'}`, header);
    const k = parseDc09Key(key);
    if (!k.ok) return refuse('no-key', k.error, header);
    // The ciphertext includes the data block's `]`; tolerate a sender that adds one more.
    const hex = raw.payload.slice(1).replace(/\]$/, '');
    if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length % 32 !== 0) return refuse('format', 'the encrypted data is not whole AES blocks in hex', header);
    const plain = decryptDc09Payload(hex, k.value);
    if (!plain.ok) return refuse('decrypt', plain.error, header);
    const p = plain.value.toString('latin1');
    const bar = p.indexOf('|');
    if (bar < 0 || /[[\]]/.test(p.slice(0, bar))) return refuse('decrypt', 'the decrypted data has no pad terminator: wrong key?', header);
    const split = splitPayload(`[${p.slice(bar + 1)}`);
    if (!split.ok) return refuse('decrypt', `the decrypted data is malformed (wrong key?): ${split.error}`, header);
    if (!split.value.timestamp) return refuse('decrypt', 'an encrypted message must carry a timestamp', header);
    parts = split.value;
  }
  const quirks = [...raw.quirks];
  if (raw.id === Dc09Token.null && parts.data !== '') quirks.push(Dc09Quirk.dataInNull);
  return accept({ id: raw.id, encrypted: raw.encrypted, ...header, ...parts, quirks });
}

/** A key, or a function choosing one from the header (e.g. by account). */
export type Dc09KeyChoice = Dc09Key | null | ((header: Dc09Header) => Dc09Key | null | undefined);

/** parseDc09Frame then openDc09Frame. Never throws. */
export function decodeDc09Frame(input: Uint8Array | string, key?: Dc09KeyChoice): Dc09Result<Dc09Message> {
  const raw = parseDc09Frame(input);
  if (!raw.ok) return raw;
  return openDc09Frame(raw.value, typeof key === 'function' ? key(raw.value) : key);
}

// ------------------------------------------------------------------------------------------------ encoding

/** Adds LF, CRC, length and CR around a body (from the ID token's quote to the end). Never throws. */
export function wrapDc09Body(body: string): Result<Buffer> {
  const bytes = Buffer.from(body, 'latin1');
  if (bytes.length > DC09_MAX_BODY_BYTES) return fail(`body of ${bytes.length} bytes exceeds ${DC09_MAX_BODY_BYTES}`);
  const length = bytes.length.toString(16).toUpperCase().padStart(4, '0');
  return ok(Buffer.concat([Buffer.from(`\n${crcHex(crc16Arc(bytes))}${length}`, 'latin1'), bytes, Buffer.from('\r', 'latin1')]));
}

/** The parts of a body as sent; values are trusted here (callers check them). */
export interface Dc09BodyParts {
  id: string;
  sequence: number;
  /** `R...`, `L...` and `#...` (or a NAK's `R0L0A0`), already joined. */
  fields: string;
  /** What follows the pad terminator: `data][xdata]..._timestamp` (the data block's `[` excluded). */
  rest: string;
  key?: Dc09Key | null;
  random?: Dc09RandomSource;
}

/** Builds a frame from trusted parts, encrypting when a key is given. Never throws. */
export function assembleDc09Frame(parts: Dc09BodyParts): Result<Buffer> {
  const head = `"${parts.key ? '*' : ''}${parts.id}"${String(parts.sequence).padStart(4, '0')}${parts.fields}[`;
  if (!parts.key) return wrapDc09Body(head + parts.rest);
  const hex = encryptDc09Payload(Buffer.from(parts.rest, 'latin1'), parts.key, parts.random);
  return hex.ok ? wrapDc09Body(head + hex.value) : hex;
}

/** A message from the premises to the receiver. */
export interface Dc09Outgoing {
  id: typeof Dc09Token.sia | typeof Dc09Token.contactId | typeof Dc09Token.null;
  /** 1 to 9999 (a NULL may use 0). */
  sequence: number;
  /** 3 to 16 upper-case hex digits. */
  account: string;
  /** 1 to 6 hex digits; left out when absent. */
  receiver?: string;
  /** 1 to 6 hex digits; '0' when absent. */
  line?: string;
  /** The data block's content, e.g. `#1234|Nri1/BA01` or `#1234|1130 01 015`; '' for a NULL. */
  data?: string;
  xdata?: readonly Dc09ExtendedData[];
  /** Required when encrypting. */
  timestamp?: Date;
  /** Encrypts the message (`*SIA-DCS`...) when given. */
  key?: Dc09Key | null;
}

const PRINTABLE_NO_BRACKETS = /^[\x20-\x5a\x5c\x5e-\x7e]*$/;
const OUT_ACCOUNT = /^[0-9A-F]{3,16}$/;
const OUT_HEX6 = /^[0-9A-Fa-f]{1,6}$/;

/** Joins the R, L and # fields. */
export const dc09Fields = (f: { receiver?: string | undefined; line?: string | undefined; account?: string | undefined }): string =>
  `${f.receiver === undefined ? '' : `R${f.receiver}`}${f.line === undefined ? '' : `L${f.line}`}${f.account === undefined ? '' : `#${f.account}`}`;

/** `data][xdata]..._timestamp`: what follows the pad terminator. */
export const dc09Rest = (data: string, xdata: readonly Dc09ExtendedData[], timestamp?: Date): string =>
  `${data}]${xdata.map((x) => `[${x.id}${x.value}]`).join('')}${timestamp ? `_${formatDc09Timestamp(timestamp)}` : ''}`;

/** Encodes a premises message strictly: anything out of the standard is refused. Never throws. */
export function encodeDc09Frame(msg: Dc09Outgoing, opts: { random?: Dc09RandomSource } = {}): Result<Buffer> {
  const ids: readonly string[] = [Dc09Token.sia, Dc09Token.contactId, Dc09Token.null];
  if (!ids.includes(msg.id)) return fail(`a premises message is ${ids.join(', ')}, not ${String(msg.id)}`);
  const isNull = msg.id === Dc09Token.null;
  if (!Number.isInteger(msg.sequence) || msg.sequence < (isNull ? 0 : 1) || msg.sequence > 9999)
    return fail(`sequence ${msg.sequence} is outside ${isNull ? '0000' : '0001'}-9999`);
  if (!OUT_ACCOUNT.test(msg.account)) return fail(`account ${JSON.stringify(msg.account)} is not 3 to 16 upper-case hex digits`);
  if (msg.receiver !== undefined && !OUT_HEX6.test(msg.receiver)) return fail(`receiver ${JSON.stringify(msg.receiver)} is not 1 to 6 hex digits`);
  const line = msg.line ?? '0';
  if (!OUT_HEX6.test(line)) return fail(`line ${JSON.stringify(line)} is not 1 to 6 hex digits`);
  const data = msg.data ?? '';
  if (!PRINTABLE_NO_BRACKETS.test(data)) return fail('data must be printable ASCII without [ or ]');
  if (isNull && data !== '') return fail('a NULL message carries no data');
  const xdata = msg.xdata ?? [];
  for (const x of xdata) {
    if (!/^[A-Z]$/.test(x.id)) return fail(`extended data id ${JSON.stringify(x.id)} is not one upper-case letter`);
    if (!PRINTABLE_NO_BRACKETS.test(x.value)) return fail(`extended data ${x.id} must be printable ASCII without [ or ]`);
  }
  if (msg.timestamp !== undefined && !Number.isFinite(msg.timestamp.getTime())) return fail('timestamp is not a valid date');
  if (msg.key) {
    const k = parseDc09Key(msg.key);
    if (!k.ok) return k;
    if (!msg.timestamp) return fail('an encrypted message needs a timestamp');
  }
  return assembleDc09Frame({
    id: msg.id,
    sequence: msg.sequence,
    fields: dc09Fields({ receiver: msg.receiver, line, account: msg.account }),
    rest: dc09Rest(data, xdata, msg.timestamp),
    key: msg.key ?? null,
    ...(opts.random ? { random: opts.random } : {}),
  });
}

// ------------------------------------------------------------------------------------------------ streams

/** What a push into the splitter produced. */
export interface Dc09SplitResult {
  /** Complete frames, LF to CR inclusive. */
  frames: Buffer[];
  /** Frames cut short by the start of the next one. */
  truncated: number;
  /** Frames longer than DC09_MAX_FRAME_BYTES, dropped. */
  oversized: number;
  /** Bytes outside any frame, dropped. */
  junkBytes: number;
}

/**
 * Cuts a TCP byte stream into frames (LF ... CR). Neither byte can occur inside a frame, so a new LF before
 * the CR means the previous frame was cut short. Memory is bounded by DC09_MAX_FRAME_BYTES.
 */
export class Dc09FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);

  /** Bytes held for a frame still incomplete (a truncated frame if the stream ends now). */
  get pendingBytes(): number {
    return this.pending.length;
  }

  push(chunk: Uint8Array): Dc09SplitResult {
    const out: Dc09SplitResult = { frames: [], truncated: 0, oversized: 0, junkBytes: 0 };
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    for (;;) {
      const start = buf.indexOf(0x0a);
      if (start < 0) {
        out.junkBytes += buf.length;
        buf = Buffer.alloc(0);
        break;
      }
      out.junkBytes += start;
      buf = buf.subarray(start);
      const end = buf.indexOf(0x0d, 1);
      const next = buf.indexOf(0x0a, 1);
      if (next > 0 && (end < 0 || next < end)) {
        out.truncated++;
        buf = buf.subarray(next);
        continue;
      }
      if (end < 0) {
        if (buf.length > DC09_MAX_FRAME_BYTES) {
          // The rest of this frame has no LF, so it will be dropped as junk as it arrives.
          out.oversized++;
          buf = Buffer.alloc(0);
        }
        break;
      }
      if (end + 1 > DC09_MAX_FRAME_BYTES) out.oversized++;
      else out.frames.push(Buffer.from(buf.subarray(0, end + 1)));
      buf = buf.subarray(end + 1);
    }
    this.pending = Buffer.from(buf);
    return out;
  }

  /** Forgets a pending partial frame; returns how many bytes were dropped. */
  reset(): number {
    const n = this.pending.length;
    this.pending = Buffer.alloc(0);
    return n;
  }
}

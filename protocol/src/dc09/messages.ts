/**
 * The receiver's answers and the helpers around them:
 * - ACK `"ACK"seq[Rrcvr]Lpref#acct[]` echoes the message's header; the answer to an encrypted message is
 *   `*ACK`, encrypted with the same key and carrying the receiver's time (`pad|]_timestamp`).
 * - NAK `"NAK"0000R0L0A0[]_timestamp` is never encrypted and carries the receiver's time, so that the
 *   premises can correct its clock: it answers a failed timestamp check or a message that cannot be decrypted.
 * - DUH `"DUH"seq[Rrcvr]Lpref#acct[]` answers an intact message the receiver cannot process.
 * - Nothing at all answers a frame with a CRC or length error.
 */
import { fail, ok, type Result } from '../result.js';
import { decodeContactId, type ContactIdEvent } from './contact-id.js';
import type { Dc09Key, Dc09RandomSource } from './crypto.js';
import { assembleDc09Frame, dc09Fields, dc09Rest, Dc09Token, type Dc09Echo, type Dc09FailReason, type Dc09Message } from './frame.js';
import { decodeSiaData, type SiaBlock } from './sia.js';

export const DC09_SEQUENCE_MIN = 1;
export const DC09_SEQUENCE_MAX = 9999;

/** The sequence number after `seq`: 0001 to 9999, then 0001 again. */
export const nextDc09Sequence = (seq: number): number => (Number.isInteger(seq) && seq >= DC09_SEQUENCE_MIN && seq < DC09_SEQUENCE_MAX ? seq + 1 : DC09_SEQUENCE_MIN);

/** Hands out sequence numbers 0001, 0002, ... 9999, 0001, ... */
export class Dc09SequenceCounter {
  private current: number;

  /** `last` is the number handed out most recently (0 for none yet). */
  constructor(last = 0) {
    this.current = Number.isInteger(last) && last >= 0 && last <= DC09_SEQUENCE_MAX ? last : 0;
  }

  get last(): number {
    return this.current;
  }

  next(): number {
    this.current = nextDc09Sequence(this.current);
    return this.current;
  }
}

/** How a receiver answers a refused frame; `null` means no answer at all. */
export type Dc09Refusal = 'NAK' | 'DUH' | null;

/** The answer the standard prescribes for a decoding failure. */
export function dc09AnswerFor(reason: Dc09FailReason): Dc09Refusal {
  switch (reason) {
    case 'oversized':
    case 'framing':
    case 'crc':
    case 'length':
      return null;
    case 'format':
    case 'unsupported':
      return 'DUH';
    case 'no-key':
    case 'decrypt':
      return 'NAK';
  }
}

/** Echoed fields are checked against what the decoder accepts, so an answer is always a valid frame. */
function echoProblem(to: Dc09Echo): string | undefined {
  if (!Number.isInteger(to.sequence) || to.sequence < 0 || to.sequence > DC09_SEQUENCE_MAX) return `sequence ${to.sequence} is outside 0000-9999`;
  if (to.receiver !== undefined && !/^[0-9A-Fa-f]{1,6}$/.test(to.receiver)) return `receiver ${JSON.stringify(to.receiver)} is not 1 to 6 hex digits`;
  if (to.line !== undefined && !/^[0-9A-Fa-f]{1,6}$/.test(to.line)) return `line ${JSON.stringify(to.line)} is not 1 to 6 hex digits`;
  if (to.account !== undefined && !/^[0-9A-Za-z]{1,16}$/.test(to.account)) return `account ${JSON.stringify(to.account)} is not 1 to 16 letters or digits`;
  return undefined;
}

export interface Dc09AckOptions {
  /** Answer an encrypted message: `*ACK`, encrypted with this key. */
  key?: Dc09Key | null;
  /** The receiver's time: always in a `*ACK`, in a plain ACK only when `timestamp` is set. */
  now?: Date;
  /** Put the receiver's time in a plain ACK too. */
  timestamp?: boolean;
  random?: Dc09RandomSource;
}

/** ACK, or `*ACK` when a key is given. Never throws. */
export function buildDc09Ack(to: Dc09Echo, opts: Dc09AckOptions = {}): Result<Buffer> {
  const problem = echoProblem(to);
  if (problem) return fail(problem);
  const now = opts.now ?? new Date();
  const stamped = Boolean(opts.key) || opts.timestamp === true;
  return assembleDc09Frame({
    id: Dc09Token.ack,
    sequence: to.sequence,
    fields: dc09Fields(to),
    rest: dc09Rest('', [], stamped ? now : undefined),
    key: opts.key ?? null,
    ...(opts.random ? { random: opts.random } : {}),
  });
}

/** DUH, never encrypted. Never throws. */
export function buildDc09Duh(to: Dc09Echo): Result<Buffer> {
  const problem = echoProblem(to);
  if (problem) return fail(problem);
  return assembleDc09Frame({ id: Dc09Token.duh, sequence: to.sequence, fields: dc09Fields(to), rest: dc09Rest('', []) });
}

/** NAK with the receiver's time, never encrypted. */
export function buildDc09Nak(now: Date = new Date()): Result<Buffer> {
  if (!Number.isFinite(now.getTime())) return fail('now is not a valid date');
  return assembleDc09Frame({ id: Dc09Token.nak, sequence: 0, fields: 'R0L0A0', rest: dc09Rest('', [], now) });
}

/** The event a message carries, decoded by its ID token. */
export type Dc09Event = ({ kind: 'contact-id' } & ContactIdEvent) | ({ kind: 'sia' } & SiaBlock);

/** Decodes the event of an `ADM-CID` or `SIA-DCS` message; null for other tokens. Never throws. */
export function decodeDc09Event(msg: Pick<Dc09Message, 'id' | 'data'>): Result<Dc09Event | null> {
  if (msg.id === Dc09Token.contactId) {
    const e = decodeContactId(msg.data);
    return e.ok ? ok({ kind: 'contact-id', ...e.value }) : e;
  }
  if (msg.id === Dc09Token.sia) {
    const e = decodeSiaData(msg.data);
    return e.ok ? ok({ kind: 'sia', ...e.value }) : e;
  }
  return ok(null);
}

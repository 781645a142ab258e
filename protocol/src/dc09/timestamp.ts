/**
 * DC-09 timestamps: `_HH:MM:SS,MM-DD-YYYY` in UTC, at the end of a message. They are required in encrypted
 * messages (replay protection) and optional in plain ones. A receiver refuses a message whose timestamp lies
 * more than 40 s before or 20 s after its own clock, and answers it with a NAK carrying its own time.
 */
import { fail, ok, type Result } from '../result.js';

/** How far a message's timestamp may lag the receiver's clock. */
export const DC09_TIMESTAMP_PAST_MS = 40_000;
/** How far a message's timestamp may run ahead of the receiver's clock. */
export const DC09_TIMESTAMP_FUTURE_MS = 20_000;

const TIMESTAMP = /^(\d{2}):(\d{2}):(\d{2}),(\d{2})-(\d{2})-(\d{4})$/;
const two = (n: number): string => String(n).padStart(2, '0');

/** `HH:MM:SS,MM-DD-YYYY` in UTC (without the leading `_`). Milliseconds are dropped. */
export function formatDc09Timestamp(at: Date): string {
  return `${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())},${two(at.getUTCMonth() + 1)}-${two(at.getUTCDate())}-${at.getUTCFullYear()}`;
}

/** Parses `HH:MM:SS,MM-DD-YYYY` (without the leading `_`) as UTC; refuses impossible dates. Never throws. */
export function parseDc09Timestamp(text: string): Result<Date> {
  const m = TIMESTAMP.exec(text);
  if (!m) return fail(`timestamp ${JSON.stringify(text.slice(0, 32))} is not HH:MM:SS,MM-DD-YYYY`);
  const [hh, mi, ss, mo, dd, yyyy] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const at = new Date(Date.UTC(yyyy, mo - 1, dd, hh, mi, ss));
  const same =
    at.getUTCFullYear() === yyyy && at.getUTCMonth() === mo - 1 && at.getUTCDate() === dd && at.getUTCHours() === hh && at.getUTCMinutes() === mi && at.getUTCSeconds() === ss;
  return same ? ok(at) : fail(`timestamp ${text} is not a real date and time`);
}

/**
 * Checks a message timestamp against the receiver's clock `now`. On success the value is the skew in
 * milliseconds (message time minus receiver time, negative when the message is late).
 */
export function checkDc09Timestamp(timestamp: Date, now: Date | number): Result<number> {
  const skew = timestamp.getTime() - (typeof now === 'number' ? now : now.getTime());
  if (!Number.isFinite(skew)) return fail('timestamp is not a valid time');
  if (skew < -DC09_TIMESTAMP_PAST_MS) return fail(`timestamp is ${Math.round(-skew / 1000)} s old (at most ${DC09_TIMESTAMP_PAST_MS / 1000} s allowed)`);
  if (skew > DC09_TIMESTAMP_FUTURE_MS) return fail(`timestamp is ${Math.round(skew / 1000)} s ahead (at most ${DC09_TIMESTAMP_FUTURE_MS / 1000} s allowed)`);
  return ok(skew);
}

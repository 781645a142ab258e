/**
 * What a simulated recorder has recorded: every channel records continuously, in 10-minute segments aligned to
 * the clock, over a rolling window back from the device's now; some segments are motion recordings (chosen by a
 * hash of channel and segment, so the same query always gives the same answer), and configured gaps hold no
 * recording at all. Nothing is stored: segments are computed for each query.
 */
import { RecordType } from '@vigil/protocol';

export const SEGMENT_MS = 10 * 60_000;
export const DEFAULT_RECORDING_HOURS = 24;

/**
 * A time without recordings. `from`/`to` are ISO times, or minutes relative to the device clock when the
 * recorder was made (negative = before), e.g. `{ from: -120, to: -90 }`. `channels` limits it to those channels.
 */
export interface RecordingGap {
  from: string | number;
  to: string | number;
  channels?: number[];
}

/** By default each channel misses the half hour that ended 90 minutes before the device started. */
export const DEFAULT_RECORDING_GAPS: readonly RecordingGap[] = [{ from: -120, to: -90 }];

export interface RecordingOptions {
  /** How far back recordings reach (default 24). */
  hours?: number;
  gaps?: readonly RecordingGap[];
}

export interface RecordedSegment {
  channel: number;
  /** ms since the epoch, whole seconds */
  from: number;
  to: number;
  type: RecordType;
}

interface Gap {
  from: number;
  to: number;
  channels: ReadonlySet<number> | undefined;
}

/** Why the options cannot be used, or undefined. */
export function recordingOptionsProblem(o: RecordingOptions): string | undefined {
  if (o.hours !== undefined && !(Number.isInteger(o.hours) && o.hours >= 1 && o.hours <= 24 * 90)) return 'recordingHours must be an integer from 1 to 2160';
  if (o.gaps === undefined) return undefined;
  if (!Array.isArray(o.gaps)) return 'recordingGaps must be an array';
  for (const [i, g] of o.gaps.entries()) {
    const where = `recordingGaps[${i}]`;
    if (typeof g !== 'object' || g === null) return `${where} must be {from, to, channels?}`;
    for (const k of Object.keys(g)) if (!['from', 'to', 'channels'].includes(k)) return `${where}: unknown field ${k}`;
    const from = timeOf(g.from, 0);
    const to = timeOf(g.to, 0);
    if (from === undefined || to === undefined) return `${where}: from and to must be ISO times or minutes from the start (numbers)`;
    if (typeof g.from !== typeof g.to) return `${where}: from and to must both be ISO times or both be minutes`;
    if (to <= from) return `${where}: to must be after from`;
    if (g.channels !== undefined && !(Array.isArray(g.channels) && g.channels.every((c: unknown) => typeof c === 'number' && Number.isInteger(c) && c >= 1 && c <= 9999))) {
      return `${where}.channels must be channel numbers`;
    }
  }
  return undefined;
}

function timeOf(v: unknown, startedAt: number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? startedAt + Math.round(v * 60_000) : undefined;
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

const wholeSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** A small, stable hash: motion segments must not move between queries or runs. */
function hash(channel: number, segment: number): number {
  let h = 0x811c9dc5;
  for (const c of `${channel}:${segment}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

export class Recordings {
  readonly windowMs: number;
  private readonly gaps: Gap[];

  /** Throws on bad options (see recordingOptionsProblem). */
  constructor(
    opts: RecordingOptions,
    private readonly now: () => number,
  ) {
    const problem = recordingOptionsProblem(opts);
    if (problem) throw new RangeError(problem);
    this.windowMs = (opts.hours ?? DEFAULT_RECORDING_HOURS) * 3_600_000;
    const startedAt = now();
    this.gaps = (opts.gaps ?? DEFAULT_RECORDING_GAPS)
      .map((g) => ({ from: wholeSecond(timeOf(g.from, startedAt)!), to: wholeSecond(timeOf(g.to, startedAt)!), channels: g.channels && new Set(g.channels) }))
      .sort((a, b) => a.from - b.from);
  }

  /** The recorded span now: from the oldest kept second to the current one. */
  window(): { from: number; to: number } {
    const to = wholeSecond(this.now());
    return { from: to - this.windowMs, to };
  }

  /** The segments of a channel overlapping [from, to), oldest first. */
  segments(channel: number, from: number, to: number): RecordedSegment[] {
    const w = this.window();
    const start = Math.max(from, w.from);
    const end = Math.min(to, w.to);
    const out: RecordedSegment[] = [];
    if (end <= start) return out;
    for (let k = Math.floor(start / SEGMENT_MS); k * SEGMENT_MS < end; k++) {
      const type = hash(channel, k) % 4 === 0 ? RecordType.motion : RecordType.continuous;
      // A gap stops the recording; it resumes in a new segment.
      for (const piece of this.minusGaps(channel, Math.max(k * SEGMENT_MS, w.from), Math.min((k + 1) * SEGMENT_MS, w.to))) {
        if (piece.to > start && piece.from < end) out.push({ channel, ...piece, type });
      }
    }
    return out;
  }

  /** The unbroken recording of a channel holding `at` (until a gap or now), or undefined when nothing was recorded then. */
  recordingAt(channel: number, at: number): { from: number; to: number } | undefined {
    const w = this.window();
    if (at < w.from || at >= w.to) return undefined;
    let from = w.from;
    let to = w.to;
    for (const g of this.gapsOf(channel)) {
      if (g.from <= at && at < g.to) return undefined;
      if (g.to <= at) from = Math.max(from, g.to);
      else to = Math.min(to, g.from);
    }
    return { from, to };
  }

  private gapsOf(channel: number): Gap[] {
    return this.gaps.filter((g) => !g.channels || g.channels.has(channel));
  }

  private minusGaps(channel: number, from: number, to: number): Array<{ from: number; to: number }> {
    const pieces: Array<{ from: number; to: number }> = [];
    let cursor = from;
    for (const g of this.gapsOf(channel)) {
      if (g.to <= cursor || g.from >= to) continue;
      if (g.from > cursor) pieces.push({ from: cursor, to: g.from });
      cursor = Math.max(cursor, g.to);
    }
    if (cursor < to) pieces.push({ from: cursor, to });
    return pieces;
  }
}

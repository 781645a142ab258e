import path from 'node:path';
import { audioCopyArgs } from '../media/ffmpeg.js';
import type { StreamDescription } from '../media/sdp.js';

/** One finished segment of the ring: a file starting at a key frame, with its wall-clock span. */
export interface Segment {
  file: string;
  /** Which ffmpeg run wrote it: runs are separated by gaps (a dropped stream). */
  run: number;
  /** Its span in the run's stream time, seconds (from ffmpeg's segment list). */
  streamStart: number;
  streamEnd: number;
}

/** A segment with its span in wall-clock milliseconds. */
export interface TimedSegment extends Segment {
  startAt: number;
  endAt: number;
}

export interface SegmenterArgs {
  /** The RTSP URL with the account in it. */
  url: string;
  audio: StreamDescription['audio'];
  dir: string;
  run: number;
  segmentSeconds: number;
}

/**
 * The ffmpeg command that copies a stream into MPEG-TS segments cut at key frames (they concatenate back with
 * `-c copy`). The segment list goes to stdout: a line per finished segment, and since the pipe breaks when this
 * process dies, ffmpeg never outlives it by more than a segment.
 */
export function segmenterArgs(a: SegmenterArgs): string[] {
  return [
    '-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-timeout', '10000000', '-i', a.url,
    '-map', '0:v:0', '-c:v', 'copy', ...audioCopyArgs(a.audio),
    '-f', 'segment', '-segment_time', String(a.segmentSeconds), '-reset_timestamps', '0', '-segment_format', 'mpegts',
    '-segment_list', 'pipe:1', '-segment_list_type', 'csv',
    path.join(a.dir, `${runPrefix(a.run)}%06d.ts`),
  ];
}

export const runPrefix = (run: number): string => `r${run}-`;

/** One line of ffmpeg's csv segment list (`name,start,end`), or null. */
export function parseSegmentLine(line: string): { name: string; start: number; end: number } | null {
  const m = /^"?([^",]+)"?,(-?[\d.]+),(-?[\d.]+)$/.exec(line.trim());
  if (!m) return null;
  const start = Number(m[2]);
  const end = Number(m[3]);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return null;
  return { name: m[1]!, start, end };
}

/**
 * The segments on disk, oldest first, and the wall clock of each run. A segment's line arrives once the next
 * key frame is written, so `arrival − streamEnd` bounds the run's clock offset from above; the smallest one seen
 * is the closest (only delay adds to it), and every segment of the run is placed with it.
 */
export class SegmentRing {
  private readonly segments: Segment[] = [];
  private readonly offsets = new Map<number, number>();

  add(segment: Segment, arrivedAt: number): TimedSegment {
    const offset = arrivedAt - segment.streamEnd * 1000;
    const known = this.offsets.get(segment.run);
    if (known === undefined || offset < known) this.offsets.set(segment.run, offset);
    this.segments.push(segment);
    return this.timed(segment);
  }

  get all(): TimedSegment[] {
    return this.segments.map((s) => this.timed(s));
  }

  /** The newest wall-clock time the ring covers, or null when empty. */
  get newestAt(): number | null {
    const last = this.segments.at(-1);
    return last ? this.timed(last).endAt : null;
  }

  /** The segments that overlap [from, to), oldest first. */
  covering(from: number, to: number): TimedSegment[] {
    return this.all.filter((s) => s.endAt > from && s.startAt < to);
  }

  /** Takes out the segments that ended before `before` and are not held; returns them (their files go). */
  prune(before: number, held: ReadonlySet<string>): Segment[] {
    const gone: Segment[] = [];
    for (let i = 0; i < this.segments.length; ) {
      const s = this.segments[i]!;
      if (this.timed(s).endAt < before && !held.has(s.file)) {
        gone.push(s);
        this.segments.splice(i, 1);
      } else i++;
    }
    // The newest run keeps its offset even when empty: it may still be writing.
    const runs = new Set(this.segments.map((s) => s.run));
    const newest = Math.max(...this.offsets.keys());
    for (const run of this.offsets.keys()) if (!runs.has(run) && run !== newest) this.offsets.delete(run);
    return gone;
  }

  private timed(s: Segment): TimedSegment {
    const offset = this.offsets.get(s.run) ?? 0;
    return { ...s, startAt: offset + s.streamStart * 1000, endAt: offset + s.streamEnd * 1000 };
  }
}

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { access, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { CLIP_DEFAULT_POST_SECONDS, CLIP_DEFAULT_PRE_SECONDS, CLIP_MAX_LENGTH_SECONDS, type ClipEventType } from '@vigil/protocol';
import type { Logger } from '../log.js';
import { FfmpegProcess } from '../media/ffmpeg.js';
import type { StreamDescription } from '../media/sdp.js';
import { assembleClip, type ClipEvent, type ClipRecord } from './assemble.js';
import { parseSegmentLine, runPrefix, SegmentRing, segmenterArgs, type TimedSegment } from './ring.js';

export const DEFAULT_PRE_SECONDS = CLIP_DEFAULT_PRE_SECONDS;
export const DEFAULT_POST_SECONDS = CLIP_DEFAULT_POST_SECONDS;
export const MAX_CLIP_SECONDS = CLIP_MAX_LENGTH_SECONDS;

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 8_000;
/** RTSP setup and the first key frames take longer than a segment. */
const FIRST_SEGMENT_MS = 20_000;
/** No finished segment for this long: the stream is taken for dropped (ffmpeg is killed and restarted). */
const STALL_MS = 10_000;
/** How long a clip whose post time has passed waits for the segment holding its end before it takes what exists. */
const SETTLE_MS = 10_000;

export interface ChannelRecorderOptions {
  channelId: string;
  /** The RTSP URL with the account in it. */
  url: string;
  /** What the stream's SDP says (`probeRtsp`): the video must be H.264 or H.265. */
  description: StreamDescription;
  /** The ring's own folder: emptied on start, removed on stop unless `keepRing`. */
  ringDir: string;
  /** Where finished clips go (MP4, JPEG, JSON sidecar). */
  clipsDir: string;
  /** Defaults for `trigger`; the ring keeps `preSeconds + marginSeconds` of footage. */
  preSeconds?: number;
  postSeconds?: number;
  marginSeconds?: number;
  /** Target segment length; segments are cut at the first key frame after it. */
  segmentSeconds?: number;
  keepRing?: boolean;
  ffmpegPath?: string;
  log: Logger;
  /** The wall clock, epoch milliseconds. */
  now?: () => number;
}

export interface ClipOptions {
  /** What happened: kept with the event in the clip's record. */
  type: ClipEventType;
  preSeconds?: number;
  postSeconds?: number;
}

export interface ClipFailure {
  clipId: string;
  channelId: string;
  events: ClipEvent[];
  requestedStart: number;
  requestedEnd: number;
  reason: string;
}

export interface ClipFiles {
  video: string;
  thumbnail: string;
  sidecar: string;
}

interface RecorderEvents {
  /** A clip is on disk (its files renamed into place). */
  clip: [record: ClipRecord, files: ClipFiles];
  clipFailed: [failure: ClipFailure];
  /** A segment finished (the ring moved on). */
  segment: [segment: TimedSegment];
  /** ffmpeg stopped on its own; it starts again after `retryInMs`. */
  dropped: [info: { code: number | null; stderr: string; retryInMs: number }];
}

/** A clip still taking events, then being written. */
interface PendingClip {
  clipId: string;
  events: ClipEvent[];
  start: number;
  end: number;
  /** No more events merge once it is being written. */
  closed: boolean;
  timer: NodeJS.Timeout | null;
  held: Set<string>;
}

/** Checks pre and post seconds: each 0–60, together at most 60. */
export function checkClipRange(pre: number, post: number): void {
  for (const [name, v] of [['preSeconds', pre], ['postSeconds', post]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_CLIP_SECONDS) throw new RangeError(`${name} must be a number from 0 to ${MAX_CLIP_SECONDS}, not ${String(v)}`);
  }
  if (pre + post > MAX_CLIP_SECONDS) throw new RangeError(`preSeconds + postSeconds must be at most ${MAX_CLIP_SECONDS} (got ${pre} + ${post})`);
  if (pre + post === 0) throw new RangeError('preSeconds + postSeconds must be more than 0');
}

/**
 * One channel's pre-event ring (one ffmpeg copying the stream into key-frame segments, the oldest deleted) and
 * the event clips cut from it. A dropped stream is restarted with backoff; the time it was down is a gap.
 */
export class ChannelRecorder extends EventEmitter<RecorderEvents> {
  private readonly ring = new SegmentRing();
  private readonly pending: PendingClip[] = [];
  private readonly writing = new Set<Promise<void>>();
  private readonly now: () => number;
  private preSeconds: number;
  private postSeconds: number;
  private readonly marginSeconds: number;
  private ffmpeg: FfmpegProcess | null = null;
  private run = 0;
  private lineRest = '';
  private watchdog: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoffMs = BACKOFF_FIRST_MS;
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  private readonly names = new Set<string>();

  constructor(private readonly opts: ChannelRecorderOptions) {
    super();
    const video = opts.description.video;
    if (video !== 'h264' && video !== 'h265') throw new RangeError(`clips are recorded from H.264 or H.265 streams only, not ${video ?? 'a stream without video'}`);
    if (!opts.channelId) throw new RangeError('channelId must not be empty');
    this.preSeconds = opts.preSeconds ?? DEFAULT_PRE_SECONDS;
    this.postSeconds = opts.postSeconds ?? DEFAULT_POST_SECONDS;
    checkClipRange(this.preSeconds, this.postSeconds);
    const margin = opts.marginSeconds ?? 5;
    const segment = opts.segmentSeconds ?? 1;
    if (!(margin >= 0 && margin <= 60)) throw new RangeError(`marginSeconds must be from 0 to 60, not ${margin}`);
    if (!(segment >= 0.5 && segment <= 10)) throw new RangeError(`segmentSeconds must be from 0.5 to 10, not ${segment}`);
    this.marginSeconds = margin;
    this.now = opts.now ?? Date.now;
  }

  /** The ring keeps this much footage: the pre time and a margin. */
  private get keepSeconds(): number {
    return this.preSeconds + this.marginSeconds;
  }

  /** New defaults for `trigger`, without touching the stream; a longer pre time fills as the ring grows. */
  setClipRange(preSeconds: number, postSeconds: number): void {
    checkClipRange(preSeconds, postSeconds);
    this.preSeconds = preSeconds;
    this.postSeconds = postSeconds;
  }

  /** The running ffmpeg's pid, or 0. */
  get pid(): number {
    return this.ffmpeg?.running ? this.ffmpeg.pid : 0;
  }

  /** The segments the ring holds now, oldest first. */
  get segments(): TimedSegment[] {
    return this.ring.all;
  }

  /** Empties the ring folder and starts copying the stream. */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`the recorder of ${this.opts.channelId} was already started`);
    this.state = 'running';
    await rm(this.opts.ringDir, { recursive: true, force: true });
    await mkdir(this.opts.ringDir, { recursive: true });
    await mkdir(this.opts.clipsDir, { recursive: true });
    if (this.state === 'running') this.spawn();
  }

  /**
   * An event at `eventAt` (epoch ms): a clip of [eventAt − pre, eventAt + post]. An event inside a clip still
   * being recorded extends it as long as the clip stays within MAX_CLIP_SECONDS; any other starts a new one.
   */
  trigger(eventAt: number, clip: ClipOptions): void {
    if (typeof eventAt !== 'number' || !Number.isFinite(eventAt) || eventAt <= 0) throw new RangeError(`eventAt must be epoch milliseconds, not ${String(eventAt)}`);
    const pre = clip.preSeconds ?? this.preSeconds;
    const post = clip.postSeconds ?? this.postSeconds;
    checkClipRange(pre, post);
    if (this.state !== 'running') throw new Error(`the recorder of ${this.opts.channelId} is not running`);
    const event: ClipEvent = { type: clip.type, at: eventAt };
    const end = eventAt + post * 1000;
    const open = this.pending.find((p) => !p.closed && eventAt >= p.start && eventAt <= p.end && Math.max(p.end, end) - p.start <= MAX_CLIP_SECONDS * 1000);
    if (open) {
      open.events.push(event);
      open.events.sort((a, b) => a.at - b.at);
      open.end = Math.max(open.end, end);
      this.schedule(open);
      return;
    }
    const p: PendingClip = { clipId: randomUUID(), events: [event], start: eventAt - pre * 1000, end, closed: false, timer: null, held: new Set() };
    this.pending.push(p);
    this.hold(p);
    this.schedule(p);
  }

  /**
   * Stops ffmpeg (`q`), writes the clips still open with what the ring has, and removes the ring folder unless
   * `keepRing`.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.clearTimers();
    const f = this.ffmpeg;
    this.ffmpeg = null;
    if (f) {
      // The last segment's line comes as ffmpeg closes it.
      f.on('data', (d) => this.onList(d, f));
      await f.stop();
    }
    for (const p of [...this.pending]) if (!p.closed) this.finish(p);
    while (this.writing.size > 0) await Promise.all([...this.writing]);
    if (!this.opts.keepRing) await rm(this.opts.ringDir, { recursive: true, force: true });
    this.state = 'stopped';
  }

  private clearTimers(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.watchdog = null;
    this.retryTimer = null;
    for (const p of this.pending) if (p.timer) clearTimeout(p.timer);
  }

  private spawn(): void {
    this.run += 1;
    this.lineRest = '';
    const run = this.run;
    const f = new FfmpegProcess(
      segmenterArgs({ url: this.opts.url, audio: this.opts.description.audio, dir: this.opts.ringDir, run, segmentSeconds: this.opts.segmentSeconds ?? 1 }),
      this.opts.ffmpegPath,
    );
    this.ffmpeg = f;
    this.arm(FIRST_SEGMENT_MS);
    f.on('data', (d) => {
      if (this.ffmpeg === f) this.onList(d, f);
    });
    f.on('exit', (code, stderr) => {
      if (this.ffmpeg !== f) return;
      this.ffmpeg = null;
      void this.onExit(run, code, stderr);
    });
  }

  private onList(chunk: Buffer, f: FfmpegProcess): void {
    const text = this.lineRest + chunk.toString('utf8');
    const lines = text.split('\n');
    this.lineRest = lines.pop() ?? '';
    for (const line of lines) {
      const entry = parseSegmentLine(line);
      if (!entry) continue;
      const segment = this.ring.add({ file: path.join(this.opts.ringDir, path.basename(entry.name)), run: this.run, streamStart: entry.start, streamEnd: entry.end }, this.now());
      this.backoffMs = BACKOFF_FIRST_MS;
      if (this.ffmpeg === f) this.arm(STALL_MS);
      this.emit('segment', segment);
      for (const p of this.pending) {
        if (p.closed) continue;
        this.hold(p);
        if (segment.endAt >= p.end) this.finish(p);
      }
    }
    void this.prune();
  }

  /** No finished segment for this long: ffmpeg is killed, and restarted like any dropped stream. */
  private arm(ms: number): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    const f = this.ffmpeg;
    this.watchdog = setTimeout(() => {
      this.opts.log.warn('no segment from ffmpeg: stream taken for dropped', { channelId: this.opts.channelId, ms });
      f?.kill();
    }, ms);
  }

  private async onExit(run: number, code: number | null, stderr: string): Promise<void> {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    if (this.state !== 'running') return;
    const retryInMs = this.backoffMs;
    this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    this.opts.log.warn('clip stream dropped, restarting', { channelId: this.opts.channelId, code, stderr: stderr.slice(-300), inMs: retryInMs });
    this.emit('dropped', { code, stderr, retryInMs });
    await this.removeUnlisted(run);
    if (this.state !== 'running') return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state === 'running') this.spawn();
    }, retryInMs);
  }

  /** The segment a run was writing when it died is in no list: its file goes. */
  private async removeUnlisted(run: number): Promise<void> {
    const listed = new Set(this.ring.all.map((s) => path.basename(s.file)));
    const files = await readdir(this.opts.ringDir).catch(() => [] as string[]);
    await Promise.all(files.filter((f) => f.startsWith(runPrefix(run)) && !listed.has(f)).map((f) => rm(path.join(this.opts.ringDir, f), { force: true })));
  }

  private async prune(): Promise<void> {
    const held = new Set<string>();
    for (const p of this.pending) for (const f of p.held) held.add(f);
    const gone = this.ring.prune(this.now() - this.keepSeconds * 1000, held);
    await Promise.all(gone.map((s) => rm(s.file, { force: true })));
  }

  /** Keeps the ring's segments of a clip's range on disk until it is written. */
  private hold(p: PendingClip): void {
    for (const s of this.ring.covering(p.start, p.end)) p.held.add(s.file);
  }

  /** Writes the clip once its end has a segment, or after SETTLE_MS past its end with what exists. */
  private schedule(p: PendingClip): void {
    if (p.timer) clearTimeout(p.timer);
    const newest = this.ring.newestAt;
    if (newest !== null && newest >= p.end) return this.finish(p);
    p.timer = setTimeout(() => this.finish(p), Math.max(0, p.end + SETTLE_MS - this.now()));
  }

  private finish(p: PendingClip): void {
    if (p.closed) return;
    p.closed = true;
    if (p.timer) clearTimeout(p.timer);
    const job = this.write(p).finally(() => {
      this.writing.delete(job);
      this.pending.splice(this.pending.indexOf(p), 1);
      void this.prune();
    });
    this.writing.add(job);
  }

  private async write(p: PendingClip): Promise<void> {
    const base = { clipId: p.clipId, channelId: this.opts.channelId, events: p.events.map((e) => ({ ...e })), requestedStart: p.start, requestedEnd: p.end };
    const segments = this.ring.covering(p.start, p.end);
    if (segments.length === 0) {
      this.emit('clipFailed', { ...base, reason: 'no footage of the range: the stream was down the whole time (or the ring no longer holds it)' });
      return;
    }
    try {
      const name = await this.nameFor(segments[0]!.startAt);
      const record = await assembleClip({
        ...base,
        segments,
        hevc: this.opts.description.video === 'h265',
        clipsDir: this.opts.clipsDir,
        name,
        ...(this.opts.ffmpegPath ? { ffmpegPath: this.opts.ffmpegPath } : {}),
      });
      const dir = this.opts.clipsDir;
      this.emit('clip', record, { video: path.join(dir, record.video), thumbnail: path.join(dir, record.thumbnail), sidecar: path.join(dir, `${name}.json`) });
    } catch (err) {
      this.emit('clipFailed', { ...base, reason: err instanceof Error ? err.message : String(err) });
    }
  }

  /** `<channel>-<UTC start>`, with a counter when a clip of that name exists. */
  private async nameFor(startAt: number): Promise<string> {
    const channel = this.opts.channelId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
    const stamp = new Date(startAt).toISOString().replace(/[-:]/g, '').replace('.', '');
    for (let n = 1; ; n++) {
      const name = n === 1 ? `${channel}-${stamp}` : `${channel}-${stamp}-${n}`;
      if (this.names.has(name)) continue;
      // Taken before the check on disk: clips written side by side never get the same name.
      this.names.add(name);
      const taken = await access(path.join(this.opts.clipsDir, `${name}.json`)).then(
        () => true,
        () => false,
      );
      if (!taken) return name;
    }
  }
}

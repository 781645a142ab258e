import { EventEmitter } from 'node:events';
import { MediaRefusal, type MediaFormat, type MediaStart } from '@vigil/protocol';
import type { Logger } from '../log.js';
import { MediaError } from './errors.js';
import { FfmpegProcess, pipelineArgs } from './ffmpeg.js';
import { Fmp4Splitter, readInitSegment } from './fmp4.js';
import type { StreamDescription } from './sdp.js';

/** Where a pipeline's output goes: one session's ingest. */
export interface PipelineSink {
  start(start: MediaStart): void;
  data(chunk: Buffer): void;
  stalled(): void;
  /** A playback or clip reached its end. */
  end(): void;
  fail(err: MediaError): void;
  /** Bytes sent but not yet out on the network. */
  readonly backlog: number;
}

export type PipelineMode = 'live' | 'playback' | 'clip';

export interface PipelineOptions {
  /** The RTSP URL with the account in it. */
  url: string;
  mode: PipelineMode;
  description: StreamDescription;
  startsAt?: string;
  ffmpegPath?: string;
  log: Logger;
}

/** No output for this long: the stream has dropped (a fragment comes with every key frame). */
const STALL_MS = 5_000;
/** The first bytes take longer: RTSP setup, then the first key frame. */
const FIRST_BYTES_MS = 20_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 8_000;
const TS_PACKET = 188;
/** A recording is read no faster than its viewer takes it: ffmpeg waits above the high mark until the low one. */
const BACKLOG_HIGH_BYTES = 4 * 1024 * 1024;
const BACKLOG_LOW_BYTES = 1024 * 1024;
const BACKLOG_POLL_MS = 100;

/** fmp4 for H.264 (copied), mpegts with MPEG-1 for what browsers cannot decode. */
export const formatFor = (d: StreamDescription): MediaFormat => (d.video === 'h264' ? 'fmp4' : 'mpegts');

/** What `start` says before the output has shown the real profile and size. */
export function expectedStart(d: StreamDescription, startsAt?: string): MediaStart {
  const format = formatFor(d);
  const aac = format === 'fmp4' && (d.audio === 'aac' || d.audio === 'pcmu' || d.audio === 'pcma');
  const mime = format === 'fmp4' ? `video/mp4; codecs="${d.avc1 ?? 'avc1.42E01E'}${aac ? ',mp4a.40.2' : ''}"` : 'video/mp2t';
  return {
    format,
    mime,
    sourceCodec: d.video ?? 'h264',
    transcoded: format === 'mpegts',
    audio: aac ? 'aac' : 'none',
    width: d.width,
    height: d.height,
    ...(startsAt ? { startsAt } : {}),
  };
}

interface Member {
  sink: PipelineSink;
  /** The ingest is connected: the member takes output. */
  active: boolean;
}

/**
 * One ffmpeg pulling one stream, feeding every session that watches it. Live pipelines restart a dropped stream
 * with backoff (the sessions get `stalled`, then a new `start` and init segment); playback and clip pipelines
 * end with their recording. The pipeline stops once its last member leaves.
 */
export class MediaPipeline extends EventEmitter<{ closed: [] }> {
  readonly format: MediaFormat;
  private readonly members = new Set<Member>();
  private ffmpeg: FfmpegProcess | null = null;
  private splitter = new Fmp4Splitter();
  private init: Buffer | null = null;
  private startMessage: MediaStart | null = null;
  private tsRest: Buffer = Buffer.alloc(0);
  private watchdog: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  private backoffMs = BACKOFF_FIRST_MS;
  private gotBytes = false;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: PipelineOptions) {
    super();
    this.format = opts.mode === 'live' ? formatFor(opts.description) : 'fmp4';
    if (opts.mode !== 'live' && opts.description.video !== 'h264') {
      throw new MediaError(MediaRefusal.streamUnavailable, 'recordings are played back as H.264 only');
    }
    this.spawn();
  }

  /** The `start` sessions get: the real one once the output showed it, the expected one before. */
  get start(): MediaStart {
    return this.startMessage ?? expectedStart(this.opts.description, this.opts.startsAt);
  }

  get pid(): number {
    return this.ffmpeg?.running ? this.ffmpeg.pid : 0;
  }

  get size(): number {
    return this.members.size;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** Joins a session; it takes output once `activate` is called (its ingest is connected). */
  join(sink: PipelineSink): void {
    this.members.add({ sink, active: false });
  }

  /** The session's ingest is up: it gets the current `start` and init segment, then the next fragments. */
  activate(sink: PipelineSink): void {
    const m = [...this.members].find((x) => x.sink === sink);
    if (!m || m.active) return;
    m.active = true;
    if (this.startMessage && (this.format === 'mpegts' || this.init)) {
      sink.start(this.startMessage);
      if (this.init) sink.data(this.init);
    }
  }

  /** Removes a session; the last one leaving stops ffmpeg. */
  leave(sink: PipelineSink): void {
    for (const m of this.members) if (m.sink === sink) this.members.delete(m);
    if (this.members.size === 0) void this.close();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.clearTimers();
      const f = this.ffmpeg;
      this.ffmpeg = null;
      await f?.stop();
      this.emit('closed');
    })();
    return this.closing;
  }

  /** Kills ffmpeg at once (the worker is going away). */
  kill(): void {
    this.clearTimers();
    this.ffmpeg?.kill();
    this.closing ??= Promise.resolve();
  }

  private clearTimers(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.drainTimer) clearInterval(this.drainTimer);
    this.watchdog = null;
    this.retryTimer = null;
    this.drainTimer = null;
  }

  private spawn(): void {
    this.splitter = new Fmp4Splitter();
    this.init = null;
    this.startMessage = null;
    this.tsRest = Buffer.alloc(0);
    this.gotBytes = false;
    const f = new FfmpegProcess(pipelineArgs({ url: this.opts.url, format: this.format, audio: this.opts.description.audio }), this.opts.ffmpegPath);
    this.ffmpeg = f;
    this.arm(FIRST_BYTES_MS);
    f.on('data', (chunk) => {
      if (this.ffmpeg !== f) return;
      this.gotBytes = true;
      this.arm(STALL_MS);
      try {
        this.onOutput(chunk);
      } catch (err) {
        this.opts.log.error('unreadable ffmpeg output', { err });
        f.kill();
      }
      if (this.opts.mode !== 'live') this.holdBack(f);
    });
    f.on('exit', (code, stderr) => {
      if (this.ffmpeg !== f) return;
      this.ffmpeg = null;
      this.onExit(code, stderr);
    });
  }

  /** Pauses a recording's ffmpeg while its viewer lags (a download taken slowly is not a dropped stream). */
  private holdBack(f: FfmpegProcess): void {
    const backlog = (): number => Math.max(0, ...this.active().map((s) => s.backlog));
    if (this.drainTimer || backlog() < BACKLOG_HIGH_BYTES) return;
    f.pause();
    if (this.watchdog) clearTimeout(this.watchdog);
    this.drainTimer = setInterval(() => {
      if (backlog() > BACKLOG_LOW_BYTES && this.ffmpeg === f) return;
      if (this.drainTimer) clearInterval(this.drainTimer);
      this.drainTimer = null;
      if (this.ffmpeg !== f) return;
      this.arm(STALL_MS);
      f.resume();
    }, BACKLOG_POLL_MS);
  }

  /** No bytes for this long: the stream is taken for dropped. */
  private arm(ms: number): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    const f = this.ffmpeg;
    this.watchdog = setTimeout(() => {
      this.opts.log.warn('no bytes from ffmpeg: stream taken for dropped', { ms });
      f?.kill();
    }, ms);
  }

  private active(): PipelineSink[] {
    return [...this.members].filter((m) => m.active).map((m) => m.sink);
  }

  private onOutput(chunk: Buffer): void {
    if (this.format === 'mpegts') return this.onTs(chunk);
    for (const piece of this.splitter.push(chunk)) {
      if (piece.kind === 'init') {
        this.init = piece.data;
        const info = readInitSegment(piece.data);
        const expected = expectedStart(this.opts.description, this.opts.startsAt);
        const avc1 = info.video?.avc1 ?? this.opts.description.avc1 ?? 'avc1.42E01E';
        this.startMessage = {
          ...expected,
          mime: `video/mp4; codecs="${avc1}${info.aac ? ',mp4a.40.2' : ''}"`,
          audio: info.aac ? 'aac' : 'none',
          width: info.video?.width ?? expected.width,
          height: info.video?.height ?? expected.height,
        };
        for (const s of this.active()) {
          s.start(this.startMessage);
          s.data(piece.data);
        }
      } else {
        this.backoffMs = BACKOFF_FIRST_MS;
        for (const s of this.active()) s.data(piece.data);
      }
    }
  }

  /** MPEG-TS goes out in whole 188-byte packets; `start` waits for the first MPEG-1 sequence header (the size). */
  private onTs(chunk: Buffer): void {
    const all = this.tsRest.length > 0 ? Buffer.concat([this.tsRest, chunk]) : chunk;
    const whole = all.length - (all.length % TS_PACKET);
    this.tsRest = all.subarray(whole);
    const out = all.subarray(0, whole);
    if (out.length === 0) return;
    if (!this.startMessage) {
      const at = out.indexOf(Buffer.from([0, 0, 1, 0xb3]));
      if (at < 0 || at + 7 > out.length) return;
      const b4 = out[at + 4] ?? 0;
      const b5 = out[at + 5] ?? 0;
      const b6 = out[at + 6] ?? 0;
      this.startMessage = { ...expectedStart(this.opts.description), width: (b4 << 4) | (b5 >> 4), height: ((b5 & 0x0f) << 8) | b6 };
      for (const s of this.active()) s.start(this.startMessage);
    }
    this.backoffMs = BACKOFF_FIRST_MS;
    for (const s of this.active()) s.data(out);
  }

  private onExit(code: number | null, stderr: string): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.closing) return;
    if (this.opts.mode !== 'live') {
      const sinks = this.active();
      if (code === 0 && this.gotBytes) for (const s of sinks) s.end();
      else for (const s of sinks) s.fail(new MediaError(MediaRefusal.streamUnavailable, `the recording stopped: ${stderr.slice(-200) || `ffmpeg exited with ${code ?? 'a signal'}`}`));
      void this.close();
      return;
    }
    this.opts.log.warn('stream dropped, restarting', { code, stderr: stderr.slice(-300), inMs: this.backoffMs });
    for (const s of this.active()) s.stalled();
    const delay = this.backoffMs;
    this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closing) this.spawn();
    }, delay);
  }
}

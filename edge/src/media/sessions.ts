import WebSocket from 'ws';
import {
  MediaRefusal,
  type IngestMessage,
  type MediaOpenParams,
  type MediaOpenResult,
  type MediaStart,
} from '@vigil/protocol';
import type { Logger } from '../log.js';
import type { VideoDevice } from './devices.js';
import { MediaError, refusal } from './errors.js';
import { withAccount } from './ffmpeg.js';
import { formatFor, MediaPipeline, type PipelineSink } from './pipeline.js';
import { probeRtsp } from './rtsp-probe.js';

/** How long the ingest may take to connect before the session is given up. */
const INGEST_CONNECT_MS = 10_000;
/** A live viewer this far behind is cut off rather than letting the box's memory grow. */
const MAX_INGEST_BUFFER_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_PIPELINES = 32;

export interface MediaSessionsOptions {
  log: Logger;
  /** ffmpeg processes the box runs at most. */
  maxPipelines?: number;
  ffmpegPath?: string;
}

/** One cloud session: its ingest socket and the pipeline feeding it. */
class Session implements PipelineSink {
  private ws: WebSocket | null = null;
  private ended = false;

  constructor(
    readonly id: string,
    readonly pipeline: MediaPipeline,
    /** A live viewer that lags is cut off; a recording waits for its viewer instead. */
    private readonly live: boolean,
    private readonly log: Logger,
    private readonly onEnd: (s: Session) => void,
  ) {}

  connect(url: string, token: string): void {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, handshakeTimeout: INGEST_CONNECT_MS });
    this.ws = ws;
    const timer = setTimeout(() => this.finish('the ingest did not connect in time'), INGEST_CONNECT_MS);
    ws.on('open', () => {
      clearTimeout(timer);
      if (this.ended) return;
      this.pipeline.activate(this);
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      this.finish(`ingest: ${err.message}`);
    });
    ws.on('close', () => {
      clearTimeout(timer);
      this.finish('the ingest closed');
    });
    // The cloud sends nothing the box acts on; anything it sends is ignored.
  }

  private send(data: Buffer | string): void {
    const ws = this.ws;
    if (this.ended || !ws || ws.readyState !== WebSocket.OPEN) return;
    if (this.live && ws.bufferedAmount > MAX_INGEST_BUFFER_BYTES) {
      const message = 'the ingest does not keep up with the stream';
      ws.send(JSON.stringify({ type: 'error', code: MediaRefusal.failed, message } satisfies IngestMessage));
      this.finish(message);
      return;
    }
    ws.send(data);
  }

  get backlog(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  private message(m: IngestMessage): void {
    this.send(JSON.stringify(m));
  }

  start(start: MediaStart): void {
    this.message({ type: 'start', ...start });
  }

  data(chunk: Buffer): void {
    this.send(chunk);
  }

  stalled(): void {
    this.message({ type: 'stalled' });
  }

  end(): void {
    this.message({ type: 'end' });
    this.finish('the recording ended');
  }

  fail(err: MediaError): void {
    if (this.ended) return;
    this.message({ type: 'error', code: err.code, message: err.message.slice(0, 512) });
    this.finish(err.message);
  }

  /** Ends the session: closes the ingest and leaves the pipeline. */
  finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.log.info('media session ended', { sessionId: this.id, reason });
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.close(1000, reason.slice(0, 100));
    else ws?.terminate();
    this.pipeline.leave(this);
    this.onEnd(this);
  }
}

/**
 * The media worker's sessions: `open` checks the source (RTSP DESCRIBE) and answers at once, then connects the
 * session's ingest and feeds it. Live sessions of the same device, stream and format share one pipeline;
 * playback and clips get their own.
 */
export class MediaSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly live = new Map<string, MediaPipeline>();
  private readonly pipelines = new Set<MediaPipeline>();
  private readonly maxPipelines: number;

  constructor(private readonly opts: MediaSessionsOptions) {
    this.maxPipelines = opts.maxPipelines ?? DEFAULT_MAX_PIPELINES;
  }

  /** The pids of the running ffmpeg processes. */
  get ffmpegPids(): number[] {
    return [...this.pipelines].map((p) => p.pid).filter((pid) => pid > 0);
  }

  get count(): number {
    return this.sessions.size;
  }

  async open(params: MediaOpenParams, device: VideoDevice): Promise<MediaOpenResult> {
    if (this.sessions.has(params.sessionId)) return refusal(new MediaError(MediaRefusal.failed, `session ${params.sessionId} is already open`));
    try {
      const url = await device.streamUrl(params.stream, params.mode, params.verificationCode);
      const recording = params.mode.kind !== 'live';
      const description = await probeRtsp(url, { ...device.account, recording });
      // Checked again after the awaits: another open may have started the same stream meanwhile.
      if (this.sessions.has(params.sessionId)) return refusal(new MediaError(MediaRefusal.failed, `session ${params.sessionId} is already open`));
      const liveKey = `${device.key}|${params.stream}|${formatFor(description)}`;
      let pipeline = recording ? undefined : this.live.get(liveKey);
      const shared = pipeline !== undefined && !pipeline.closed;
      if (!pipeline || pipeline.closed) {
        if (this.pipelines.size >= this.maxPipelines) throw new MediaError(MediaRefusal.busy, `the box already runs ${this.maxPipelines} streams`);
        const startsAt = recording ? new Date(Date.parse((params.mode as { from: string }).from)).toISOString() : undefined;
        const created = new MediaPipeline({
          url: withAccount(url, device.account.username, device.account.password),
          mode: params.mode.kind,
          description,
          ...(startsAt ? { startsAt } : {}),
          ...(this.opts.ffmpegPath ? { ffmpegPath: this.opts.ffmpegPath } : {}),
          log: this.opts.log.child({ stream: liveKey.split('|').slice(1).join('|'), mode: params.mode.kind }),
        });
        pipeline = created;
        this.pipelines.add(created);
        created.once('closed', () => {
          this.pipelines.delete(created);
          if (this.live.get(liveKey) === created) this.live.delete(liveKey);
        });
        if (!recording) this.live.set(liveKey, created);
      }
      const session = new Session(params.sessionId, pipeline, !recording, this.opts.log, (s) => {
        if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
      });
      this.sessions.set(params.sessionId, session);
      pipeline.join(session);
      session.connect(params.ingest.url, params.ingest.token);
      this.opts.log.info('media session opened', { sessionId: params.sessionId, mode: params.mode.kind, shared, format: pipeline.format });
      return { ok: true, start: pipeline.start, shared };
    } catch (err) {
      if (!(err instanceof MediaError)) this.opts.log.error('media.open failed', { sessionId: params.sessionId, err });
      return refusal(err);
    }
  }

  close(sessionId: string): boolean {
    const s = this.sessions.get(sessionId);
    if (!s) return false;
    s.finish('closed by the cloud');
    return true;
  }

  /** Ends every session and waits for ffmpeg to tear its RTSP sessions down. */
  async closeAll(): Promise<void> {
    const pipelines = [...this.pipelines];
    for (const s of [...this.sessions.values()]) s.finish('the media worker is stopping');
    await Promise.all(pipelines.map((p) => p.close()));
  }

  /** Kills every ffmpeg at once (the process is exiting). */
  killAll(): void {
    for (const p of this.pipelines) p.kill();
  }
}

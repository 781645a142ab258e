import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { PassThrough } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { IngestMessage, MediaRefusal, MediaStart } from '@vigil/protocol';

/** Over this much unsent data a player is too slow: it skips fragments until it has caught up. */
export const PLAYER_BUFFER_LIMIT = 4 * 1024 * 1024;

/** Why a stream ended, as its players are told. */
export interface StreamEnd {
  ok: boolean;
  message: string;
  /** The box's reason when it reported a failure. */
  code?: MediaRefusal;
}

/** Where a stream's messages go: a player's socket or a clip download. */
export interface StreamSink {
  text(message: string): void;
  /** `init` is an fMP4 init segment; a `fragment` starts at a key frame (or is an MPEG-TS chunk, or clip bytes). */
  binary(data: Buffer, kind: 'init' | 'fragment'): void;
  end(why: StreamEnd): void;
}

/** A close reason is at most 123 bytes. */
const closeReason = (message: string) => Buffer.from(message).subarray(0, 120).toString();

const digest = (s: string) => createHash('sha256').update(s).digest();
/** Compares secrets without telling by the time taken how much of them matched. */
export const sameSecret = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/**
 * One session of the edge box (one `media.open`, one ingest socket) and what it feeds. A sink that joins late
 * gets the last `start` message and init segment first, then (live fMP4) the latest fragment, which starts at a
 * key frame, and the fragments that follow.
 */
export class EdgeStream {
  readonly id = randomUUID();
  readonly token = randomBytes(32).toString('base64url');
  start: MediaStart | null = null;
  /** The device answers PTZ commands (the box says so when it opens the stream). */
  ptz = false;
  ended: StreamEnd | null = null;
  private ingest: WebSocket | null = null;
  private startText: string | null = null;
  private init: Buffer | null = null;
  /** The latest fMP4 fragment of a live stream: a viewer who joins starts with it rather than waiting for the next key frame. */
  private lastFragment: Buffer | null = null;
  private awaitingInit = false;
  private fmp4 = false;
  private readonly sinks = new Set<StreamSink>();

  constructor(
    readonly edgeSerial: string,
    /** Live streams of the same device, channel and stream are shared; null: this one is not. */
    readonly shareKey: string | null,
    /** The code the stream was opened with: a viewer joining it must give the same. */
    readonly verificationCode: string | null,
    /** `edgeKnows`: the box ended it or refused it, so it needs no `media.close`. */
    private readonly onEnd: (stream: EdgeStream, edgeKnows: boolean) => void,
  ) {}

  acceptsToken(token: string): boolean {
    return sameSecret(token, this.token);
  }

  get hasIngest(): boolean {
    return this.ingest !== null;
  }

  attachIngest(ws: WebSocket): void {
    this.ingest = ws;
    let failure: StreamEnd | null = null;
    let reachedEnd = false;
    ws.on('message', (data, isBinary) => {
      if (this.ended) return;
      if (isBinary) {
        const bytes = toBuffer(data);
        const kind = this.awaitingInit ? 'init' : 'fragment';
        if (this.awaitingInit) {
          this.init = bytes;
          this.awaitingInit = false;
        } else if (this.fmp4 && this.shareKey !== null) {
          this.lastFragment = bytes;
        }
        for (const sink of this.sinks) sink.binary(bytes, kind);
        return;
      }
      const text = toBuffer(data).toString('utf8');
      let message: IngestMessage;
      try {
        message = JSON.parse(text) as IngestMessage;
      } catch {
        return; // not ours to forward
      }
      if (message.type === 'start') {
        // A (re)start: a new init segment follows for fMP4, and players reset.
        this.startText = text;
        this.init = null;
        this.lastFragment = null;
        this.fmp4 = message.format === 'fmp4';
        this.awaitingInit = this.fmp4;
      } else if (message.type === 'error') {
        failure = { ok: false, code: message.code, message: message.message };
      } else if (message.type === 'end') {
        reachedEnd = true;
      }
      for (const sink of this.sinks) sink.text(text);
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.ingest = null;
      this.finish(failure ?? (reachedEnd ? { ok: true, message: 'The recording ended.' } : { ok: false, message: 'The edge box closed the stream.' }), true);
    });
  }

  addSink(sink: StreamSink): void {
    if (this.ended) {
      sink.end(this.ended);
      return;
    }
    this.sinks.add(sink);
    if (this.startText) sink.text(this.startText);
    if (this.init) sink.binary(this.init, 'init');
    if (this.init && this.lastFragment) sink.binary(this.lastFragment, 'fragment');
  }

  removeSink(sink: StreamSink): void {
    this.sinks.delete(sink);
  }

  /** Holds the edge back while a download cannot keep up. */
  pause(): void {
    this.ingest?.pause();
  }

  resume(): void {
    this.ingest?.resume();
  }

  /** Ends the stream from the cloud's side (its last viewer left, or it failed to start). */
  close(why: StreamEnd, tellEdge = true): void {
    this.finish(why, !tellEdge);
  }

  private finish(why: StreamEnd, edgeKnows: boolean): void {
    if (this.ended) return;
    this.ended = why;
    if (this.ingest) {
      this.ingest.close(1000, closeReason(why.message));
      this.ingest = null;
    }
    for (const sink of this.sinks) sink.end(why);
    this.sinks.clear();
    this.onEnd(this, edgeKnows);
  }
}

/** A player's WebSocket: fed as the edge sends, but a slow player skips whole fragments rather than piling them up. */
export class PlayerSink implements StreamSink {
  constructor(private readonly ws: WebSocket) {}

  text(message: string): void {
    this.ws.send(message);
  }

  binary(data: Buffer, kind: 'init' | 'fragment'): void {
    // Each fragment starts at a key frame, so the player resumes cleanly at whichever one it gets next.
    if (kind === 'fragment' && this.ws.bufferedAmount > PLAYER_BUFFER_LIMIT) return;
    this.ws.send(data);
  }

  end(why: StreamEnd): void {
    this.ws.close(why.ok ? 1000 : 1011, closeReason(why.message));
  }
}

/** A clip download: the edge's bytes into the HTTP response, the edge held back while the client is slow. */
export class ClipSink implements StreamSink {
  private bytes = 0;
  private readonly started: Promise<void>;
  private resolveStarted!: () => void;
  private rejectStarted!: (why: StreamEnd) => void;

  constructor(
    private readonly out: PassThrough,
    private readonly stream: EdgeStream,
  ) {
    this.started = new Promise((resolve, reject) => {
      this.resolveStarted = resolve;
      this.rejectStarted = reject;
    });
    this.started.catch(() => undefined);
    out.on('drain', () => stream.resume());
  }

  /** Resolves with the first bytes; rejects when the stream ends before any. */
  firstBytes(): Promise<void> {
    return this.started;
  }

  text(): void {}

  binary(data: Buffer): void {
    this.bytes += data.length;
    if (!this.out.write(data)) this.stream.pause();
    this.resolveStarted();
  }

  end(why: StreamEnd): void {
    if (this.bytes === 0) this.rejectStarted(why);
    if (why.ok) this.out.end();
    else this.out.destroy(new Error(why.message));
  }
}

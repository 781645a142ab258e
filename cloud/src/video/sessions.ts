import { randomBytes, randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocketServer } from 'ws';
import { MediaRefusal, RpcMethod, type MediaMode, type MediaSource, type MediaStart, type MediaStreamName } from '@vigil/protocol';
import { ErrorCode, LIVE_VIEW_WINDOW_LIMIT, PLAYBACK_WINDOW_LIMIT, VideoErrorCode } from '@vigil/protocol/api';
import { resolveSession, SESSION_COOKIE } from '../auth/sessions.js';
import type { Db } from '../db/client.js';
import type { Tunnel } from '../edges/tunnel.js';
import { AppError } from '../http/errors.js';
import { EdgeStream, PlayerSink, sameSecret, type StreamSink } from './relay.js';

const API = '/api/v1/video';
const PLAYER_PATH = /^\/api\/v1\/video\/sessions\/([0-9a-f-]{36})\/stream$/;
const INGEST_PATH = /^\/api\/v1\/video\/ingest\/([0-9a-f-]{36})$/;
/** An fMP4 fragment of a few seconds of 1080p fits with room to spare. */
const INGEST_MAX_PAYLOAD = 8 * 1024 * 1024;
/** How long the edge box has to connect its ingest after accepting a session. */
const INGEST_WAIT_MS = 30_000;

/** A clip download counts as a playback window while it runs. */
export type WindowMode = 'live' | 'playback' | 'clip';

/** One viewer's window: from its POST until its player leaves (or never came, or it was closed). */
export interface VideoWindow {
  id: string;
  accountId: string;
  mode: WindowMode;
  deviceId: string;
  deviceName: string;
  channel: number | null;
  stream: MediaStreamName;
  openedAt: Date;
  /** Null while the edge box is being asked. */
  edge: EdgeStream | null;
  start: MediaStart | null;
  ticket: string | null;
  connectTimer: NodeJS.Timeout | null;
  sink: StreamSink | null;
  closed: boolean;
}

/** What to ask the edge box for. */
export interface EdgeRequest {
  edgeSerial: string;
  source: MediaSource;
  stream: MediaStreamName;
  mode: MediaMode;
  verificationCode: string | null;
  /** Live windows with the same key share one edge session. */
  shareKey: string | null;
}

/** An edge box's refusal of `media.open`, kept as the box worded it. */
export class EdgeRefusal extends Error {
  constructor(
    readonly code: MediaRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** An upgrade answered with an error reply, as the API words its refusals. */
function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ statusCode: status, code, message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

/**
 * The open video windows of every viewer, the edge sessions behind them, and the two WebSockets: the players'
 * (one-use ticket) and the edge boxes' ingest (bearer token of `media.open`). Windows are counted per viewer
 * against the manual's limits; live windows of the same stream share one edge session, which ends with its
 * last window.
 */
export class VideoSessions {
  private readonly windows = new Map<string, VideoWindow>();
  private readonly streams = new Map<string, EdgeStream>();
  private readonly shared = new Map<string, { stream: EdgeStream; opened: Promise<void> }>();
  private readonly players = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly ingests = new WebSocketServer({ noServer: true, maxPayload: INGEST_MAX_PAYLOAD });
  private ingestBase: string | null = null;

  constructor(
    private readonly deps: { db: Db; tunnel: Tunnel; log: FastifyBaseLogger; rpcTimeoutMs: number; connectTimeoutMs: number },
  ) {}

  /** The cloud's public address, which the edge boxes connect their ingest to. */
  listening(publicUrl: string): void {
    this.ingestBase = `${publicUrl.replace(/^http/, 'ws').replace(/\/$/, '')}${API}/ingest`;
  }

  /** Takes one of the viewer's window slots, or refuses with the manual's limit. */
  reserve(accountId: string, fields: Pick<VideoWindow, 'mode' | 'deviceId' | 'deviceName' | 'channel' | 'stream'>): VideoWindow {
    const live = fields.mode === 'live';
    const open = this.of(accountId).filter((w) => (w.mode === 'live') === live).length;
    if (live && open >= LIVE_VIEW_WINDOW_LIMIT) {
      throw new AppError(429, VideoErrorCode.liveViewLimit, `Up to ${LIVE_VIEW_WINDOW_LIMIT} live view windows can be open at once: close one first.`);
    }
    if (!live && open >= PLAYBACK_WINDOW_LIMIT) {
      throw new AppError(429, VideoErrorCode.playbackLimit, `Up to ${PLAYBACK_WINDOW_LIMIT} playback windows can be open at once: close one first.`);
    }
    const window: VideoWindow = { id: randomUUID(), accountId, ...fields, openedAt: new Date(), edge: null, start: null, ticket: null, connectTimer: null, sink: null, closed: false };
    this.windows.set(window.id, window);
    return window;
  }

  /** The viewer's windows, oldest first. */
  of(accountId: string): VideoWindow[] {
    return [...this.windows.values()].filter((w) => w.accountId === accountId);
  }

  /** Every open window on the device, whoever watches. */
  onDevice(deviceId: string): VideoWindow[] {
    return [...this.windows.values()].filter((w) => w.deviceId === deviceId);
  }

  get(accountId: string, windowId: string): VideoWindow | null {
    const w = this.windows.get(windowId);
    return w && w.accountId === accountId ? w : null;
  }

  /**
   * Puts the window on an edge session: the open one of the same live stream, or a new one the edge box accepts.
   * Returns the player's one-use ticket. Frees the window when it fails.
   */
  async attach(window: VideoWindow, request: EdgeRequest): Promise<string> {
    try {
      const stream = await this.streamFor(request);
      window.edge = stream;
      if (window.closed) {
        this.releaseIfUnwatched(stream);
        throw new AppError(404, VideoErrorCode.sessionNotFound, 'The video window was closed while it opened.');
      }
      window.start = stream.start;
      window.ticket = randomBytes(24).toString('base64url');
      window.connectTimer = setTimeout(() => this.close(window, 'The player did not connect in time.'), this.deps.connectTimeoutMs);
      return window.ticket;
    } catch (err) {
      this.close(window, 'The video did not open.');
      throw err;
    }
  }

  /** Puts a clip window on its own edge session, feeding `sink` (which is attached before the edge box may connect). */
  async attachClip(window: VideoWindow, request: EdgeRequest, makeSink: (stream: EdgeStream) => StreamSink): Promise<void> {
    const stream = this.newStream(request);
    window.sink = makeSink(stream);
    window.edge = stream;
    stream.addSink(window.sink);
    try {
      await this.open(stream, request);
      window.start = stream.start;
    } catch (err) {
      this.close(window, 'The clip did not open.');
      throw err;
    }
  }

  private async streamFor(request: EdgeRequest): Promise<EdgeStream> {
    const key = request.shareKey;
    while (key) {
      const entry = this.shared.get(key);
      if (!entry) break;
      const opened = await entry.opened.then(
        () => true,
        () => false,
      );
      if (opened && !entry.stream.ended) {
        const code = entry.stream.verificationCode;
        if (code !== null) {
          // The device wants its code: a viewer joining must know the one the stream was opened with.
          if (request.verificationCode === null) throw new AppError(403, MediaRefusal.verificationCodeRequired, 'Image and video encryption is on for this device: enter its verification code.');
          if (!sameSecret(request.verificationCode, code)) throw new AppError(403, MediaRefusal.verificationCodeWrong, 'The verification code does not open this device’s video.');
        }
        return entry.stream;
      }
      if (this.shared.get(key) === entry) this.shared.delete(key);
    }
    const stream = this.newStream(request);
    const opened = this.open(stream, request);
    if (key) this.shared.set(key, { stream, opened });
    await opened;
    return stream;
  }

  private newStream(request: EdgeRequest): EdgeStream {
    const stream = new EdgeStream(request.edgeSerial, request.shareKey, request.verificationCode, (s, edgeKnows) => this.streamEnded(s, edgeKnows));
    this.streams.set(stream.id, stream);
    return stream;
  }

  private async open(stream: EdgeStream, request: EdgeRequest): Promise<void> {
    if (!this.ingestBase) throw new Error('the video relay does not know the cloud’s address yet');
    try {
      const result = await this.deps.tunnel.call(
        request.edgeSerial,
        RpcMethod.mediaOpen,
        {
          sessionId: stream.id,
          source: request.source,
          stream: request.stream,
          mode: request.mode,
          ...(request.verificationCode === null ? {} : { verificationCode: request.verificationCode }),
          ingest: { url: `${this.ingestBase}/${stream.id}`, token: stream.token },
        },
        this.deps.rpcTimeoutMs,
      );
      if (!result.ok) {
        stream.close({ ok: false, message: result.message }, false);
        throw new EdgeRefusal(result.code, result.message);
      }
      stream.start = result.start;
      stream.ptz = result.ptz ?? false;
    } catch (err) {
      // A box that answered late may still have opened it.
      stream.close({ ok: false, message: 'The edge box did not open the video.' });
      throw err;
    }
    const wait = setTimeout(() => {
      if (!stream.hasIngest) stream.close({ ok: false, message: 'The edge box did not start sending the video.' });
    }, INGEST_WAIT_MS);
    wait.unref();
  }

  private streamEnded(stream: EdgeStream, edgeKnows: boolean): void {
    this.streams.delete(stream.id);
    if (stream.shareKey && this.shared.get(stream.shareKey)?.stream === stream) this.shared.delete(stream.shareKey);
    for (const w of this.windows.values()) if (w.edge === stream) this.forget(w);
    if (!edgeKnows) {
      this.deps.tunnel
        .call(stream.edgeSerial, RpcMethod.mediaClose, { sessionId: stream.id }, this.deps.rpcTimeoutMs)
        .catch((err: unknown) => this.deps.log.debug({ err, sessionId: stream.id }, 'media.close not delivered'));
    }
  }

  /** Closes a window; its edge session ends with its last window. */
  close(window: VideoWindow, message: string): void {
    if (window.closed) return;
    this.forget(window);
    if (window.sink) {
      window.edge?.removeSink(window.sink);
      window.sink.end({ ok: true, message });
    }
    if (window.edge) this.releaseIfUnwatched(window.edge);
  }

  private releaseIfUnwatched(stream: EdgeStream): void {
    if (!stream.ended && ![...this.windows.values()].some((w) => w.edge === stream)) stream.close({ ok: true, message: 'No one watches any more.' });
  }

  private forget(window: VideoWindow): void {
    window.closed = true;
    window.ticket = null;
    if (window.connectTimer) clearTimeout(window.connectTimer);
    this.windows.delete(window.id);
  }

  /** Takes the upgrades of the video paths; false for any other path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://cloud');
    const player = PLAYER_PATH.exec(url.pathname);
    const ingest = INGEST_PATH.exec(url.pathname);
    if (!player && !ingest) return false;
    socket.on('error', () => socket.destroy());
    if (ingest) this.upgradeIngest(req, socket, head, ingest[1]!);
    else
      this.upgradePlayer(req, socket, head, player![1]!, url.searchParams.get('ticket') ?? '').catch((err: unknown) => {
        this.deps.log.error({ err }, 'video player upgrade failed');
        refuseUpgrade(socket, 500, ErrorCode.internal, 'Something went wrong on our side; it has been logged.');
      });
    return true;
  }

  private async upgradePlayer(req: IncomingMessage, socket: Duplex, head: Buffer, windowId: string, ticket: string): Promise<void> {
    // The ticket is enough, but a signed-in request must be the window's viewer.
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? null;
    const token = bearer ?? cookieValue(req.headers.cookie, SESSION_COOKIE);
    const caller = token ? await resolveSession(this.deps.db, token) : null;
    const window = this.windows.get(windowId);
    if (!window || window.closed || !window.edge) {
      refuseUpgrade(socket, 404, VideoErrorCode.sessionNotFound, 'No such video window is open.');
      return;
    }
    if (window.ticket === null || !sameSecret(ticket, window.ticket) || (caller && caller.accountId !== window.accountId)) {
      refuseUpgrade(socket, 403, VideoErrorCode.ticketInvalid, 'This ticket was used already or is not yours: open the window again.');
      return;
    }
    window.ticket = null;
    if (window.connectTimer) clearTimeout(window.connectTimer);
    const stream = window.edge;
    this.players.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => ws.terminate());
      ws.on('close', () => this.close(window, 'The player left.'));
      if (window.closed) {
        ws.close(1000, 'The video window was closed.');
        return;
      }
      window.sink = new PlayerSink(ws);
      stream.addSink(window.sink);
    });
  }

  private upgradeIngest(req: IncomingMessage, socket: Duplex, head: Buffer, streamId: string): void {
    const stream = this.streams.get(streamId);
    if (!stream || stream.ended) {
      refuseUpgrade(socket, 404, VideoErrorCode.sessionNotFound, 'No such video session is open.');
      return;
    }
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (!stream.acceptsToken(token)) {
      refuseUpgrade(socket, 401, ErrorCode.unauthenticated, 'The ingest token is missing or wrong.');
      return;
    }
    if (stream.hasIngest) {
      refuseUpgrade(socket, 404, VideoErrorCode.sessionNotFound, 'This video session has its ingest already.');
      return;
    }
    this.ingests.handleUpgrade(req, socket, head, (ws) => {
      if (stream.ended || stream.hasIngest) {
        ws.close(1008, 'The session ended.');
        return;
      }
      stream.attachIngest(ws);
    });
  }

  /** Ends every window and edge session (the cloud is stopping). */
  closeAll(): void {
    // Closing the ingest sockets tells the boxes; the tunnel is going away with the cloud.
    for (const stream of [...this.streams.values()]) stream.close({ ok: false, message: 'The cloud is stopping.' }, false);
    for (const w of [...this.windows.values()]) this.close(w, 'The cloud is stopping.');
    for (const ws of this.players.clients) ws.terminate();
    for (const ws of this.ingests.clients) ws.terminate();
  }
}

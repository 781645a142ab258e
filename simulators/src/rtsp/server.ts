/**
 * An RTSP 1.0 server (RFC 2326) for simulated cameras and recorders: live test streams from ffmpeg,
 * RTP over the RTSP connection (interleaved) or over UDP unicast, sessions with timeouts, Digest (and
 * optionally Basic) authentication against the device's account, and controls for tests.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { DigestServer } from '@vigil/protocol';
import { startsKeyframe } from './keyframe.js';
import { interleavedFrame, parseFrame, parseTransport, serializeResponse, type ResponseHeaders, type RtspRequest } from './message.js';
import { resolveStreamSpec, StreamSource, type PlaybackClock, type ResolvedStreamSpec, type RtspStreamSpec } from './source.js';

export interface RtspAccount {
  username: string;
  password: string;
}

/** What a dynamic path serves to one viewer: its stream and, for recordings, where the playback starts and ends. */
export interface DynamicStream {
  spec: RtspStreamSpec;
  playback?: PlaybackClock;
}

/** Decides what a DESCRIBE of a path under a dynamic prefix gets: a stream, or an RTSP status (404: nothing there). */
export type DynamicResolver = (path: string, query: URLSearchParams) => DynamicStream | { status: number; headers?: ResponseHeaders };

export interface RtspServerOptions {
  host?: string;
  port?: number;
  /**
   * The device's account; without one, nothing asks for credentials. A function is asked at each login, for a
   * device whose password changes (undefined then lets nobody in).
   */
  account?: RtspAccount | (() => RtspAccount | undefined);
  realm?: string;
  /** Also offer and accept Basic authentication (Digest is always offered). */
  basicAuth?: boolean;
  sessionTimeoutSec?: number;
  /** How long a source keeps running after its last session ends. */
  idleStopMs?: number;
  restartDelayMs?: number;
  ffmpegPath?: string;
  /** Bytes queued on one TCP client before packets for it are dropped, so it cannot stall the others. */
  maxClientBufferBytes?: number;
  /** Dynamic streams (e.g. playbacks) running at once; more are refused with 453 (default 16). */
  maxDynamicStreams?: number;
  /**
   * Sessions open at once, as a camera takes a handful of clients: a SETUP beyond them is refused with 453, so a
   * client that leaves sessions open (no TEARDOWN, connection kept) locks the next one out. Default: no limit.
   */
  maxSessions?: number;
  /**
   * Asked after authentication before DESCRIBE and before a SETUP that opens a session, with the stream's path
   * and the request URL's query (e.g. a stream that wants a key): a refusal is answered as it is.
   */
  guard?: (path: string, query: URLSearchParams) => { status: number; headers?: ResponseHeaders } | undefined;
}

export interface RtspStreamInfo {
  path: string;
  spec: ResolvedStreamSpec;
  sessions: number;
  playing: number;
  sourceRunning: boolean;
  sourcePid: number | undefined;
  sourceStarts: number;
  down: boolean;
}

export interface RtspCounters {
  requests: number;
  badRequests: number;
  authFailures: number;
  /** RTP/RTCP packets not sent to a client whose connection was backed up. */
  droppedPackets: number;
  /** Sessions a client ended with TEARDOWN (rather than by dropping the connection or letting them time out). */
  teardowns: number;
  /** SETUPs refused because the device had as many sessions as it takes. */
  sessionsRefused: number;
}

type TrackTransport = { kind: 'tcp'; channels: [number, number] } | { kind: 'udp'; address: string; ports: [number, number] };

interface Connection {
  socket: Socket;
  buffer: Buffer;
  sessions: Set<Session>;
  /** Requests are answered one after the other, in order. */
  queue: Promise<void>;
}

interface Session {
  id: string;
  stream: StreamSource;
  connection: Connection;
  tracks: Map<number, TrackTransport>;
  playing: boolean;
  timer: NodeJS.Timeout | undefined;
  unsubscribe: (() => void) | undefined;
}

const METHODS = ['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'PAUSE', 'TEARDOWN', 'GET_PARAMETER', 'SET_PARAMETER'];
const TRACK_SUFFIX = /\/trackID=(\d{1,3})$/;

export class RtspServer {
  readonly counters: RtspCounters = { requests: 0, badRequests: 0, authFailures: 0, droppedPackets: 0, teardowns: 0, sessionsRefused: 0 };
  private readonly streamsByPath = new Map<string, StreamSource>();
  private readonly dynamicResolvers = new Map<string, DynamicResolver>();
  /** Sources made for one DESCRIBE each; they go once their session ends. */
  private readonly dynamicStreams = new Set<StreamSource>();
  private readonly sessionsById = new Map<string, Session>();
  private readonly connections = new Set<Connection>();
  private readonly digest: DigestServer | undefined;
  private readonly timeoutSec: number;
  private readonly maxBuffer: number;
  private server: Server | undefined;
  private udpRtp: UdpSocket | undefined;
  private udpRtcp: UdpSocket | undefined;
  private listenPort = 0;

  constructor(private readonly opts: RtspServerOptions = {}) {
    this.digest =
      opts.account &&
      new DigestServer({
        realm: opts.realm ?? 'Vigil RTSP',
        users: (u) => {
          const account = this.currentAccount();
          return account && u === account.username ? account.password : undefined;
        },
      });
    this.timeoutSec = opts.sessionTimeoutSec ?? 60;
    this.maxBuffer = opts.maxClientBufferBytes ?? 1024 * 1024;
  }

  get port(): number {
    return this.listenPort;
  }

  /** Sessions open now, on every stream. */
  get sessionCount(): number {
    return this.sessionsById.size;
  }

  /** Adds a stream at `path` (e.g. `/Streaming/Channels/101`). Throws on a bad spec or a taken path. */
  addStream(path: string, spec: RtspStreamSpec = {}): void {
    const normalized = normalizePath(path);
    if (this.streamsByPath.has(normalized)) throw new Error(`stream ${normalized} exists`);
    if (TRACK_SUFFIX.test(normalized)) throw new Error('a stream path cannot end with a track id');
    const resolved = resolveStreamSpec(spec, normalized);
    if (!resolved.ok) throw new Error(`stream ${normalized}: ${resolved.error}`);
    this.streamsByPath.set(
      normalized,
      new StreamSource(normalized, resolved.value, {
        ffmpegPath: this.opts.ffmpegPath ?? 'ffmpeg',
        idleStopMs: this.opts.idleStopMs ?? 3000,
        restartDelayMs: this.opts.restartDelayMs ?? 500,
      }),
    );
  }

  /**
   * Serves the paths under `prefix` (e.g. `/Streaming/tracks`) with a source per viewer: each DESCRIBE asks
   * `resolve` (with the path and the URL's query) and starts a source of its own, at a path of its own that the
   * answer's Content-Base names for SETUP and PLAY. Streams added with `addStream` keep precedence.
   */
  addDynamicStreams(prefix: string, resolve: DynamicResolver): void {
    const normalized = normalizePath(prefix);
    if (this.dynamicResolvers.has(normalized)) throw new Error(`dynamic streams at ${normalized} exist`);
    this.dynamicResolvers.set(normalized, resolve);
  }

  /** Removes a stream, ending its sessions and its source. */
  async removeStream(path: string): Promise<void> {
    const stream = this.streamsByPath.get(normalizePath(path));
    if (!stream) return;
    this.streamsByPath.delete(stream.path);
    this.dynamicStreams.delete(stream);
    for (const s of this.sessionsOf(stream)) this.endSession(s);
    await stream.close();
  }

  async start(): Promise<{ port: number }> {
    const host = this.opts.host ?? '127.0.0.1';
    this.udpRtp = await bindUdp(host);
    this.udpRtcp = await bindUdp(host);
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listenPort = (server.address() as AddressInfo).port;
    return { port: this.listenPort };
  }

  /** Ends every session and connection and kills every ffmpeg child. */
  async stop(): Promise<void> {
    for (const s of [...this.sessionsById.values()]) this.endSession(s);
    for (const c of this.connections) c.socket.destroy();
    const server = this.server;
    this.server = undefined;
    await Promise.all([
      ...[...this.streamsByPath.values()].map((s) => s.close()),
      server && new Promise<void>((resolve) => server.close(() => resolve())),
    ]);
    for (const u of [this.udpRtp, this.udpRtcp]) u?.close();
    this.udpRtp = this.udpRtcp = undefined;
  }

  /** The URL of a stream on this server, with credentials when given. */
  url(path: string, credentials?: { username: string; password: string }): string {
    const auth = credentials ? `${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@` : '';
    return `rtsp://${auth}${this.opts.host ?? '127.0.0.1'}:${this.listenPort}${normalizePath(path)}`;
  }

  /** Open sessions, on one stream or on all. */
  sessions(path?: string): number {
    if (path === undefined) return this.sessionsById.size;
    const stream = this.streamsByPath.get(normalizePath(path));
    return stream ? this.sessionsOf(stream).length : 0;
  }

  streams(): RtspStreamInfo[] {
    return [...this.streamsByPath.values()].map((stream) => {
      const sessions = this.sessionsOf(stream);
      return {
        path: stream.path,
        spec: stream.spec,
        sessions: sessions.length,
        playing: sessions.filter((s) => s.playing).length,
        sourceRunning: stream.running,
        sourcePid: stream.pid,
        sourceStarts: stream.starts,
        down: stream.down,
      };
    });
  }

  /**
   * Makes a stream fail for `ms`. `disconnect` (a camera rebooting): its source is killed, its sessions end
   * and their connections close, and DESCRIBE answers 503 until it is back. `silence` (a stalled encoder):
   * sessions stay open but receive nothing.
   */
  async dropStream(path: string, ms: number, mode: 'disconnect' | 'silence' = 'disconnect'): Promise<void> {
    const stream = this.streamsByPath.get(normalizePath(path));
    if (!stream) throw new Error(`no stream ${path}`);
    if (mode === 'silence') {
      stream.silence(ms);
      return;
    }
    for (const s of this.sessionsOf(stream)) {
      this.endSession(s);
      s.connection.socket.destroy();
    }
    await stream.drop(ms);
  }

  private sessionsOf(stream: StreamSource): Session[] {
    return [...this.sessionsById.values()].filter((s) => s.stream === stream);
  }

  private accept(socket: Socket): void {
    const connection: Connection = { socket, buffer: Buffer.alloc(0), sessions: new Set(), queue: Promise.resolve() };
    this.connections.add(connection);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(connection, chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.connections.delete(connection);
      // Requests read before the close are answered first (a client's TEARDOWN just before it hangs up); then,
      // as cameras do, the connection's remaining sessions end with it: nothing is left open by a vanished viewer.
      connection.queue = connection.queue.then(() => {
        for (const s of connection.sessions) this.endSession(s);
      });
    });
  }

  private receive(connection: Connection, chunk: Buffer): void {
    connection.buffer = connection.buffer.length === 0 ? chunk : Buffer.concat([connection.buffer, chunk]);
    for (;;) {
      const frame = parseFrame(connection.buffer);
      if (frame.kind === 'incomplete') return;
      if (frame.kind === 'error') {
        this.counters.badRequests++;
        connection.buffer = Buffer.alloc(0);
        connection.socket.end(serializeResponse(400, { CSeq: '0' }));
        connection.socket.pause();
        return;
      }
      connection.buffer = connection.buffer.subarray(frame.consumed);
      if (frame.kind === 'interleaved') {
        // RTCP receiver reports show the client is alive (RFC 2326 section 12.37).
        for (const s of connection.sessions) this.refresh(s);
        continue;
      }
      const request = frame.request;
      connection.queue = connection.queue.then(() => this.answer(connection, request));
    }
  }

  private async answer(connection: Connection, request: RtspRequest): Promise<void> {
    this.counters.requests++;
    let reply: Reply;
    try {
      reply = await this.handle(connection, request);
    } catch (e) {
      reply = { status: 500, headers: { 'X-Error': e instanceof Error ? e.message.replace(/[\r\n]/g, ' ') : 'error' } };
    }
    if (reply.status === 400) this.counters.badRequests++;
    if (reply.status === 401) this.counters.authFailures++;
    if (connection.socket.destroyed) return;
    const headers: ResponseHeaders = { CSeq: request.headers.get('cseq') ?? '0', Server: 'Vigil simulated device', ...reply.headers };
    connection.socket.write(serializeResponse(reply.status, headers, reply.body));
    reply.after?.();
  }

  private async handle(connection: Connection, request: RtspRequest): Promise<Reply> {
    const cseq = request.headers.get('cseq');
    if (cseq === undefined || !/^\d{1,10}$/.test(cseq)) return { status: 400 };
    if (!METHODS.includes(request.method)) return { status: 501, headers: { Public: METHODS.join(', ') } };
    const sessionHeader = request.headers.get('session')?.split(';')[0]?.trim();
    const session = sessionHeader === undefined ? undefined : this.sessionsById.get(sessionHeader);
    if (session) this.refresh(session);
    if (request.method === 'OPTIONS') return { status: 200, headers: { Public: METHODS.join(', ') } };

    const denied = this.authenticate(request);
    if (denied) return denied;
    if (sessionHeader !== undefined && (!session || session.connection !== connection)) return { status: 454 };

    if (request.method === 'GET_PARAMETER' || request.method === 'SET_PARAMETER') {
      if (request.method === 'SET_PARAMETER' && request.body.length > 0) return { status: 451 };
      return { status: 200, headers: session ? { Session: this.sessionValue(session) } : {} };
    }
    const dynamic = request.method === 'DESCRIBE' ? this.instantiate(request.uri) : undefined;
    if (dynamic && 'status' in dynamic) return dynamic;
    const target = this.resolve(dynamic?.uri ?? request.uri);
    if (!target.ok) return { status: target.status };
    const { stream, track } = target;
    if (this.opts.guard && (request.method === 'DESCRIBE' || (request.method === 'SETUP' && !session))) {
      const refusal = this.opts.guard(stream.path, new URL(request.uri).searchParams);
      if (refusal) return refusal;
    }

    switch (request.method) {
      case 'DESCRIBE': {
        if (track !== undefined) return { status: 404 };
        if (stream.down) return { status: 503 };
        const sdp = await stream.ready();
        if (!sdp.ok) return { status: 503 };
        return {
          status: 200,
          headers: { 'Content-Type': 'application/sdp', 'Content-Base': `${target.base}/` },
          // The track URLs keep the query (as cameras write `trackID=1?transportmode=unicast`), so SETUP carries it too.
          body: sdp.value.replace(/^a=control:trackID=\d+(?=\r?$)/gm, (control) => `${control}${new URL(request.uri).search}`),
        };
      }
      case 'SETUP':
        return this.setup(connection, request, stream, track ?? (stream.tracks === 1 ? 0 : undefined), session);
      case 'PLAY':
      case 'PAUSE':
      case 'TEARDOWN': {
        if (!session) return { status: 454 };
        if (session.stream !== stream) return { status: 459 };
        if (track !== undefined && session.tracks.size > 1) return { status: 459 };
        if (request.method === 'TEARDOWN') {
          this.counters.teardowns++;
          this.endSession(session);
          return { status: 200 };
        }
        const headers = { Session: this.sessionValue(session) };
        if (request.method === 'PAUSE') {
          this.pause(session);
          return { status: 200, headers };
        }
        return { status: 200, headers: { ...headers, Range: 'npt=now-' }, after: () => this.play(session) };
      }
      default:
        return { status: 501 };
    }
  }

  private async setup(connection: Connection, request: RtspRequest, stream: StreamSource, track: number | undefined, existing: Session | undefined): Promise<Reply> {
    if (track === undefined || track >= stream.tracks) return { status: 404 };
    const wanted = parseTransport(request.headers.get('transport') ?? '');
    if (!wanted) return { status: 461 };
    if (existing) {
      if (existing.stream !== stream) return { status: 459 };
      if (existing.playing) return { status: 455 };
    } else if (this.opts.maxSessions !== undefined && this.sessionsById.size >= this.opts.maxSessions) {
      this.counters.sessionsRefused++;
      return { status: 453 };
    }
    if (stream.down) return { status: 503 };
    let transport: TrackTransport;
    let transportHeader: string;
    if (wanted.kind === 'tcp') {
      const channels = wanted.channels ?? [track * 2, track * 2 + 1];
      transport = { kind: 'tcp', channels };
      transportHeader = `RTP/AVP/TCP;unicast;interleaved=${channels[0]}-${channels[1]}`;
    } else {
      const address = connection.socket.remoteAddress ?? '127.0.0.1';
      const serverPorts = `${this.udpRtp!.address().port}-${this.udpRtcp!.address().port}`;
      transport = { kind: 'udp', address, ports: wanted.clientPorts };
      transportHeader = `RTP/AVP;unicast;client_port=${wanted.clientPorts[0]}-${wanted.clientPorts[1]};server_port=${serverPorts}`;
    }
    let session = existing;
    if (!session) {
      const started = await stream.ready();
      if (!started.ok) return { status: 503 };
      if (connection.socket.destroyed) return { status: 500 };
      session = { id: randomBytes(8).toString('hex'), stream, connection, tracks: new Map(), playing: false, timer: undefined, unsubscribe: undefined };
      this.sessionsById.set(session.id, session);
      connection.sessions.add(session);
      stream.hold();
      this.refresh(session);
    }
    session.tracks.set(track, transport);
    return { status: 200, headers: { Session: this.sessionValue(session), Transport: transportHeader } };
  }

  private play(session: Session): void {
    if (session.playing || !this.sessionsById.has(session.id)) return;
    session.playing = true;
    const socket = session.connection.socket;
    const codec = session.stream.spec.codec;
    // Video (track 0) starts at a keyframe: what comes before it cannot be decoded.
    let awaitingKeyframe = true;
    session.unsubscribe = session.stream.subscribe((track, rtcp, packet) => {
      const transport = session.tracks.get(track);
      if (!transport) return;
      if (track === 0 && !rtcp && awaitingKeyframe) {
        if (!startsKeyframe(codec, packet)) return;
        awaitingKeyframe = false;
      }
      if (transport.kind === 'udp') {
        const out = rtcp ? this.udpRtcp : this.udpRtp;
        out?.send(packet, transport.ports[rtcp ? 1 : 0], transport.address);
        return;
      }
      if (socket.destroyed || socket.writableLength > this.maxBuffer) {
        this.counters.droppedPackets++;
        return;
      }
      socket.write(interleavedFrame(transport.channels[rtcp ? 1 : 0], packet));
    });
  }

  private pause(session: Session): void {
    session.unsubscribe?.();
    session.unsubscribe = undefined;
    session.playing = false;
  }

  private endSession(session: Session): void {
    if (!this.sessionsById.delete(session.id)) return;
    clearTimeout(session.timer);
    this.pause(session);
    session.connection.sessions.delete(session);
    session.stream.release();
    if (this.dynamicStreams.has(session.stream) && this.sessionsOf(session.stream).length === 0) void this.removeStream(session.stream.path);
  }

  /** DESCRIBE of a path under a dynamic prefix: a new source, registered at a path of its own. */
  private instantiate(uri: string): { uri: string } | Reply | undefined {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return undefined;
    }
    const path = normalizePath(safeDecode(url.pathname));
    if (this.streamsByPath.has(path) || TRACK_SUFFIX.test(path)) return undefined;
    const prefix = [...this.dynamicResolvers.keys()].find((p) => path.startsWith(`${p}/`));
    if (prefix === undefined) return undefined;
    // Refused requests start nothing.
    const refusal = this.opts.guard?.(path, url.searchParams);
    if (refusal) return refusal;
    const wanted = this.dynamicResolvers.get(prefix)!(path, url.searchParams);
    if ('status' in wanted) return wanted;
    if (this.dynamicStreams.size >= (this.opts.maxDynamicStreams ?? 16)) return { status: 453 };
    const spec = resolveStreamSpec(wanted.spec, path);
    if (!spec.ok) return { status: 500, headers: { 'X-Error': spec.error } };
    const own = `${path}/${randomBytes(8).toString('hex')}`;
    const stream: StreamSource = new StreamSource(own, spec.value, {
      ffmpegPath: this.opts.ffmpegPath ?? 'ffmpeg',
      idleStopMs: this.opts.idleStopMs ?? 3000,
      restartDelayMs: this.opts.restartDelayMs ?? 500,
      ...(wanted.playback ? { playback: wanted.playback } : {}),
      onFinished: () => this.finish(stream),
    });
    this.streamsByPath.set(own, stream);
    this.dynamicStreams.add(stream);
    // A DESCRIBE that no SETUP follows must not leave its source behind.
    setTimeout(() => {
      if (this.streamsByPath.get(own) === stream && this.sessionsOf(stream).length === 0) void this.removeStream(own);
    }, this.timeoutSec * 1000).unref();
    return { uri: `${url.protocol}//${url.host}${own}` };
  }

  /** A playback reached its end: its sessions end, and a connection left without sessions closes soon after. */
  private finish(stream: StreamSource): void {
    for (const s of this.sessionsOf(stream)) {
      this.endSession(s);
      // Time for the client's TEARDOWN; a client that ignores the RTCP BYE learns of the end from the close.
      setTimeout(() => {
        if (s.connection.sessions.size === 0) s.connection.socket.end();
      }, 1000).unref();
    }
    void this.removeStream(stream.path);
  }

  private currentAccount(): RtspAccount | undefined {
    const account = this.opts.account;
    return typeof account === 'function' ? account() : account;
  }

  private refresh(session: Session): void {
    clearTimeout(session.timer);
    session.timer = setTimeout(() => this.endSession(session), this.timeoutSec * 1000);
  }

  private sessionValue(session: Session): string {
    return `${session.id};timeout=${this.timeoutSec}`;
  }

  private authenticate(request: RtspRequest): Reply | undefined {
    if (!this.opts.account || !this.digest) return undefined;
    const account = this.currentAccount();
    const header = request.headers.get('authorization');
    if (header && this.opts.basicAuth && /^basic /i.test(header)) {
      if (!account) return { status: 401, headers: { 'WWW-Authenticate': this.challenges(this.digest.challenge()) } };
      const given = Buffer.from(header.slice(6).trim(), 'base64');
      const expected = Buffer.from(`${account.username}:${account.password}`);
      if (given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
    } else if (header && /^digest /i.test(header)) {
      const verdict = this.digest.verify(header, request.method, request.uri);
      if (verdict.ok) return undefined;
      return { status: 401, headers: { 'WWW-Authenticate': this.challenges(verdict.challenge) } };
    }
    return { status: 401, headers: { 'WWW-Authenticate': this.challenges(this.digest.challenge()) } };
  }

  private challenges(digest: string): string[] {
    return this.opts.basicAuth ? [digest, `Basic realm="${this.digest!.realm}"`] : [digest];
  }

  /** Finds the stream (and track) a request URI names. */
  private resolve(uri: string): { ok: true; stream: StreamSource; track: number | undefined; base: string } | { ok: false; status: number } {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return { ok: false, status: 400 };
    }
    if (url.protocol !== 'rtsp:') return { ok: false, status: 400 };
    let path = normalizePath(safeDecode(url.pathname));
    let track: number | undefined;
    const m = TRACK_SUFFIX.exec(path);
    if (m) {
      track = Number(m[1]);
      path = normalizePath(path.slice(0, m.index));
    }
    const stream = this.streamsByPath.get(path);
    if (!stream) return { ok: false, status: 404 };
    return { ok: true, stream, track, base: `rtsp://${url.host}${stream.path}` };
  }
}

interface Reply {
  status: number;
  headers?: ResponseHeaders;
  body?: string;
  /** Runs once the response is written (PLAY starts sending RTP only after its answer). */
  after?: () => void;
}

function normalizePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function bindUdp(host: string): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      // A client that closed its UDP port makes sends fail; that must not crash the server.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

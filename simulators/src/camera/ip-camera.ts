import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { clampLatency, controlProblem, readBody, sendJson } from '../http.js';
import type { AddressInfo } from 'node:net';
import { DigestServer } from '@vigil/protocol';
import { RtspServer } from '../rtsp/index.js';
import {
  DEVICE_SERVICE_PATH,
  DEVICE_TYPE,
  FaultCode,
  FaultSubcode,
  MEDIA_SERVICE_PATH,
  NO_PROFILE_SUBCODE,
  StreamType,
  TransportProtocol,
  VideoEncoding,
  NETWORK_VIDEO_TRANSMITTER,
  OnvifScope,
  UsernameTokenVerifier,
  buildFault,
  buildGetCapabilitiesResponse,
  buildGetDeviceInformationResponse,
  buildGetProfilesResponse,
  buildGetServicesResponse,
  buildGetSnapshotUriResponse,
  buildGetStreamUriResponse,
  buildGetSystemDateAndTimeResponse,
  buildGetVideoSourcesResponse,
  buildProbeMatches,
  faultHttpStatus,
  parseEnvelope,
  parseGetServicesRequest,
  parseGetSnapshotUriRequest,
  parseGetStreamUriRequest,
  parseProbe,
  probeMatches,
  scope,
  type MediaProfile,
  type SoapEnvelope,
} from '@vigil/protocol/onvif';

/** What a camera says about itself (the label on the box and its ONVIF device information). */
export interface CameraIdentity {
  manufacturer: string;
  model: string;
  serial: string;
  firmware: string;
  hardwareId: string;
  /** The code printed on the label, used to add the device to a site by serial + code. */
  verificationCode: string;
  /** The device name (ONVIF `name` scope). */
  name: string;
}

/** What one of the camera's streams carries (the same fields as the RTSP server's stream spec). */
export interface CameraStream {
  codec: 'h264' | 'h265' | 'mjpeg';
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
}
export type CameraStreamName = 'main' | 'sub';

export const DEFAULT_CAMERA_STREAMS: Readonly<Record<CameraStreamName, Readonly<CameraStream>>> = {
  main: { codec: 'h264', width: 1920, height: 1080, fps: 25, bitrateKbps: 4096 },
  sub: { codec: 'h264', width: 640, height: 360, fps: 15, bitrateKbps: 512 },
};

/** The ONVIF profile of each stream and its Hikvision-style channel id (`/Streaming/Channels/101`). */
const PROFILES: Record<CameraStreamName, { token: string; name: string; encoder: string; channel: number }> = {
  main: { token: 'Profile_1', name: 'mainStream', encoder: 'VideoEncoder_1', channel: 101 },
  sub: { token: 'Profile_2', name: 'subStream', encoder: 'VideoEncoder_2', channel: 102 },
};
const STREAM_NAMES: readonly CameraStreamName[] = ['main', 'sub'];
const streamPath = (stream: CameraStreamName) => `/Streaming/Channels/${PROFILES[stream].channel}`;

/** A stream made to stop for `ms` (`disconnect`: its viewers are cut off and it refuses new ones; `silence`: no packets). */
interface StreamDrop {
  stream: CameraStreamName;
  ms: number;
  mode?: 'disconnect' | 'silence';
}
const MAX_DROP_MS = 3_600_000;

function dropStreamProblem(v: unknown): string | undefined {
  const d = v as Partial<StreamDrop> | null;
  const ok =
    typeof d === 'object' &&
    d !== null &&
    (d.stream === 'main' || d.stream === 'sub') &&
    Number.isInteger(d.ms) &&
    d.ms! >= 0 &&
    d.ms! <= MAX_DROP_MS &&
    (d.mode === undefined || d.mode === 'disconnect' || d.mode === 'silence') &&
    Object.keys(d).every((k) => ['stream', 'ms', 'mode'].includes(k));
  return ok ? undefined : `dropStream must be {stream: main|sub, ms: 0 to ${MAX_DROP_MS}, mode?: disconnect|silence}`;
}
const VIDEO_SOURCE = 'VideoSource_1';
const ENCODING: Record<CameraStream['codec'], VideoEncoding> = { h264: VideoEncoding.h264, h265: VideoEncoding.h265, mjpeg: VideoEncoding.jpeg };

/** Where the camera serves a JPEG of a profile (`?profile=<token>`), behind Digest like its HTTP API. */
export const SNAPSHOT_PATH = '/onvif/snapshot';

/** Operations answered without WS-UsernameToken: ONVIF lets clients learn the clock and the services first. */
const PRE_AUTH = ['GetSystemDateAndTime', 'GetCapabilities', 'GetServices'] as const;
const OPERATIONS = [...PRE_AUTH, 'GetDeviceInformation', 'GetVideoSources', 'GetProfiles', 'GetStreamUri', 'GetSnapshotUri'] as const;
type Operation = (typeof OPERATIONS)[number];
const isOperation = (op: string): op is Operation => (OPERATIONS as readonly string[]).includes(op);
const isPreAuth = (op: Operation): boolean => (PRE_AUTH as readonly string[]).includes(op);

export interface IpCameraOptions extends Partial<CameraIdentity> {
  serial: string;
  /** The admin account (default admin / admin12345). */
  username?: string;
  password?: string;
  /** Interface to bind both sockets to (default 127.0.0.1). */
  host?: string;
  /** Host written in XAddrs; defaults to `host`. */
  advertiseHost?: string;
  /** 0 (the default) picks a free port. */
  httpPort?: number;
  discoveryPort?: number;
  /** Delay added before every ONVIF and WS-Discovery answer. */
  latencyMs?: number;
  reachable?: boolean;
  /** The camera's clock in ms since the epoch (default the host clock). */
  clock?: () => number;
  /** What the main and sub streams carry; unset fields keep DEFAULT_CAMERA_STREAMS. */
  streams?: Partial<Record<CameraStreamName, Partial<CameraStream>>>;
  /** Where the camera's RTSP server listens; 0 (the default) picks a free port. */
  rtspPort?: number;
}

export interface IpCameraCounters {
  soapRequests: number;
  authFailures: number;
  probes: number;
  probeMatchesSent: number;
  /** Requests and datagrams left unanswered because the camera was unreachable. */
  dropped: number;
}

export interface IpCameraState {
  serial: string;
  host: string;
  http: number;
  discovery: number;
  reachable: boolean;
  latencyMs: number;
  running: boolean;
  deviceServiceUrl: string;
  counters: IpCameraCounters;
}

/** What a camera reports as it works, for tests to wait on instead of sleeping. */
export interface IpCameraEvents {
  /** A SOAP request was answered (after the latency). */
  soap: [operation: string, status: number];
  /** A Probe was read; `matched` says whether it gets a ProbeMatches. */
  probe: [messageId: string, matched: boolean];
  /** A request or datagram was left unanswered because the camera is unreachable. */
  dropped: [kind: 'http' | 'udp'];
}

/** The ports a started camera listens on (the shape of one entry of the CLI's ready line). */
export interface CameraEndpoints {
  serial: string;
  host: string;
  http: number;
  discovery: number;
  rtsp: number;
}

const SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';

/** A stable WS-Discovery endpoint reference derived from the serial, so a restarted camera keeps its identity. */
export function endpointReferenceFor(serial: string): string {
  const h = createHash('sha1').update(`vigil-camera:${serial}`).digest('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A simulated ONVIF IP camera: the device and media services over HTTP (the clock, capabilities and services
 * without authentication; device information, profiles, stream and snapshot URIs behind WS-UsernameToken), a
 * JPEG snapshot behind Digest, unicast WS-Discovery over UDP, and its main and sub streams over RTSP (real H.264,
 * H.265 or MJPEG from ffmpeg, which runs only while someone watches), all on one interface.
 * `setReachable(false)` cuts it off: SOAP requests are held unanswered and datagrams ignored, as behind a dead
 * link. The control endpoints (`/__sim/...`) keep answering so that a test can bring it back.
 */
export class IpCameraSimulator extends EventEmitter<IpCameraEvents> {
  readonly identity: CameraIdentity;
  readonly username: string;
  readonly host: string;
  readonly streams: Readonly<Record<CameraStreamName, Readonly<CameraStream>>>;
  /** Its streams; the camera's account guards them. */
  readonly rtsp: RtspServer;
  private readonly password: string;
  private readonly advertiseHost: string;
  private readonly wantedHttpPort: number;
  private readonly wantedDiscoveryPort: number;
  private readonly clock: () => number;
  private readonly verifier: UsernameTokenVerifier;
  private readonly digest: DigestServer;
  /** One JPEG per stream, made on first request. */
  private readonly snapshots = new Map<CameraStreamName, Promise<Buffer>>();
  private readonly encoders = new Set<ChildProcess>();
  private readonly endpointReference: string;
  private latency: number;
  private reachable: boolean;
  private server: Server | undefined;
  private udp: UdpSocket | undefined;
  private httpPort = 0;
  private discoveryPort = 0;
  private rtspPort = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Requests held open while unreachable; destroyed when the link comes back or the camera stops. */
  private readonly held = new Set<IncomingMessage>();
  private readonly counters: IpCameraCounters = { soapRequests: 0, authFailures: 0, probes: 0, probeMatchesSent: 0, dropped: 0 };

  constructor(opts: IpCameraOptions) {
    super();
    this.identity = {
      manufacturer: opts.manufacturer ?? 'Vigil Sim',
      model: opts.model ?? 'VC-2000',
      serial: opts.serial,
      firmware: opts.firmware ?? 'V1.0.0 build 20261101',
      hardwareId: opts.hardwareId ?? '1.0',
      verificationCode: opts.verificationCode ?? verificationCodeFor(opts.serial),
      name: opts.name ?? `Camera ${opts.serial}`,
    };
    this.username = opts.username ?? 'admin';
    this.password = opts.password ?? 'admin12345';
    this.host = opts.host ?? '127.0.0.1';
    this.advertiseHost = opts.advertiseHost ?? this.host;
    this.wantedHttpPort = opts.httpPort ?? 0;
    this.wantedDiscoveryPort = opts.discoveryPort ?? 0;
    this.latency = clampLatency(opts.latencyMs ?? 0);
    this.reachable = opts.reachable ?? true;
    this.clock = opts.clock ?? Date.now;
    this.verifier = new UsernameTokenVerifier({ users: (u: string) => (u === this.username ? this.password : undefined), now: this.clock });
    this.endpointReference = endpointReferenceFor(opts.serial);
    this.streams = {
      main: { ...DEFAULT_CAMERA_STREAMS.main, ...opts.streams?.main },
      sub: { ...DEFAULT_CAMERA_STREAMS.sub, ...opts.streams?.sub },
    };
    const rtspPort = opts.rtspPort ?? 0;
    if (!Number.isInteger(rtspPort) || rtspPort < 0 || rtspPort > 65535) throw new RangeError('rtspPort must be 0 to 65535');
    // Building the profiles once checks the stream options now rather than when a client first asks.
    buildGetProfilesResponse(STREAM_NAMES.map((n) => this.profile(n)));
    this.rtsp = new RtspServer({ host: this.host, port: rtspPort, account: { username: this.username, password: this.password }, realm: this.identity.model });
    for (const name of STREAM_NAMES) this.rtsp.addStream(streamPath(name), { ...this.streams[name], label: `${this.identity.serial} ${name}` });
    this.digest = new DigestServer({ realm: this.identity.model, users: (u) => (u === this.username ? this.password : undefined) });
  }

  private get urlHost(): string {
    return this.advertiseHost.includes(':') ? `[${this.advertiseHost}]` : this.advertiseHost;
  }

  get deviceServiceUrl(): string {
    return `http://${this.urlHost}:${this.httpPort}${DEVICE_SERVICE_PATH}`;
  }

  get mediaServiceUrl(): string {
    return `http://${this.urlHost}:${this.httpPort}${MEDIA_SERVICE_PATH}`;
  }

  /** The RTSP URI of a stream, as GetStreamUri answers it. */
  streamUri(stream: CameraStreamName): string {
    return `rtsp://${this.urlHost}:${this.rtspPort}${streamPath(stream)}`;
  }

  snapshotUri(stream: CameraStreamName): string {
    return `http://${this.urlHost}:${this.httpPort}${SNAPSHOT_PATH}?profile=${PROFILES[stream].token}`;
  }

  get endpoints(): CameraEndpoints {
    return { serial: this.identity.serial, host: this.host, http: this.httpPort, discovery: this.discoveryPort, rtsp: this.rtspPort };
  }

  get state(): IpCameraState {
    return {
      serial: this.identity.serial,
      host: this.host,
      http: this.httpPort,
      discovery: this.discoveryPort,
      reachable: this.reachable,
      latencyMs: this.latency,
      running: this.server !== undefined,
      deviceServiceUrl: this.deviceServiceUrl,
      counters: { ...this.counters },
    };
  }

  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (reachable) this.releaseHeld();
  }

  setLatency(ms: number): void {
    this.latency = clampLatency(ms);
  }

  async start(): Promise<CameraEndpoints> {
    if (this.server) return this.endpoints;
    const server = createServer((req, res) => this.onHttp(req, res));
    const udp = createSocket({ type: 'udp4', reuseAddr: false });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.wantedHttpPort, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.wantedDiscoveryPort, this.host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      server.close();
      udp.close();
      throw e;
    }
    // A failed send (e.g. the prober went away) must not take the simulator down.
    udp.on('error', () => undefined);
    udp.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    this.server = server;
    this.udp = udp;
    this.httpPort = (server.address() as AddressInfo).port;
    this.discoveryPort = udp.address().port;
    try {
      this.rtspPort = (await this.rtsp.start()).port;
    } catch (e) {
      await this.stop();
      throw e;
    }
    return this.endpoints;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const udp = this.udp;
    this.server = undefined;
    this.udp = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const p of this.encoders) p.kill('SIGKILL');
    this.releaseHeld();
    const closing: Promise<void>[] = [];
    if (udp) closing.push(new Promise<void>((resolve) => udp.close(() => resolve())));
    if (server) {
      closing.push(new Promise<void>((resolve) => server.close(() => resolve())));
      server.closeAllConnections();
    }
    closing.push(this.rtsp.stop());
    await Promise.all(closing);
  }

  /** Runs `fn` after the configured latency; timers are tracked so that stop() leaves nothing behind. */
  private later(fn: () => void): void {
    if (this.latency === 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, this.latency);
    this.timers.add(t);
  }

  private releaseHeld(): void {
    for (const req of this.held) req.socket.destroy();
    this.held.clear();
  }

  private hold(req: IncomingMessage): void {
    this.counters.dropped++;
    this.held.add(req);
    req.socket.once('close', () => this.held.delete(req));
    this.emit('dropped', 'http');
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://camera');
    const route = `${req.method ?? ''} ${url.pathname}`;
    if (route === 'GET /__sim/state') return sendJson(res, 200, this.state);
    const soapRoute = route === `POST ${DEVICE_SERVICE_PATH}` || route === `POST ${MEDIA_SERVICE_PATH}`;
    if ((soapRoute || route === `GET ${SNAPSHOT_PATH}`) && !this.reachable) return this.hold(req);
    if (route === `GET ${SNAPSHOT_PATH}`) return this.onSnapshot(req, url, res);
    readBody(req, (body) => {
      if (body === undefined) return sendJson(res, 413, { statusCode: 413, code: 'BODY_TOO_LARGE', message: 'body too large' });
      if (route === 'POST /__sim/control') return this.onControl(body, res);
      if (soapRoute) {
        this.counters.soapRequests++;
        const answer = this.answerSoap(body);
        this.later(() => {
          // The link may have gone down while the answer was delayed.
          if (!this.reachable) return this.hold(req);
          res.writeHead(answer.status, { 'content-type': SOAP_CONTENT_TYPE });
          res.end(answer.xml);
          this.emit('soap', answer.operation, answer.status);
        });
        return;
      }
      sendJson(res, 404, { statusCode: 404, code: 'NOT_FOUND', message: `no route ${route}` });
    });
  }

  private onControl(body: Buffer, res: ServerResponse): void {
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      return sendJson(res, 400, { statusCode: 400, code: 'BAD_JSON', message: 'body is not JSON' });
    }
    const problem = controlProblem(input, { dropStream: dropStreamProblem });
    if (problem) return sendJson(res, 400, { statusCode: 400, code: 'BAD_CONTROL', message: problem });
    const c = input as { reachable?: boolean; latencyMs?: number; dropStream?: StreamDrop };
    if (c.latencyMs !== undefined) this.setLatency(c.latencyMs);
    if (c.reachable !== undefined) this.setReachable(c.reachable);
    const drop = c.dropStream;
    const dropped = drop ? this.rtsp.dropStream(streamPath(drop.stream), drop.ms, drop.mode ?? 'disconnect') : Promise.resolve();
    dropped.then(
      () => sendJson(res, 200, this.state),
      (e: unknown) => sendJson(res, 500, { statusCode: 500, code: 'DROP_FAILED', message: e instanceof Error ? e.message : String(e) }),
    );
  }

  private answerSoap(body: Buffer): { operation: string; status: number; xml: string } {
    const env = parseEnvelope(body);
    const operation = env.ok ? (env.value.operation ?? '') : '';
    const fault = (code: FaultCode, subcodes: string[], reason: string) => ({
      operation,
      status: faultHttpStatus(code),
      xml: buildFault({ code, subcodes, reason }),
    });
    if (!env.ok) return fault(FaultCode.sender, [FaultSubcode.wellFormed], env.error);
    if (!isOperation(operation)) {
      return fault(FaultCode.receiver, [FaultSubcode.actionNotSupported], `${operation || 'empty Body'} is not supported`);
    }
    if (!isPreAuth(operation) && !this.verifier.verify(env.value.header).ok) {
      this.counters.authFailures++;
      return fault(FaultCode.sender, [FaultSubcode.notAuthorized], 'Sender not Authorized');
    }
    const answer = this.answerOperation(operation, env.value);
    if (typeof answer === 'string') return { operation, status: 200, xml: answer };
    return fault(FaultCode.sender, answer.subcodes, answer.reason);
  }

  /** The reply to a known, authorized operation, or the Sender fault its arguments earn. */
  private answerOperation(operation: Operation, env: SoapEnvelope): string | { subcodes: string[]; reason: string } {
    switch (operation) {
      case 'GetSystemDateAndTime':
        return buildGetSystemDateAndTimeResponse({ now: new Date(this.clock()) });
      case 'GetDeviceInformation': {
        const id = this.identity;
        return buildGetDeviceInformationResponse({
          manufacturer: id.manufacturer,
          model: id.model,
          firmwareVersion: id.firmware,
          serialNumber: id.serial,
          hardwareId: id.hardwareId,
        });
      }
      case 'GetCapabilities':
        return buildGetCapabilitiesResponse({ device: this.deviceServiceUrl, media: this.mediaServiceUrl });
      case 'GetServices': {
        const req = parseGetServicesRequest(env);
        const version = { major: 2, minor: 60 };
        return buildGetServicesResponse({
          services: [
            { service: 'device', xaddr: this.deviceServiceUrl, version },
            { service: 'media', xaddr: this.mediaServiceUrl, version },
          ],
          includeCapability: req.ok && req.value.includeCapability,
          maxProfiles: STREAM_NAMES.length,
        });
      }
      case 'GetVideoSources': {
        const main = this.streams.main;
        return buildGetVideoSourcesResponse([{ token: VIDEO_SOURCE, framerate: main.fps, width: main.width, height: main.height }]);
      }
      case 'GetProfiles':
        return buildGetProfilesResponse(STREAM_NAMES.map((n) => this.profile(n)));
      case 'GetStreamUri': {
        const req = parseGetStreamUriRequest(env);
        if (!req.ok) return { subcodes: [FaultSubcode.invalidArgVal], reason: req.error };
        const stream = this.streamOf(req.value.profileToken);
        if (!stream) return noProfile(req.value.profileToken);
        // Only RTP unicast, over RTSP (interleaved or not): no multicast, no HTTP tunnelling.
        if (req.value.stream !== StreamType.unicast || req.value.protocol === TransportProtocol.http) {
          return { subcodes: [FaultSubcode.invalidArgVal, 'ter:InvalidStreamSetup'], reason: 'only RTP-Unicast over RTSP is offered' };
        }
        return buildGetStreamUriResponse(this.streamUri(stream));
      }
      case 'GetSnapshotUri': {
        const req = parseGetSnapshotUriRequest(env);
        if (!req.ok) return { subcodes: [FaultSubcode.invalidArgVal], reason: req.error };
        const stream = this.streamOf(req.value.profileToken);
        return stream ? buildGetSnapshotUriResponse(this.snapshotUri(stream)) : noProfile(req.value.profileToken);
      }
    }
  }

  private streamOf(profileToken: string): CameraStreamName | undefined {
    return STREAM_NAMES.find((n) => PROFILES[n].token === profileToken);
  }

  private profile(stream: CameraStreamName): MediaProfile {
    const p = PROFILES[stream];
    const s = this.streams[stream];
    const main = this.streams.main;
    return {
      token: p.token,
      name: p.name,
      videoSource: { token: 'VideoSourceConfig_1', name: 'VideoSourceConfig', sourceToken: VIDEO_SOURCE, width: main.width, height: main.height },
      videoEncoder: {
        token: p.encoder,
        name: p.encoder,
        encoding: ENCODING[s.codec],
        width: s.width,
        height: s.height,
        frameRateLimit: s.fps,
        bitrateLimit: s.bitrateKbps,
        // The RTSP sources put a key frame every second; MJPEG frames all are.
        govLength: s.codec === 'mjpeg' ? 1 : s.fps,
      },
    };
  }

  private onSnapshot(req: IncomingMessage, url: URL, res: ServerResponse): void {
    const verdict = this.digest.verify(req.headers.authorization, 'GET', req.url);
    if (!verdict.ok) {
      // A request without credentials is the first half of the Digest handshake, not a failure.
      if (verdict.reason !== 'missing') this.counters.authFailures++;
      res.writeHead(401, { 'www-authenticate': verdict.challenge, 'content-type': 'text/plain' });
      res.end('unauthorized');
      return;
    }
    const stream = this.streamOf(url.searchParams.get('profile') ?? '');
    if (!stream) return sendJson(res, 404, { statusCode: 404, code: 'NO_PROFILE', message: 'unknown profile' });
    this.snapshot(stream).then(
      (jpeg) =>
        this.later(() => {
          res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length });
          res.end(jpeg);
        }),
      (e: unknown) => sendJson(res, 503, { statusCode: 503, code: 'SNAPSHOT_FAILED', message: e instanceof Error ? e.message : String(e) }),
    );
  }

  /** A test-pattern JPEG at the stream's resolution, encoded once by ffmpeg and kept. */
  private snapshot(stream: CameraStreamName): Promise<Buffer> {
    const cached = this.snapshots.get(stream);
    if (cached) return cached;
    const { width, height } = this.streams[stream];
    const made = new Promise<Buffer>((resolve, reject) => {
      const args = ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=1`];
      args.push('-frames:v', '1', '-c:v', 'mjpeg', '-f', 'image2', 'pipe:1');
      const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.encoders.add(child);
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      child.on('error', (e) => {
        this.encoders.delete(child);
        reject(e);
      });
      child.on('close', (code) => {
        this.encoders.delete(child);
        if (code === 0 && out.length > 0) resolve(Buffer.concat(out));
        else reject(new Error(`ffmpeg failed (${code ?? 'killed'}): ${err.trim().slice(0, 200)}`));
      });
    });
    // A failure is not kept, so that the next request tries again.
    made.catch(() => this.snapshots.delete(stream));
    this.snapshots.set(stream, made);
    return made;
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.reachable) {
      this.counters.dropped++;
      this.emit('dropped', 'udp');
      return;
    }
    const probe = parseProbe(msg);
    if (!probe.ok) return;
    this.counters.probes++;
    const types = [NETWORK_VIDEO_TRANSMITTER, DEVICE_TYPE];
    const scopes = [
      scope(OnvifScope.type, 'video_encoder'),
      scope(OnvifScope.profile, 'Streaming'),
      scope(OnvifScope.hardware, this.identity.model),
      scope(OnvifScope.name, this.identity.name),
    ];
    const matched = probeMatches(probe.value, types, scopes);
    this.emit('probe', probe.value.messageId, matched);
    if (!matched) return;
    const reply = Buffer.from(
      buildProbeMatches({
        relatesTo: probe.value.messageId,
        matches: [{ endpointReference: this.endpointReference, types, scopes, xAddrs: [this.deviceServiceUrl], metadataVersion: 1 }],
      }),
    );
    this.later(() => {
      const udp = this.udp;
      if (!udp || !this.reachable) return;
      this.counters.probeMatchesSent++;
      udp.send(reply, rinfo.port, rinfo.address);
    });
  }
}

const noProfile = (token: string) => ({
  subcodes: [FaultSubcode.invalidArgVal, NO_PROFILE_SUBCODE],
  reason: `The requested profile token ${token} does not exist`,
});

/** A six-letter code derived from the serial, like the one printed on a device label. */
export function verificationCodeFor(serial: string): string {
  const h = createHash('sha256').update(`vigil-code:${serial}`).digest();
  const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
  return Array.from(h.subarray(0, 6), (b) => letters[b % letters.length]).join('');
}


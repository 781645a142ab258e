import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { clampLatency, controlProblem, readBody, sendJson } from '../http.js';
import type { AddressInfo } from 'node:net';
import { DigestServer, STREAM_ENCRYPTION_HEADER, streamKeyFor } from '@vigil/protocol';
import { RtspServer } from '../rtsp/index.js';
import {
  DEVICE_SERVICE_PATH,
  DEVICE_TYPE,
  EVENTS_SERVICE_PATH,
  FaultCode,
  FaultSubcode,
  MEDIA_SERVICE_PATH,
  AnalyticsTopic,
  MotionTopic,
  NO_PROFILE_SUBCODE,
  PTZ_SERVICE_PATH,
  PULL_POINT_PATH_PREFIX,
  PtzFaultSubcode,
  StreamType,
  TransportProtocol,
  VideoEncoding,
  NETWORK_VIDEO_TRANSMITTER,
  OnvifScope,
  UsernameTokenVerifier,
  buildCreatePullPointSubscriptionResponse,
  buildFault,
  buildGetCapabilitiesResponse,
  buildGetConfigurationsResponse,
  buildGetEventPropertiesResponse,
  buildGetNodesResponse,
  buildGetPresetsResponse,
  buildGetStatusResponse,
  buildGetDeviceInformationResponse,
  buildGetProfilesResponse,
  buildGetServicesResponse,
  buildGetSnapshotUriResponse,
  buildGetStreamUriResponse,
  buildGetSystemDateAndTimeResponse,
  buildGetVideoSourcesResponse,
  buildProbeMatches,
  buildPtzAck,
  buildPullMessagesResponse,
  buildRenewResponse,
  buildSetPresetResponse,
  buildSetSynchronizationPointResponse,
  buildUnsubscribeResponse,
  faultHttpStatus,
  parseContinuousMoveRequest,
  parseCreatePullPointSubscriptionRequest,
  parseEnvelope,
  parseGetServicesRequest,
  parseGetSnapshotUriRequest,
  parseGetStreamUriRequest,
  parsePresetRequest,
  parseProbe,
  parseProfileTokenRequest,
  parsePullMessagesRequest,
  parseRenewRequest,
  parseSetPresetRequest,
  parseStopRequest,
  probeMatches,
  scope,
  type MediaProfile,
  type NotificationMessage,
  type PtzConfiguration,
  type SoapEnvelope,
  type TopicDescription,
} from '@vigil/protocol/onvif';
import { MAX_PRESETS, PtzHead } from './ptz-head.js';
import { MAX_SUBSCRIPTIONS, PullPoints } from './pull-points.js';

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
  /** A G.711 µ-law audio track, as cameras with a microphone send by default. */
  audio?: boolean;
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
const PTZ_OPERATIONS = ['GetNodes', 'GetConfigurations', 'ContinuousMove', 'Stop', 'GetStatus', 'GetPresets', 'SetPreset', 'GotoPreset', 'RemovePreset'] as const;
/** Operations on one subscription: only its pull point's address knows which one. */
const PULL_POINT_OPERATIONS = ['PullMessages', 'Renew', 'Unsubscribe', 'SetSynchronizationPoint'] as const;
const OPERATIONS = [
  ...PRE_AUTH,
  'GetDeviceInformation',
  'GetVideoSources',
  'GetProfiles',
  'GetStreamUri',
  'GetSnapshotUri',
  ...PTZ_OPERATIONS,
  'GetEventProperties',
  'CreatePullPointSubscription',
  ...PULL_POINT_OPERATIONS,
] as const;
type Operation = (typeof OPERATIONS)[number];
type PtzOperation = (typeof PTZ_OPERATIONS)[number];
type PullPointOperation = (typeof PULL_POINT_OPERATIONS)[number];
const isOperation = (op: string): op is Operation => (OPERATIONS as readonly string[]).includes(op);
const isPreAuth = (op: Operation): boolean => (PRE_AUTH as readonly string[]).includes(op);
const isPtzOperation = (op: Operation): op is PtzOperation => (PTZ_OPERATIONS as readonly string[]).includes(op);
const isPullPointOperation = (op: Operation): op is PullPointOperation => (PULL_POINT_OPERATIONS as readonly string[]).includes(op);

/** The camera's one PTZ node and configuration, shared by both profiles. */
const PTZ_CONFIGURATION: PtzConfiguration = { token: 'PTZConfig_1', name: 'PTZ', nodeToken: 'PTZNode_1', defaultTimeoutMs: 10_000 };
const VIDEO_SOURCE_CONFIG = 'VideoSourceConfig_1';
const MOTION_RULE = 'MyMotionDetectorRule';
const VIDEO_ANALYTICS_CONFIG = 'VideoAnalyticsConfig_1';
const FIELD_RULE = 'MyFieldDetectorRule';
const LINE_RULE = 'MyLineDetectorRule';
const MAX_PULSE_MS = 3_600_000;
/** What a solar camera presents itself as, unless told another solar model (their names start with DS-2XS). */
export const SOLAR_CAMERA_MODEL = 'DS-2XS6A46G1-IZS/C36S80';
const SOLAR_MODEL_PREFIX = 'DS-2XS';

/** The motion topics the camera raises, as GetEventProperties describes them. */
const MOTION_TOPICS: readonly TopicDescription[] = [
  {
    topic: MotionTopic.cellMotion,
    isProperty: true,
    source: [
      { name: 'VideoSourceConfigurationToken', type: 'tt:ReferenceToken' },
      { name: 'Rule', type: 'xs:string' },
    ],
    data: [{ name: 'IsMotion', type: 'xs:boolean' }],
  },
  {
    topic: MotionTopic.motionAlarm,
    isProperty: true,
    source: [{ name: 'Source', type: 'tt:ReferenceToken' }],
    data: [{ name: 'State', type: 'xs:boolean' }],
  },
];

/** The analytics rules' topics, which a solar camera (motion detection only) does not have. */
const ANALYTICS_TOPICS: readonly TopicDescription[] = [
  {
    topic: AnalyticsTopic.fieldDetector,
    isProperty: true,
    source: [
      { name: 'VideoSourceConfigurationToken', type: 'tt:ReferenceToken' },
      { name: 'VideoAnalyticsConfigurationToken', type: 'tt:ReferenceToken' },
      { name: 'Rule', type: 'xs:string' },
    ],
    data: [{ name: 'IsInside', type: 'xs:boolean' }],
  },
  {
    topic: AnalyticsTopic.lineDetector,
    isProperty: false,
    source: [
      { name: 'VideoSourceConfigurationToken', type: 'tt:ReferenceToken' },
      { name: 'VideoAnalyticsConfigurationToken', type: 'tt:ReferenceToken' },
      { name: 'Rule', type: 'xs:string' },
    ],
    data: [{ name: 'ObjectId', type: 'xs:integer' }],
  },
];

/** What a camera refuses because it lacks the feature (the control API answers 409). */
export class CameraFeatureError extends Error {}

function motionProblem(v: unknown): string | undefined {
  if (typeof v === 'boolean') return undefined;
  const p = v as { pulseMs?: unknown } | null;
  const ok =
    typeof p === 'object' &&
    p !== null &&
    Object.keys(p).length === 1 &&
    Number.isInteger(p.pulseMs) &&
    (p.pulseMs as number) >= 1 &&
    (p.pulseMs as number) <= MAX_PULSE_MS;
  return ok ? undefined : `motion must be a boolean or {pulseMs: 1 to ${MAX_PULSE_MS}}`;
}
const booleanProblem = (name: string) => (v: unknown) => (typeof v === 'boolean' ? undefined : `${name} must be a boolean`);

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
  /** RTSP sessions the camera takes at once (default 10); more are refused with 453, as real cameras do. */
  maxRtspSessions?: number;
  /**
   * Image and video encryption: streams and snapshots then want `key=streamKeyFor(serial, verificationCode)`
   * in their URL's query (default off).
   */
  encryption?: boolean;
  /** A pan/tilt/zoom head behind the ONVIF PTZ service (default none). */
  ptz?: boolean;
  /**
   * A solar camera (model SOLAR_CAMERA_MODEL unless another DS-2XS one is given): motion detection only, no
   * intrusion or line crossing rules (default off).
   */
  solar?: boolean;
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
  encryption: boolean;
  ptz: boolean;
  solar: boolean;
  motion: boolean;
  /** An object inside the intrusion field. */
  intrusion: boolean;
  /** Line crossings raised since start. */
  lineCrossings: number;
  /** Live event subscriptions (pull points). */
  subscriptions: number;
  counters: IpCameraCounters;
  /** Its RTSP sessions open now, and those clients ended properly (TEARDOWN) or were refused for want of room. */
  rtsp: { sessions: number; teardowns: number; sessionsRefused: number };
}

/** What a camera reports as it works, for tests to wait on instead of sleeping. */
export interface IpCameraEvents {
  /** A SOAP request was answered (after the latency). */
  soap: [operation: string, status: number];
  /** A Probe was read; `matched` says whether it gets a ProbeMatches. */
  probe: [messageId: string, matched: boolean];
  /** A request or datagram was left unanswered because the camera is unreachable. */
  dropped: [kind: 'http' | 'udp'];
  /** The motion state changed (and its notifications were queued on the pull points). */
  motion: [active: boolean];
  /** The intrusion state changed (likewise). */
  intrusion: [active: boolean];
  /** A line crossing was raised (likewise). */
  lineCrossing: [objectId: number];
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
/** Every service answers every service operation, as many cameras do; pull points answer only their own. */
const SOAP_PATHS = [DEVICE_SERVICE_PATH, MEDIA_SERVICE_PATH, PTZ_SERVICE_PATH, EVENTS_SERVICE_PATH];

/** A stable WS-Discovery endpoint reference derived from the serial, so a restarted camera keeps its identity. */
export function endpointReferenceFor(serial: string): string {
  const h = createHash('sha1').update(`vigil-camera:${serial}`).digest('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A simulated ONVIF IP camera: the device and media services over HTTP (the clock, capabilities and services
 * without authentication; device information, profiles, stream and snapshot URIs behind WS-UsernameToken), a
 * JPEG snapshot behind Digest, unicast WS-Discovery over UDP, and its main and sub streams over RTSP (real H.264,
 * H.265 or MJPEG from ffmpeg, which runs only while someone watches), all on one interface. The event service
 * hands out motion, intrusion and line crossing notifications through pull points (motion only on a `solar`
 * camera); with `ptz` it has a PTZ service; with `encryption` its streams and snapshot want the key derived from
 * its verification code.
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
  private readonly streamKey: string;
  private encryption: boolean;
  /** Present when the camera has a PTZ head. */
  private readonly ptz: PtzHead | undefined;
  private readonly pullPoints: PullPoints;
  private motion = false;
  private motionPulse: NodeJS.Timeout | undefined;
  private readonly solar: boolean;
  private intrusion = false;
  private lineCrossings = 0;

  constructor(opts: IpCameraOptions) {
    super();
    this.solar = opts.solar ?? false;
    if (this.solar && opts.model !== undefined && !opts.model.startsWith(SOLAR_MODEL_PREFIX)) {
      throw new RangeError(`a solar camera's model starts with ${SOLAR_MODEL_PREFIX}: ${opts.model}`);
    }
    this.identity = {
      manufacturer: opts.manufacturer ?? 'Vigil Sim',
      model: opts.model ?? (this.solar ? SOLAR_CAMERA_MODEL : 'VC-2000'),
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
    this.streamKey = streamKeyFor(this.identity.serial, this.identity.verificationCode);
    this.encryption = opts.encryption ?? false;
    this.ptz = opts.ptz ? new PtzHead(this.clock) : undefined;
    this.pullPoints = new PullPoints(this.clock, () => [...this.motionMessages('Initialized'), ...this.intrusionMessages('Initialized')]);
    this.rtsp = new RtspServer({
      host: this.host,
      port: rtspPort,
      account: { username: this.username, password: this.password },
      realm: this.identity.model,
      maxSessions: opts.maxRtspSessions ?? 10,
      guard: (_path, query) => {
        const refusal = this.keyRefusal(query);
        return refusal && { status: 403, headers: { [STREAM_ENCRYPTION_HEADER]: refusal } };
      },
    });
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

  get ptzServiceUrl(): string {
    return `http://${this.urlHost}:${this.httpPort}${PTZ_SERVICE_PATH}`;
  }

  get eventsServiceUrl(): string {
    return `http://${this.urlHost}:${this.httpPort}${EVENTS_SERVICE_PATH}`;
  }

  /** The key the camera's streams and snapshot want while encryption is on. */
  get encryptionKey(): string {
    return this.streamKey;
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
      encryption: this.encryption,
      ptz: this.ptz !== undefined,
      solar: this.solar,
      motion: this.motion,
      intrusion: this.intrusion,
      lineCrossings: this.lineCrossings,
      subscriptions: this.pullPoints.size,
      counters: { ...this.counters },
      rtsp: { sessions: this.rtsp.sessionCount, teardowns: this.rtsp.counters.teardowns, sessionsRefused: this.rtsp.counters.sessionsRefused },
    };
  }

  setEncryption(on: boolean): void {
    this.encryption = on;
  }

  /**
   * Raises or clears motion: on a change, every pull point gets the cell motion detector's IsMotion and the
   * video source's MotionAlarm State, stamped with the camera's clock. Cancels a pending pulse's end.
   */
  setMotion(active: boolean): void {
    clearTimeout(this.motionPulse);
    this.motionPulse = undefined;
    if (active === this.motion) return;
    this.motion = active;
    for (const m of this.motionMessages('Changed')) this.pullPoints.publish(m);
    this.emit('motion', active);
  }

  /** Motion now, cleared after `ms`. */
  pulseMotion(ms: number): void {
    if (!Number.isInteger(ms) || ms < 1 || ms > MAX_PULSE_MS) throw new RangeError(`pulseMs must be 1 to ${MAX_PULSE_MS}`);
    this.setMotion(true);
    this.motionPulse = setTimeout(() => {
      this.motionPulse = undefined;
      this.setMotion(false);
    }, ms);
  }

  /**
   * An object enters (true) or leaves (false) the intrusion field: on a change, every pull point gets the field
   * detector's IsInside. Throws CameraFeatureError on a solar camera.
   */
  setIntrusion(active: boolean): void {
    if (this.solar) throw new CameraFeatureError('a solar camera detects motion only: it has no intrusion detection');
    if (active === this.intrusion) return;
    this.intrusion = active;
    for (const m of this.intrusionMessages('Changed')) this.pullPoints.publish(m);
    this.emit('intrusion', active);
  }

  /** An object crosses the line: one line detector notification. Throws CameraFeatureError on a solar camera. */
  crossLine(): void {
    if (this.solar) throw new CameraFeatureError('a solar camera detects motion only: it has no line crossing detection');
    const objectId = ++this.lineCrossings;
    this.pullPoints.publish({
      topic: AnalyticsTopic.lineDetector,
      utcTime: new Date(this.clock()),
      source: this.analyticsSource(LINE_RULE),
      data: [{ name: 'ObjectId', value: String(objectId) }],
    });
    this.emit('lineCrossing', objectId);
  }

  private analyticsSource(rule: string): NotificationMessage['source'] {
    return [
      { name: 'VideoSourceConfigurationToken', value: VIDEO_SOURCE_CONFIG },
      { name: 'VideoAnalyticsConfigurationToken', value: VIDEO_ANALYTICS_CONFIG },
      { name: 'Rule', value: rule },
    ];
  }

  private intrusionMessages(operation: 'Initialized' | 'Changed'): NotificationMessage[] {
    if (this.solar) return [];
    return [
      {
        topic: AnalyticsTopic.fieldDetector,
        utcTime: new Date(this.clock()),
        propertyOperation: operation,
        source: this.analyticsSource(FIELD_RULE),
        data: [{ name: 'IsInside', value: String(this.intrusion) }],
      },
    ];
  }

  private motionMessages(operation: 'Initialized' | 'Changed'): NotificationMessage[] {
    const utcTime = new Date(this.clock());
    const value = String(this.motion);
    return [
      {
        topic: MotionTopic.cellMotion,
        utcTime,
        propertyOperation: operation,
        source: [
          { name: 'VideoSourceConfigurationToken', value: VIDEO_SOURCE_CONFIG },
          { name: 'Rule', value: MOTION_RULE },
        ],
        data: [{ name: 'IsMotion', value }],
      },
      {
        topic: MotionTopic.motionAlarm,
        utcTime,
        propertyOperation: operation,
        source: [{ name: 'Source', value: VIDEO_SOURCE }],
        data: [{ name: 'State', value }],
      },
    ];
  }

  /** Why a stream or snapshot request is refused under encryption: no key, or not the camera's. */
  private keyRefusal(query: URLSearchParams): 'key-required' | 'key-wrong' | undefined {
    if (!this.encryption) return undefined;
    const key = query.get('key');
    if (key === null || key === '') return 'key-required';
    const given = Buffer.from(key);
    const expected = Buffer.from(this.streamKey);
    return given.length === expected.length && timingSafeEqual(given, expected) ? undefined : 'key-wrong';
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
    // First, so that the answers it gives to waiting pulls are not delayed past the stop.
    this.pullPoints.close();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.motionPulse);
    this.motionPulse = undefined;
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
    const pullPoint = req.method === 'POST' && url.pathname.startsWith(PULL_POINT_PATH_PREFIX) ? url.pathname.slice(PULL_POINT_PATH_PREFIX.length) : undefined;
    const soapRoute = pullPoint !== undefined || SOAP_PATHS.some((path) => route === `POST ${path}`);
    if ((soapRoute || route === `GET ${SNAPSHOT_PATH}`) && !this.reachable) return this.hold(req);
    if (route === `GET ${SNAPSHOT_PATH}`) return this.onSnapshot(req, url, res);
    readBody(req, (body) => {
      if (body === undefined) return sendJson(res, 413, { statusCode: 413, code: 'BODY_TOO_LARGE', message: 'body too large' });
      if (route === 'POST /__sim/control') return this.onControl(body, res);
      if (soapRoute) {
        this.counters.soapRequests++;
        // A PullMessages answers once messages come; a requester that leaves first leaves them queued.
        const answered = this.answerSoap(body, pullPoint, (cancel) => res.once('close', cancel));
        void Promise.resolve(answered).then((answer) =>
          this.later(() => {
            // The link may have gone down while the answer was delayed.
            if (!this.reachable) return this.hold(req);
            if (res.destroyed) return;
            res.writeHead(answer.status, { 'content-type': SOAP_CONTENT_TYPE });
            res.end(answer.xml);
            this.emit('soap', answer.operation, answer.status);
          }),
        );
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
    const problem = controlProblem(input, {
      dropStream: dropStreamProblem,
      encryption: booleanProblem('encryption'),
      motion: motionProblem,
      intrusion: booleanProblem('intrusion'),
      lineCrossing: (v) => (v === true ? undefined : 'lineCrossing must be true'),
    });
    if (problem) return sendJson(res, 400, { statusCode: 400, code: 'BAD_CONTROL', message: problem });
    const c = input as {
      reachable?: boolean;
      latencyMs?: number;
      dropStream?: StreamDrop;
      encryption?: boolean;
      motion?: boolean | { pulseMs: number };
      intrusion?: boolean;
      lineCrossing?: true;
    };
    // Checked before anything changes, so that a refused control changes nothing.
    if (this.solar && (c.intrusion !== undefined || c.lineCrossing !== undefined)) {
      return sendJson(res, 409, { statusCode: 409, code: 'NOT_SUPPORTED', message: 'a solar camera detects motion only' });
    }
    if (c.latencyMs !== undefined) this.setLatency(c.latencyMs);
    if (c.reachable !== undefined) this.setReachable(c.reachable);
    if (c.encryption !== undefined) this.setEncryption(c.encryption);
    if (typeof c.motion === 'boolean') this.setMotion(c.motion);
    else if (c.motion !== undefined) this.pulseMotion(c.motion.pulseMs);
    if (c.intrusion !== undefined) this.setIntrusion(c.intrusion);
    if (c.lineCrossing) this.crossLine();
    const drop = c.dropStream;
    const dropped = drop ? this.rtsp.dropStream(streamPath(drop.stream), drop.ms, drop.mode ?? 'disconnect') : Promise.resolve();
    dropped.then(
      () => sendJson(res, 200, this.state),
      (e: unknown) => sendJson(res, 500, { statusCode: 500, code: 'DROP_FAILED', message: e instanceof Error ? e.message : String(e) }),
    );
  }

  /**
   * The answer to a SOAP request at a service path, or at the pull point `pullPoint` (a subscription id).
   * `abandoned` is told how to withdraw a pull that waits, should its requester go away.
   */
  private answerSoap(body: Buffer, pullPoint: string | undefined, abandoned: (cancel: () => void) => void): SoapAnswer | Promise<SoapAnswer> {
    const env = parseEnvelope(body);
    const operation = env.ok ? (env.value.operation ?? '') : '';
    const fault = (code: FaultCode, subcodes: string[], reason: string): SoapAnswer => ({
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
    let answer: string | OperationFault | Promise<string>;
    if (isPullPointOperation(operation) && pullPoint !== undefined) answer = this.answerPullPoint(operation, env.value, pullPoint, abandoned);
    else if (!isPullPointOperation(operation) && pullPoint === undefined) answer = this.answerOperation(operation, env.value);
    else {
      const where = pullPoint === undefined ? 'a subscription reference address' : 'a service address, not at a pull point';
      return fault(FaultCode.receiver, [FaultSubcode.actionNotSupported], `${operation} is answered at ${where}`);
    }
    const settle = (a: string | OperationFault): SoapAnswer =>
      typeof a === 'string' ? { operation, status: 200, xml: a } : fault(a.code ?? FaultCode.sender, a.subcodes, a.reason);
    return answer instanceof Promise ? answer.then(settle) : settle(answer);
  }

  /** The reply to a known, authorized operation, or the fault (Sender unless said) its arguments earn. */
  private answerOperation(operation: Exclude<Operation, PullPointOperation>, env: SoapEnvelope): string | OperationFault {
    if (isPtzOperation(operation)) {
      return this.ptz ? this.answerPtz(operation, env, this.ptz) : { code: FaultCode.receiver, subcodes: [FaultSubcode.actionNotSupported], reason: 'this camera has no PTZ' };
    }
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
        return buildGetCapabilitiesResponse({
          device: this.deviceServiceUrl,
          media: this.mediaServiceUrl,
          events: this.eventsServiceUrl,
          ...(this.ptz ? { ptz: this.ptzServiceUrl } : {}),
        });
      case 'GetServices': {
        const req = parseGetServicesRequest(env);
        const version = { major: 2, minor: 60 };
        return buildGetServicesResponse({
          services: [
            { service: 'device', xaddr: this.deviceServiceUrl, version },
            { service: 'media', xaddr: this.mediaServiceUrl, version },
            { service: 'events', xaddr: this.eventsServiceUrl, version },
            ...(this.ptz ? [{ service: 'ptz' as const, xaddr: this.ptzServiceUrl, version }] : []),
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
      case 'GetEventProperties':
        return buildGetEventPropertiesResponse(this.solar ? MOTION_TOPICS : [...MOTION_TOPICS, ...ANALYTICS_TOPICS]);
      case 'CreatePullPointSubscription': {
        const req = parseCreatePullPointSubscriptionRequest(env);
        if (!req.ok) return { subcodes: [FaultSubcode.invalidArgVal], reason: req.error };
        const sub = this.pullPoints.create(req.value.initialTerminationTime, req.value.topicFilter);
        if (!sub) return { code: FaultCode.receiver, subcodes: [FaultSubcode.action], reason: `at most ${MAX_SUBSCRIPTIONS} subscriptions at once` };
        return buildCreatePullPointSubscriptionResponse({
          address: this.pullPointUrl(sub.id),
          currentTime: new Date(this.clock()),
          terminationTime: new Date(sub.terminationAt),
        });
      }
    }
  }

  private pullPointUrl(id: string): string {
    return `http://${this.urlHost}:${this.httpPort}${PULL_POINT_PATH_PREFIX}${id}`;
  }

  /** The operations of one subscription, at its pull point address. */
  private answerPullPoint(
    operation: PullPointOperation,
    env: SoapEnvelope,
    id: string,
    abandoned: (cancel: () => void) => void,
  ): string | OperationFault | Promise<string> {
    const sub = this.pullPoints.get(id);
    if (!sub) return { subcodes: [FaultSubcode.invalidArgVal], reason: `no subscription ${id.slice(0, 64)}: unknown, ended or expired` };
    const times = () => ({ currentTime: new Date(this.clock()), terminationTime: new Date(sub.terminationAt) });
    switch (operation) {
      case 'PullMessages': {
        const req = parsePullMessagesRequest(env);
        if (!req.ok) return { subcodes: [FaultSubcode.invalidArgVal], reason: req.error };
        return new Promise<string>((resolve) => {
          const cancel = this.pullPoints.pull(sub, req.value.messageLimit, req.value.timeoutMs, (messages) =>
            resolve(buildPullMessagesResponse({ ...times(), messages, subscriptionAddress: this.pullPointUrl(id) })),
          );
          abandoned(cancel);
        });
      }
      case 'Renew': {
        const req = parseRenewRequest(env);
        if (!req.ok) return { subcodes: [FaultSubcode.invalidArgVal], reason: req.error };
        this.pullPoints.renew(sub, req.value.terminationTime);
        return buildRenewResponse(times());
      }
      case 'Unsubscribe':
        this.pullPoints.remove(sub);
        return buildUnsubscribeResponse();
      case 'SetSynchronizationPoint':
        this.pullPoints.synchronize(sub);
        return buildSetSynchronizationPointResponse();
    }
  }

  /** The PTZ service, on a camera that has a head. */
  private answerPtz(operation: PtzOperation, env: SoapEnvelope, head: PtzHead): string | OperationFault {
    switch (operation) {
      case 'GetNodes':
        return buildGetNodesResponse([{ token: PTZ_CONFIGURATION.nodeToken, name: PTZ_CONFIGURATION.name, maxPresets: MAX_PRESETS }]);
      case 'GetConfigurations':
        return buildGetConfigurationsResponse([{ configuration: PTZ_CONFIGURATION, useCount: STREAM_NAMES.length }]);
      case 'ContinuousMove': {
        const req = parseContinuousMoveRequest(env);
        if (!req.ok) return req.error;
        if (!this.streamOf(req.value.profileToken)) return noProfile(req.value.profileToken);
        head.move(req.value.velocity, req.value.timeoutMs ?? PTZ_CONFIGURATION.defaultTimeoutMs);
        return buildPtzAck('ContinuousMove');
      }
      case 'Stop': {
        const req = parseStopRequest(env);
        if (!req.ok) return req.error;
        if (!this.streamOf(req.value.profileToken)) return noProfile(req.value.profileToken);
        head.stop(req.value.panTilt, req.value.zoom);
        return buildPtzAck('Stop');
      }
      case 'GetStatus':
      case 'GetPresets': {
        const req = parseProfileTokenRequest(env, operation);
        if (!req.ok) return req.error;
        if (!this.streamOf(req.value.profileToken)) return noProfile(req.value.profileToken);
        if (operation === 'GetPresets') return buildGetPresetsResponse(head.presets);
        return buildGetStatusResponse({ position: head.position, ...head.moving, utcTime: new Date(this.clock()) });
      }
      case 'SetPreset': {
        const req = parseSetPresetRequest(env);
        if (!req.ok) return req.error;
        if (!this.streamOf(req.value.profileToken)) return noProfile(req.value.profileToken);
        const set = head.setPreset(req.value.name, req.value.presetToken);
        if ('token' in set) return buildSetPresetResponse(set.token);
        if (set.refused === 'noToken') return noPreset(req.value.presetToken ?? '');
        if (set.refused === 'nameTaken') return { subcodes: [FaultSubcode.invalidArgVal, PtzFaultSubcode.presetExist], reason: `a preset is named ${req.value.name ?? ''}` };
        return { code: FaultCode.receiver, subcodes: [FaultSubcode.action, PtzFaultSubcode.tooManyPresets], reason: `at most ${MAX_PRESETS} presets` };
      }
      case 'GotoPreset':
      case 'RemovePreset': {
        const req = parsePresetRequest(env, operation);
        if (!req.ok) return req.error;
        if (!this.streamOf(req.value.profileToken)) return noProfile(req.value.profileToken);
        const done = operation === 'GotoPreset' ? head.gotoPreset(req.value.presetToken) : head.removePreset(req.value.presetToken);
        return done ? buildPtzAck(operation) : noPreset(req.value.presetToken);
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
      videoSource: { token: VIDEO_SOURCE_CONFIG, name: 'VideoSourceConfig', sourceToken: VIDEO_SOURCE, width: main.width, height: main.height },
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
      ...(this.ptz ? { ptz: PTZ_CONFIGURATION } : {}),
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
    const refusal = this.keyRefusal(url.searchParams);
    if (refusal) {
      res.writeHead(403, { [STREAM_ENCRYPTION_HEADER]: refusal, 'content-type': 'text/plain' });
      res.end(`image and video encryption: ${refusal}`);
      return;
    }
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

const noPreset = (token: string) => ({
  subcodes: [FaultSubcode.invalidArgVal, PtzFaultSubcode.noToken],
  reason: `The requested preset token ${token} does not exist`,
});

interface SoapAnswer {
  operation: string;
  status: number;
  xml: string;
}

interface OperationFault {
  code?: FaultCode;
  subcodes: string[];
  reason: string;
}

/** A six-letter code derived from the serial, like the one printed on a device label. */
export function verificationCodeFor(serial: string): string {
  const h = createHash('sha256').update(`vigil-code:${serial}`).digest();
  const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
  return Array.from(h.subarray(0, 6), (b) => letters[b % letters.length]).join('');
}


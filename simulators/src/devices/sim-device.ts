import { createHash, randomBytes } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { clampLatency, controlProblem, readBody, sendJson } from '../http.js';
import type { AddressInfo } from 'node:net';
import type {
  LanDeviceClass,
  SadpCapability} from '@vigil/protocol';
import {
  ADMIN_ACCESSES_PATH,
  ALERT_STREAM_PATH,
  AccessProtocol,
  CONTENT_SEARCH_PATH,
  DigestClient,
  DigestServer,
  FACTORY_RESET_FULL,
  HddStatus,
  ISAPI_CONTENT_TYPE,
  IsapiPath,
  IsapiStatusCode,
  IsapiSubStatus,
  SADP_MULTICAST_GROUP,
  SADP_PORT,
  VLAN_PATH,
  VideoCodec,
  buildAdminAccesses,
  buildDeviceInfo,
  buildEzviz,
  buildFirmwareStatus,
  buildInputProxyChannelList,
  buildIpAddress,
  buildMotionDetection,
  buildResponseStatus,
  buildSadpProbeMatch,
  buildStorage,
  buildStreamingChannel,
  buildTime,
  buildVlanConfig,
  devicePasswordProblem,
  isoLocalTime,
  isP2pSerial,
  lanChannels,
  parseActivateInfo,
  parseChannelOrder,
  parseEzviz,
  parseIpAddress,
  parseMotionDetection,
  parseNewInputProxyChannel,
  parseSadpProbe,
  parseStreamingChannel,
  parseTime,
  parseVlanUpdate,
  responseStatus,
  shortSerial,
  streamKeyFor,
  verificationCodeProblem,
  type Hdd,
  type InputProxyChannel,
  type LanNetwork,
  type MotionDetection,
  type P2pInfoData,
  type P2pIsapiRequestData,
  type Result,
  type VlanRefusal,
} from '@vigil/protocol';
import {
  DEVICE_SERVICE_PATH,
  DEVICE_TYPE,
  FaultCode,
  FaultSubcode,
  NETWORK_VIDEO_TRANSMITTER,
  OnvifScope,
  UsernameTokenVerifier,
  WSD_PORT,
  buildFault,
  buildGetDeviceInformationResponse,
  buildGetSystemDateAndTimeResponse,
  buildProbeMatches,
  faultHttpStatus,
  parseEnvelope,
  parseProbe,
  probeMatches,
  scope,
} from '@vigil/protocol/onvif';
import { endpointReferenceFor } from '../camera/ip-camera.js';
import { RecorderAlerts, alertInputProblem, type RecorderAlertInput } from '../recorder/alerts.js';
import type { RecordingGap } from '../recorder/recordings.js';
import { RecorderVideo } from '../recorder/video.js';
import type { RtspStreamInfo, RtspStreamSpec } from '../rtsp/index.js';
import { PlatformClient, platformMqttUrl, type PlatformIsapiAnswer } from './platform-client.js';
import { SwitchVlans } from './switch-vlan.js';
import { UdpHub, type UdpHandler } from './udp-hub.js';

export interface SimHddSpec {
  capacityMb?: number;
  status?: HddStatus;
  hasData?: boolean;
}

/** An IP channel to add at start: another (simulated) camera's address, ISAPI port and account. */
export interface SimChannelSpec {
  ip: string;
  port: number;
  username?: string;
  password?: string;
  name?: string;
}

export interface SimDeviceFlags {
  /** NVR with PoE ports, their channels created and enabled by default. */
  poe?: boolean;
  /** EI-series switch. */
  eiSeries?: boolean;
  /** Solar-powered camera. */
  solar?: boolean;
  ptz?: boolean;
  thermal?: boolean;
  /** AX HOME alarm panel: no verification code, added to a site only by serial (from the mobile app). */
  axHome?: boolean;
}

export interface SimAccessPoint {
  serial: string;
  model?: string;
}

export interface SimDeviceOptions {
  class: LanDeviceClass;
  model?: string;
  /** Long or short; generated (long form) when absent. */
  serial?: string;
  name?: string;
  /** The device's address (default 127.0.0.1): reported by discovery and listened on. */
  ip?: string;
  /** Listen here instead of on `ip` (e.g. 0.0.0.0); the device then never moves when its IP changes. */
  listenIp?: string;
  /** Interface address on which to join the multicast group (default the listen address). */
  multicastInterface?: string;
  mask?: string;
  gateway?: string;
  dns?: string;
  dhcp?: boolean;
  /** What a DHCP server would hand out; without it, turning DHCP on keeps the current address. */
  dhcpLease?: { ip: string; mask?: string; gateway?: string; dns?: string };
  mac?: string;
  /** 0 (default) picks a free port. */
  httpPort?: number;
  /** Reported in discovery only. */
  commandPort?: number;
  activated?: boolean;
  username?: string;
  /** Needed when activated (default Abcd12345). */
  password?: string;
  /** Initial verification code (label or platform access); activation may set another one. */
  verificationCode?: string;
  latencyMs?: number;
  reachable?: boolean;
  firmware?: string;
  /** A newer firmware on offer; absent = up to date. */
  latestFirmware?: string;
  capabilities?: SadpCapability[];
  flags?: SimDeviceFlags;
  /** Disks (recorders) or SD cards (cameras). */
  hdds?: SimHddSpec[];
  /** NVR: IP channel count (default 8); DVR: IP channels besides analog ones (default 2). */
  ipChannels?: number;
  /** PoE NVR: PoE ports (default = ipChannels); switch: PoE ports (default 8). */
  poePorts?: number;
  /** Switch: ports after the PoE ones (default 2); the ports are numbered 1..poePorts+uplinkPorts. */
  uplinkPorts?: number;
  /** Switch: link aggregation groups, each a list of port numbers (their VLANs cannot be configured). */
  aggregation?: number[][];
  /** Switch: the most VLANs one batch may add (model-dependent, default 8). */
  maxVlansPerBatch?: number;
  /** DVR: analog inputs (default 8). */
  analogChannels?: number;
  /** AC router: its access points. */
  accessPoints?: SimAccessPoint[];
  /** NVR/DVR: IP channels added at start. */
  channels?: SimChannelSpec[];
  /** Time a reboot keeps the device silent (default 0). */
  rebootMs?: number;
  /** Initial clock offset from the host clock, and time zone (POSIX style, e.g. CST-8:00:00). */
  clockOffsetMs?: number;
  timeZone?: string;
  /** How long the NVR waits for a channel's camera when checking it (default 1000). */
  channelCheckTimeoutMs?: number;
  /** The platform's base URL (http(s)://host:port) the Hik-Connect service connects to. */
  platformUrl?: string;
  /** Hik-Connect service initially enabled (default false). */
  hikConnect?: boolean;
  /** NVR/DVR: the RTSP port of live channels and playback; 0 (default) picks a free port. */
  rtspPort?: number;
  /** NVR/DVR: image and video encryption: RTSP URLs need `key=streamKeyFor(serial, verificationCode)`. */
  encryption?: boolean;
  /** NVR/DVR: how far back recordings reach (default 24). */
  recordingHours?: number;
  /** NVR/DVR: times without recordings (default: 120 to 90 minutes before start, every channel). */
  recordingGaps?: RecordingGap[];
  /** NVR/DVR: the channels' main and sub stream (default 1280x720 and 640x360 H.264). */
  channelStreams?: { main?: RtspStreamSpec; sub?: RtspStreamSpec };
  /** NVR/DVR: how often the alert stream's heartbeat (videoloss inactive) is written (default 10 s). */
  alertHeartbeatMs?: number;
}

/** One entry of the CLI's ready line. */
export interface SimDeviceEndpoints {
  serial: string;
  shortSerial: string | null;
  class: LanDeviceClass;
  model: string;
  mac: string;
  ip: string;
  listenIp: string;
  httpPort: number;
  sadpPort: number;
  /** WS-Discovery port; null for devices without ONVIF. */
  wsdPort: number | null;
  /** RTSP port of an NVR/DVR; null for other devices. */
  rtspPort: number | null;
  activated: boolean;
}

export interface SimDeviceEvents {
  /** An HTTP request was answered (after the latency). */
  request: [method: string, path: string, status: number];
  /** A SADP probe was answered (after the latency). */
  sadp: [uuid: string];
  /** A WS-Discovery probe was answered. */
  wsd: [messageId: string];
  /** The IP changed; `listening` says whether the device now listens there. */
  moved: [ip: string, listening: boolean];
  reboot: [];
  reset: [];
  dropped: [kind: 'http' | 'udp'];
  /** The connection to the platform came up or went down. */
  platform: [connected: boolean];
}

interface Settings {
  network: LanNetwork;
  motion: MotionDetection;
  codec: VideoCodec;
  ezvizEnabled: boolean;
  clockOffsetMs: number;
  timeZone: string;
  channels: InputProxyChannel[];
  sortedOnce: boolean;
  /** Switches: the VLAN table and port modes. */
  vlans: SwitchVlans | null;
}

/** Hubs shared by the devices of one process (see DeviceHost); a device started alone makes its own. */
export interface SimHubs {
  sadp: UdpHub;
  wsd: UdpHub;
}

interface Answer {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
  /** Runs once the answer is sent (moves, reboots, resets). */
  after?: () => void | Promise<void>;
}

const SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';

const DEFAULT_MODEL: Record<LanDeviceClass, string> = {
  camera: 'DS-2CD2143G2-I',
  nvr: 'DS-7608NXI-K2',
  dvr: 'iDS-7208HQHI-M1/S',
  switch: 'DS-3E1510P-SI',
  ac_router: 'DS-3WR15X',
  ap: 'DS-3WAP521-SI',
  alarm_panel: 'DS-PWA96-M-WE',
  access_control: 'DS-K1T671M',
  intercom: 'DS-KV6113-WPE1',
  doorbell: 'DS-KB6003-WIP',
  edge_box: 'DS-HPC-BOX',
  other: 'DS-OTHER',
};

function defaultModel(cls: LanDeviceClass, flags: SimDeviceFlags): string {
  if (cls === 'camera') {
    if (flags.ptz) return 'DS-2DE4425IW-DE';
    if (flags.thermal) return 'DS-2TD2617-10/PA';
    if (flags.solar) return 'DS-2XS6A47G1-LS/C36S80';
  }
  if (cls === 'nvr' && flags.poe) return 'DS-7608NXI-K2/8P';
  if (cls === 'alarm_panel' && flags.axHome) return 'DS-PHA20-W2P';
  if (cls === 'switch' && flags.eiSeries) return 'DS-3E1510P-EI';
  return DEFAULT_MODEL[cls];
}

function defaultCapabilities(cls: LanDeviceClass): SadpCapability[] {
  if (cls === 'camera') return ['smartH265', 'md2', 'hikConnect'];
  if (cls === 'ap' || cls === 'other') return [];
  return ['hikConnect'];
}

/** A long serial in the Hik layout: model, production date, batch letters, nine digits. */
export function longSerialFor(model: string, seed: string): string {
  const h = createHash('sha256').update(`vigil-serial:${seed}`).digest();
  const digits = Array.from(h.subarray(0, 9), (b) => String(b % 10)).join('');
  return `${model}20240101AACH${'ABCDEFGHJK'[h[9]! % 10]}${digits}`;
}

/** A stable locally administered MAC from the serial. */
export function macFor(serial: string): string {
  const h = createHash('sha256').update(`vigil-mac:${serial}`).digest();
  const bytes = [0x02, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Minutes east of UTC of a POSIX-style zone such as CST-8:00:00 (UTC+8); 0 when unreadable. */
export function zoneOffsetMinutes(zone: string): number {
  const m = /^[A-Za-z]{3,}([+-]?)(\d{1,2})(?::(\d{2}))?/.exec(zone);
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? minutes : -minutes;
}


/**
 * A simulated LAN device of any class: answers SADP probes, WS-Discovery (cameras and recorders), an ONVIF
 * device service and the ISAPI-style HTTP API with Digest authentication, on its own address and HTTP port.
 * Every answer waits for the configured latency. `/__sim/state` and `/__sim/control` expose and steer it.
 */
export class SimDevice extends EventEmitter<SimDeviceEvents> {
  readonly deviceClass: LanDeviceClass;
  readonly model: string;
  readonly serial: string;
  readonly mac: string;
  readonly flags: Readonly<SimDeviceFlags>;
  readonly capabilities: readonly SadpCapability[];
  private readonly opts: SimDeviceOptions;
  private readonly digest: DigestServer;
  private readonly onvifVerifier: UsernameTokenVerifier;
  private activated: boolean;
  private username: string;
  private password: string | undefined;
  private verificationCode: string | undefined;
  private firmware: string;
  private latestFirmware: string;
  private latency: number;
  private reachable: boolean;
  private rebooting = false;
  private platformUrl: string | null;
  private platform: PlatformClient | undefined;
  private settings: Settings;
  private hdds: Hdd[];
  private listenIp: string;
  private httpPort = 0;
  private sadpPort = 0;
  private wsdPort = 0;
  private server: Server | undefined;
  /** NVR/DVR: live channel streams, recordings and playback. */
  private readonly video: RecorderVideo | undefined;
  /** NVR/DVR: the alert streams and the events fired on them. */
  private readonly alerts: RecorderAlerts | undefined;
  private hubs: SimHubs | undefined;
  private ownHubs = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly held = new Set<IncomingMessage>();
  private readonly counters = { http: 0, authFailures: 0, sadpProbes: 0, sadpAnswers: 0, wsdProbes: 0, reboots: 0, resets: 0, dropped: 0 };
  private readonly sadpHandler: UdpHandler = (msg, from, reply) => this.onSadp(msg, from, reply);
  private readonly wsdHandler: UdpHandler = (msg, from, reply) => this.onWsd(msg, from, reply);

  constructor(opts: SimDeviceOptions) {
    super();
    this.opts = opts;
    this.deviceClass = opts.class;
    this.flags = { ...(opts.flags ?? {}) };
    this.model = opts.model ?? defaultModel(opts.class, this.flags);
    this.serial = opts.serial ?? longSerialFor(this.model, `${opts.ip ?? ''}:${randomBytes(6).toString('hex')}`);
    this.mac = (opts.mac ?? macFor(this.serial)).toLowerCase().replace(/-/g, ':');
    this.capabilities = opts.capabilities ?? defaultCapabilities(opts.class);
    this.activated = opts.activated ?? false;
    this.username = opts.username ?? 'admin';
    this.password = this.activated ? (opts.password ?? 'Abcd12345') : undefined;
    this.verificationCode = this.supportsVerificationCode ? opts.verificationCode : undefined;
    this.firmware = opts.firmware ?? 'V5.7.0 build 240101';
    this.latestFirmware = opts.latestFirmware ?? '';
    this.latency = clampLatency(opts.latencyMs ?? 0);
    this.reachable = opts.reachable ?? true;
    if (opts.platformUrl !== undefined && platformMqttUrl(opts.platformUrl) === null) {
      throw new TypeError(`platformUrl must be an http(s) URL: ${JSON.stringify(opts.platformUrl)}`);
    }
    this.platformUrl = opts.platformUrl ?? null;
    this.settings = this.initialSettings();
    this.hdds = this.initialHdds();
    this.listenIp = opts.listenIp ?? this.settings.network.ipv4;
    this.digest = new DigestServer({ realm: this.model, users: (u) => (u === this.username ? this.password : undefined) });
    this.onvifVerifier = new UsernameTokenVerifier({
      users: (u: string) => (this.activated && u === this.username ? this.password : undefined),
      now: () => this.now(),
    });
    this.video = this.isRecorder
      ? new RecorderVideo({
          listenHost: this.listenIp,
          port: opts.rtspPort ?? 0,
          realm: this.model,
          account: () => (this.activated && this.password !== undefined ? { username: this.username, password: this.password } : undefined),
          channels: () => this.videoChannels(),
          now: () => this.now(),
          label: shortSerial(this.serial) ?? this.serial,
          recording: { ...(opts.recordingHours === undefined ? {} : { hours: opts.recordingHours }), ...(opts.recordingGaps ? { gaps: opts.recordingGaps } : {}) },
          ...(opts.channelStreams ? { streams: opts.channelStreams } : {}),
          streamKey: () => (this.opts.encryption ? streamKeyFor(this.serial, this.verificationCode ?? '') : undefined),
        })
      : undefined;
    this.alerts = this.isRecorder
      ? new RecorderAlerts({
          ipAddress: () => this.ip,
          portNo: () => this.httpPort,
          now: () => this.now(),
          zoneOffsetMinutes: () => zoneOffsetMinutes(this.settings.timeZone),
          channels: () => this.videoChannels(),
          sending: () => this.up,
          ...(opts.alertHeartbeatMs === undefined ? {} : { heartbeatMs: opts.alertHeartbeatMs }),
        })
      : undefined;
  }

  // ------------------------------------------------------------------------------------------ properties

  get hasOnvif(): boolean {
    return this.deviceClass === 'camera' || this.deviceClass === 'nvr' || this.deviceClass === 'dvr';
  }

  /** Everything but alarm panels can be activated over the LAN (manual §3.1.2). */
  get initializable(): boolean {
    return this.deviceClass !== 'alarm_panel';
  }

  /** The AC router needs no verification code for Hik-Connect (§3.1.1, §3.1.4); an AX HOME panel has none. */
  get supportsVerificationCode(): boolean {
    return this.deviceClass !== 'ac_router' && this.deviceClass !== 'ap' && !this.isAxHome;
  }

  get isAxHome(): boolean {
    return this.deviceClass === 'alarm_panel' && this.flags.axHome === true;
  }

  get isRecorder(): boolean {
    return this.deviceClass === 'nvr' || this.deviceClass === 'dvr';
  }

  get ip(): string {
    return this.settings.network.ipv4;
  }

  get isActivated(): boolean {
    return this.activated;
  }

  get endpoints(): SimDeviceEndpoints {
    return {
      serial: this.serial,
      shortSerial: shortSerial(this.serial),
      class: this.deviceClass,
      model: this.model,
      mac: this.mac,
      ip: this.ip,
      listenIp: this.listenIp,
      httpPort: this.httpPort,
      sadpPort: this.sadpPort,
      wsdPort: this.hasOnvif ? this.wsdPort : null,
      rtspPort: this.video && this.server ? this.video.port : null,
      activated: this.activated,
    };
  }

  /** An NVR/DVR's RTSP streams: live channels and running playbacks. */
  videoStreams(): RtspStreamInfo[] {
    return this.video?.rtsp.streams() ?? [];
  }

  /** The device clock (ms since the epoch). */
  now(): number {
    return Date.now() + this.settings.clockOffsetMs;
  }

  /** A JSON dump of the whole device (served at /__sim/state). */
  get state() {
    return {
      ...this.endpoints,
      name: this.opts.name ?? `${this.model} ${shortSerial(this.serial) ?? this.serial}`,
      flags: this.flags,
      capabilities: this.capabilities,
      running: this.server !== undefined,
      reachable: this.reachable,
      rebooting: this.rebooting,
      latencyMs: this.latency,
      username: this.username,
      password: this.password ?? null,
      verificationCode: this.verificationCode ?? null,
      firmware: this.firmware,
      latestFirmware: this.latestFirmware,
      network: { ...this.settings.network },
      clock: { now: this.now(), offsetMs: this.settings.clockOffsetMs, timeZone: this.settings.timeZone },
      motionDetection: { ...this.settings.motion },
      videoCodec: this.settings.codec,
      hikConnect: { supported: this.capabilities.includes('hikConnect'), enabled: this.settings.ezvizEnabled },
      platform: { url: this.platformUrl, connected: this.platform?.connected ?? false },
      hdds: this.hdds.map((h) => ({ ...h })),
      channels: this.settings.channels.map(({ password: _pw, ...c }) => ({ ...c })),
      sortedOnce: this.settings.sortedOnce,
      analogChannels: this.deviceClass === 'dvr' ? (this.opts.analogChannels ?? 8) : 0,
      poePorts: this.poePorts,
      accessPoints: this.opts.accessPoints ?? [],
      vlan: this.settings.vlans?.config ?? null,
      alertStreams: this.alerts?.openStreams ?? 0,
      activeEvents: this.alerts?.active ?? [],
      counters: { ...this.counters },
    };
  }

  private get poePorts(): number {
    if (this.deviceClass === 'nvr' && this.flags.poe) return this.opts.poePorts ?? this.maxChannels;
    if (this.deviceClass === 'switch') return this.opts.poePorts ?? 8;
    return 0;
  }

  private get maxChannels(): number {
    if (this.deviceClass === 'nvr') return this.opts.ipChannels ?? 8;
    if (this.deviceClass === 'dvr') return this.opts.ipChannels ?? 2;
    return 0;
  }

  private initialSettings(): Settings {
    const o = this.opts;
    const md2 = this.capabilities.includes('md2');
    const smart = this.capabilities.includes('smartH265');
    const channels: InputProxyChannel[] = [];
    if (this.deviceClass === 'nvr' && this.flags.poe) {
      const ports = Math.min(this.opts.poePorts ?? this.opts.ipChannels ?? 8, this.opts.ipChannels ?? 8);
      for (let i = 1; i <= ports; i++) {
        channels.push({ id: i, name: `PoE ${i}`, ipAddress: `192.168.254.${i + 1}`, managementPort: 8000, username: 'admin', order: i, online: false, poe: true });
      }
    }
    return {
      network: { dhcp: o.dhcp ?? false, ipv4: o.ip ?? '127.0.0.1', mask: o.mask ?? '255.255.255.0', gateway: o.gateway ?? '', dns: o.dns ?? '' },
      motion: { enabled: false, version: md2 ? '2.0' : '1.0', wholeImage: false, sensitivity: 50, notifySurveillanceCenter: false },
      codec: smart ? 'Smart H.264+' : 'H.264',
      ezvizEnabled: o.hikConnect ?? false,
      clockOffsetMs: o.clockOffsetMs ?? 0,
      timeZone: o.timeZone ?? 'UTC+00:00',
      channels,
      sortedOnce: false,
      vlans:
        this.deviceClass === 'switch'
          ? new SwitchVlans({
              ports: this.poePorts + (o.uplinkPorts ?? 2),
              ...(o.aggregation ? { aggregation: o.aggregation } : {}),
              ...(o.maxVlansPerBatch === undefined ? {} : { maxVlansPerBatch: o.maxVlansPerBatch }),
            })
          : null,
    };
  }

  private initialHdds(): Hdd[] {
    const specs = this.opts.hdds ?? (this.isRecorder ? [{}] : []);
    const type = this.deviceClass === 'camera' ? 'sd' : 'hdd';
    return specs.map((h, i) => ({
      id: i + 1,
      type,
      capacityMb: h.capacityMb ?? (type === 'sd' ? 122_070 : 1_907_729),
      status: h.status ?? (h.hasData ? HddStatus.ok : HddStatus.new),
      hasData: h.hasData ?? false,
    }));
  }

  private get supportedCodecs(): VideoCodec[] {
    const list: VideoCodec[] = [VideoCodec.h264, VideoCodec.h265, VideoCodec.smartH264];
    if (this.capabilities.includes('smartH265')) list.push(VideoCodec.smartH265);
    return list;
  }

  // -------------------------------------------------------------------------------------------- control

  setLatency(ms: number): void {
    this.latency = clampLatency(ms);
  }

  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (reachable && !this.rebooting) this.releaseHeld();
    this.syncPlatform();
  }

  /** Points the Hik-Connect service at another platform (base URL), or at none. */
  setPlatformUrl(url: string | null): void {
    if (url !== null && platformMqttUrl(url) === null) throw new TypeError(`platformUrl must be an http(s) URL: ${JSON.stringify(url)}`);
    this.platformUrl = url;
    this.syncPlatform();
  }

  setLatestFirmware(version: string): void {
    this.latestFirmware = version;
  }

  /** Marks a disk as holding recordings (or not). */
  setHddData(id: number, hasData: boolean): void {
    const h = this.hdds.find((d) => d.id === id);
    if (h) {
      h.hasData = hasData;
      if (hasData) h.status = HddStatus.ok;
    }
  }

  private get up(): boolean {
    return this.reachable && !this.rebooting;
  }

  // ------------------------------------------------------------------------------------------ platform

  /** The short serial when the P2P service can know the device by it. */
  private get p2pSerial(): string | null {
    const short = shortSerial(this.serial);
    return short !== null && isP2pSerial(short) ? short : null;
  }

  private get p2pInfo(): P2pInfoData {
    const s = this.state;
    return {
      serial: this.serial,
      deviceClass: this.deviceClass,
      model: this.model,
      firmware: this.firmware,
      name: s.name,
      // What the device's SADP answer implies.
      channels: lanChannels(this.deviceClass, s.analogChannels, this.maxChannels),
    };
  }

  /** Connects to the platform, reconnects with a new verification code, or leaves, as the device's state calls for. */
  private syncPlatform(): void {
    const url = this.platformUrl;
    const short = this.p2pSerial;
    const wanted = this.server !== undefined && this.capabilities.includes('hikConnect') && this.activated && this.settings.ezvizEnabled && this.up;
    if (this.platform && (!wanted || this.platform.platformUrl !== url)) void this.leavePlatform();
    if (!wanted || url === null || short === null) return;
    if (!this.platform) {
      const client = new PlatformClient({ platformUrl: url, shortSerial: short, isapi: (r) => this.answerPlatform(r) });
      client.on('connected', () => this.emit('platform', true));
      client.on('disconnected', () => this.emit('platform', false));
      this.platform = client;
    }
    this.platform.start({ ...(this.verificationCode === undefined ? {} : { password: this.verificationCode }), info: this.p2pInfo });
  }

  private async leavePlatform(): Promise<void> {
    const client = this.platform;
    this.platform = undefined;
    await client?.stop();
  }

  // ---------------------------------------------------------------------------------------- life cycle

  async start(hubs?: SimHubs): Promise<SimDeviceEndpoints> {
    if (this.server) return this.endpoints;
    if (!hubs) {
      hubs = {
        sadp: new UdpHub({ port: SADP_PORT, group: SADP_MULTICAST_GROUP, multicast: true }),
        wsd: new UdpHub({ port: WSD_PORT, group: SADP_MULTICAST_GROUP, multicast: true }),
      };
      this.ownHubs = true;
    }
    this.hubs = hubs;
    try {
      this.server = await this.listen(this.listenIp, this.opts.httpPort ?? 0);
      this.httpPort = (this.server.address() as AddressInfo).port;
      await this.registerUdp(this.listenIp);
      if (this.opts.channels?.length) for (const c of this.opts.channels) await this.addChannel({ ipAddress: c.ip, managementPort: c.port, username: c.username ?? 'admin', password: c.password ?? '', ...(c.name ? { name: c.name } : {}) });
      await this.video?.start();
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.syncPlatform();
    return this.endpoints;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const hubs = this.hubs;
    this.server = undefined;
    this.hubs = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.releaseHeld();
    this.alerts?.close();
    await this.leavePlatform();
    await this.video?.stop();
    if (hubs) {
      hubs.sadp.unregister(this.listenIp, this.sadpHandler);
      hubs.wsd.unregister(this.listenIp, this.wsdHandler);
      if (this.ownHubs) await Promise.all([hubs.sadp.close(), hubs.wsd.close()]);
    }
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
  }

  private listen(ip: string, port: number): Promise<Server> {
    const server = createServer((req, res) => this.onHttp(req, res));
    return new Promise<Server>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, ip, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  private async registerUdp(ip: string): Promise<void> {
    const hubs = this.hubs!;
    const iface = this.opts.multicastInterface;
    this.sadpPort = await hubs.sadp.register(ip, this.sadpHandler, iface);
    if (this.hasOnvif) this.wsdPort = await hubs.wsd.register(ip, this.wsdHandler, iface);
  }

  /**
   * Applies a new address: listens there if this process can bind it (and the device listens on its own
   * address), otherwise only records it.
   */
  private async moveTo(ip: string): Promise<void> {
    const old = this.listenIp;
    if (!this.server || !this.hubs || ip === old || this.opts.listenIp !== undefined) {
      this.emit('moved', ip, ip === old);
      return;
    }
    let next: Server;
    try {
      next = await this.listen(ip, this.httpPort);
    } catch {
      this.emit('moved', ip, false);
      return;
    }
    try {
      this.listenIp = ip;
      await this.registerUdp(ip);
    } catch {
      this.listenIp = old;
      next.close();
      this.emit('moved', ip, false);
      return;
    }
    this.hubs.sadp.unregister(old, this.sadpHandler);
    this.hubs.wsd.unregister(old, this.wsdHandler);
    const prev = this.server;
    this.server = next;
    prev.close();
    prev.closeAllConnections();
    this.emit('moved', ip, true);
  }

  private reboot(): void {
    this.counters.reboots++;
    this.alerts?.close();
    const ms = this.opts.rebootMs ?? 0;
    if (ms > 0) {
      this.rebooting = true;
      this.syncPlatform();
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.rebooting = false;
        if (this.reachable) this.releaseHeld();
        this.syncPlatform();
      }, ms);
      this.timers.add(t);
    }
    this.emit('reboot');
  }

  /** Back to the factory state: unactivated, settings and non-PoE channels gone, recordings kept. */
  async factoryReset(): Promise<void> {
    this.counters.resets++;
    this.activated = false;
    this.password = undefined;
    this.verificationCode = this.supportsVerificationCode ? this.opts.verificationCode : undefined;
    this.digest.reset();
    const before = this.ip;
    this.settings = this.initialSettings();
    await this.video?.syncChannels();
    this.syncPlatform();
    this.emit('reset');
    if (this.ip !== before) await this.moveTo(this.ip);
  }

  // ------------------------------------------------------------------------------------------- timing

  private later(fn: () => void): void {
    if (this.latency === 0) return fn();
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

  // --------------------------------------------------------------------------------------------- UDP

  private onSadp(msg: Buffer, _from: RemoteInfo, reply: (b: Buffer) => void): void {
    if (!this.up) {
      this.counters.dropped++;
      this.emit('dropped', 'udp');
      return;
    }
    const probe = parseSadpProbe(msg);
    if (!probe.ok) return;
    this.counters.sadpProbes++;
    const uuid = probe.value.uuid;
    this.later(() => {
      if (!this.up || !this.server) return;
      const n = this.settings.network;
      const answer = buildSadpProbeMatch({
        uuid,
        deviceClass: this.deviceClass,
        model: this.model,
        serial: this.serial,
        mac: this.mac,
        ipv4: n.ipv4,
        mask: n.mask,
        gateway: n.gateway,
        dns: n.dns,
        dhcp: n.dhcp,
        httpPort: this.httpPort,
        commandPort: this.opts.commandPort ?? 8000,
        firmware: this.firmware,
        activated: this.activated,
        poe: this.deviceClass === 'nvr' && this.flags.poe === true,
        eiSeries: this.deviceClass === 'switch' && this.flags.eiSeries === true,
        solar: this.deviceClass === 'camera' && this.flags.solar === true,
        capabilities: [...this.capabilities],
        // A camera is a channel itself and answers 0/0; an NVR its IP channel capacity; a DVR its analog inputs (+ IP channels).
        analogChannels: this.deviceClass === 'dvr' ? (this.opts.analogChannels ?? 8) : 0,
        digitalChannels: this.maxChannels,
      });
      this.counters.sadpAnswers++;
      reply(Buffer.from(answer));
      this.emit('sadp', uuid);
    });
  }

  private get deviceServiceUrl(): string {
    return `http://${this.ip}:${this.httpPort}${DEVICE_SERVICE_PATH}`;
  }

  private onWsd(msg: Buffer, _from: RemoteInfo, reply: (b: Buffer) => void): void {
    if (!this.up) {
      this.counters.dropped++;
      this.emit('dropped', 'udp');
      return;
    }
    const probe = parseProbe(msg);
    if (!probe.ok) return;
    this.counters.wsdProbes++;
    const types = [NETWORK_VIDEO_TRANSMITTER, DEVICE_TYPE];
    const scopes = [
      scope(OnvifScope.type, this.deviceClass === 'camera' ? 'video_encoder' : 'NVR'),
      scope(OnvifScope.profile, 'Streaming'),
      scope(OnvifScope.hardware, this.model),
      scope(OnvifScope.name, this.state.name),
    ];
    if (!probeMatches(probe.value, types, scopes)) return;
    const messageId = probe.value.messageId;
    this.later(() => {
      if (!this.up || !this.server) return;
      const xml = buildProbeMatches({
        relatesTo: messageId,
        matches: [{ endpointReference: endpointReferenceFor(this.serial), types, scopes, xAddrs: [this.deviceServiceUrl], metadataVersion: 1 }],
      });
      reply(Buffer.from(xml));
      this.emit('wsd', messageId);
    });
  }

  // -------------------------------------------------------------------------------------------- HTTP

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://device');
    const method = req.method ?? 'GET';
    if (url.pathname === '/__sim/state' && method === 'GET') return sendJson(res, 200, this.state);
    if (url.pathname !== '/__sim/control' && !this.up) return this.hold(req);
    if (url.pathname === ALERT_STREAM_PATH && method === 'GET' && this.alerts) return this.openAlertStream(req, res, this.alerts);
    readBody(req, (body) => {
      if (url.pathname === '/__sim/control' && method === 'POST') return this.onControl(body, res);
      this.counters.http++;
      const answering: Promise<Answer> =
        body === undefined
          ? Promise.resolve(this.status(413, url.pathname, IsapiStatusCode.invalidOperation, IsapiSubStatus.badXmlContent, 'body too large'))
          : this.answerOrFail(method, url, req.url ?? '/', body, req.headers.authorization);
      void answering.then((a) =>
        this.later(() => {
          if (!this.up) return this.hold(req);
          res.writeHead(a.status, { 'content-type': a.contentType, ...(a.headers ?? {}) });
          res.end(a.body, () => {
            if (a.after) void Promise.resolve(a.after()).catch(() => undefined);
          });
          this.emit('request', method, url.pathname, a.status);
        }),
      );
    });
  }

  /** The alert stream, behind Digest like the rest of ISAPI; it stays open, so it does not go through answer(). */
  private openAlertStream(req: IncomingMessage, res: ServerResponse, alerts: RecorderAlerts): void {
    this.counters.http++;
    const verdict = this.digest.verify(req.headers.authorization, 'GET', req.url);
    if (!verdict.ok) {
      this.counters.authFailures++;
      const refusal = this.status(401, ALERT_STREAM_PATH, IsapiStatusCode.invalidOperation, IsapiSubStatus.unauthorized);
      res.writeHead(401, { 'content-type': refusal.contentType, 'www-authenticate': verdict.challenge });
      res.end(refusal.body);
      return;
    }
    alerts.open(res);
    this.emit('request', 'GET', ALERT_STREAM_PATH, 200);
  }

  /** An ISAPI request over the platform connection: what the HTTP server answers, after the same latency. */
  private async answerPlatform(r: P2pIsapiRequestData): Promise<PlatformIsapiAnswer> {
    const url = new URL(r.path, 'http://device');
    const a = await this.answerOrFail(r.method, url, r.path, Buffer.from(r.body ?? '', 'utf8'), undefined, true);
    await new Promise<void>((resolve) => this.later(resolve));
    this.emit('request', r.method, url.pathname, a.status);
    return { status: a.status, contentType: a.contentType, body: a.body, ...(a.after ? { after: a.after } : {}) };
  }

  private answerOrFail(method: string, url: URL, rawUrl: string, body: Buffer, authorization: string | undefined, viaPlatform = false): Promise<Answer> {
    return this.answer(method, url, rawUrl, body, authorization, viaPlatform).catch((e: unknown) =>
      this.status(500, url.pathname, IsapiStatusCode.deviceError, 'deviceError', e instanceof Error ? e.message : String(e)),
    );
  }

  private onControl(body: Buffer | undefined, res: ServerResponse): void {
    let input: unknown;
    try {
      input = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
    } catch {
      return sendJson(res, 400, { statusCode: 400, code: 'BAD_JSON', message: 'body is not JSON' });
    }
    const problem = controlProblem(input, DEVICE_CONTROL);
    if (problem) return sendJson(res, 400, { statusCode: 400, code: 'BAD_CONTROL', message: problem });
    const c = input as {
      reachable?: boolean;
      latencyMs?: number;
      latestFirmware?: string;
      hddData?: { id: number; hasData: boolean };
      platformUrl?: string | null;
      event?: RecorderAlertInput;
    };
    // Checked before anything changes, so that a refused control changes nothing.
    if (c.event !== undefined) {
      const eventProblem = this.alerts ? this.alerts.problem(c.event) : 'only an NVR or DVR fires alert stream events';
      if (eventProblem) return sendJson(res, 400, { statusCode: 400, code: 'BAD_CONTROL', message: eventProblem });
    }
    if (c.latencyMs !== undefined) this.setLatency(c.latencyMs);
    if (c.reachable !== undefined) this.setReachable(c.reachable);
    if (c.latestFirmware !== undefined) this.setLatestFirmware(c.latestFirmware);
    if (c.hddData !== undefined) this.setHddData(c.hddData.id, c.hddData.hasData);
    if (c.platformUrl !== undefined) this.setPlatformUrl(c.platformUrl);
    if (c.event !== undefined) this.alerts?.fire(c.event);
    sendJson(res, 200, this.state);
  }

  private status(http: number, path: string, code: IsapiStatusCode, sub: string, errorMsg?: string, id?: number): Answer {
    return {
      status: http,
      contentType: ISAPI_CONTENT_TYPE,
      body: buildResponseStatus(responseStatus(path, code, sub, { ...(errorMsg === undefined ? {} : { errorMsg }), ...(id === undefined ? {} : { id }) })),
    };
  }

  private xml(body: string): Answer {
    return { status: 200, contentType: ISAPI_CONTENT_TYPE, body };
  }

  /** `viaPlatform`: the request came over the device's own platform connection, which needs no digest login. */
  private async answer(method: string, url: URL, rawUrl: string, body: Buffer, authorization: string | undefined, viaPlatform = false): Promise<Answer> {
    const path = url.pathname;
    const route = `${method} ${path}`;
    const ok = (after?: () => void | Promise<void>, id?: number): Answer => ({
      ...this.status(200, path, IsapiStatusCode.ok, IsapiSubStatus.ok, undefined, id),
      ...(after ? { after } : {}),
    });
    const badContent = (msg: string) => this.status(400, path, IsapiStatusCode.invalidXmlContent, IsapiSubStatus.badXmlContent, msg);
    const notSupported = () => this.status(403, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.notSupport);

    if (path === DEVICE_SERVICE_PATH && this.hasOnvif && method === 'POST') return this.answerSoap(body);

    if (path === IsapiPath.activate) {
      if (method !== 'PUT') return this.status(405, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.methodNotAllowed);
      if (!this.initializable) return notSupported();
      if (this.activated) return this.status(400, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.alreadyActivated);
      const info = parseActivateInfo(body);
      if (!info.ok) return badContent(info.error);
      const problem = devicePasswordProblem(info.value.password);
      if (problem) return this.status(400, path, IsapiStatusCode.invalidXmlContent, IsapiSubStatus.invalidPassword, problem);
      const code = info.value.verificationCode;
      if (code !== undefined && this.supportsVerificationCode) {
        const codeProblem = verificationCodeProblem(code);
        if (codeProblem) return this.status(400, path, IsapiStatusCode.invalidXmlContent, IsapiSubStatus.invalidVerificationCode, codeProblem);
        this.verificationCode = code;
      }
      this.activated = true;
      this.username = info.value.username ?? this.username;
      this.password = info.value.password;
      this.digest.reset();
      this.syncPlatform();
      return ok();
    }

    if (!path.startsWith('/ISAPI/')) return this.status(404, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.notFound);

    if (!this.activated) {
      if (route === `GET ${IsapiPath.deviceInfo}`) return this.xml(this.deviceInfoXml());
      return this.status(403, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.notActivated);
    }

    const verdict = viaPlatform ? null : this.digest.verify(authorization, method, rawUrl);
    if (verdict && !verdict.ok) {
      this.counters.authFailures++;
      return {
        ...this.status(401, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.unauthorized),
        headers: { 'www-authenticate': verdict.challenge },
      };
    }

    if (path === VLAN_PATH || path.startsWith(`${VLAN_PATH}/`)) return this.answerVlan(method, path, body);

    switch (route) {
      case `GET ${IsapiPath.deviceInfo}`:
        return this.xml(this.deviceInfoXml());
      case `GET ${IsapiPath.ipAddress}`:
        return this.xml(buildIpAddress(this.settings.network));
      case `PUT ${IsapiPath.ipAddress}`: {
        const n = parseIpAddress(body);
        if (!n.ok) return badContent(n.error);
        const cur = this.settings.network;
        const lease = this.opts.dhcpLease;
        const next: LanNetwork = n.value.dhcp
          ? lease
            ? { dhcp: true, ipv4: lease.ip, mask: lease.mask ?? cur.mask, gateway: lease.gateway ?? cur.gateway, dns: lease.dns ?? cur.dns }
            : { ...cur, dhcp: true }
          : n.value;
        this.settings.network = next;
        return ok(() => this.moveTo(next.ipv4));
      }
      case `GET ${IsapiPath.time}`:
        return this.xml(this.timeXml());
      case `PUT ${IsapiPath.time}`: {
        const t = parseTime(body);
        if (!t.ok) return badContent(t.error);
        if (t.value.timeZone) this.settings.timeZone = t.value.timeZone;
        if (t.value.localTime) this.settings.clockOffsetMs = Date.parse(t.value.localTime) - Date.now();
        return ok();
      }
      case `GET ${IsapiPath.firmwareStatus}`:
        return this.xml(
          buildFirmwareStatus({
            currentVersion: this.firmware,
            latestVersion: this.latestFirmware,
            upgradeAvailable: this.latestFirmware !== '' && this.latestFirmware !== this.firmware,
          }),
        );
      case `PUT ${IsapiPath.reboot}`:
        return ok(() => this.reboot());
      case `PUT ${IsapiPath.factoryReset}`:
        if (url.searchParams.get('mode') !== 'full') return badContent(`only ${FACTORY_RESET_FULL} is supported`);
        return ok(() => this.factoryReset());
      case `GET ${IsapiPath.storage}`:
        if (!this.isRecorder && this.deviceClass !== 'camera') return notSupported();
        return this.xml(buildStorage(this.hdds));
      case `GET ${IsapiPath.ezviz}`:
      case `PUT ${IsapiPath.ezviz}`: {
        if (!this.capabilities.includes('hikConnect')) return notSupported();
        if (method === 'GET') {
          return this.xml(
            buildEzviz({
              enabled: this.settings.ezvizEnabled,
              ...(this.verificationCode === undefined ? {} : { verificationCode: this.verificationCode }),
              registerStatus: this.settings.ezvizEnabled,
            }),
          );
        }
        const e = parseEzviz(body);
        if (!e.ok) return badContent(e.error);
        if (e.value.verificationCode !== undefined && this.supportsVerificationCode) {
          const p = verificationCodeProblem(e.value.verificationCode);
          if (p) return this.status(400, path, IsapiStatusCode.invalidXmlContent, IsapiSubStatus.invalidVerificationCode, p);
          this.verificationCode = e.value.verificationCode;
        }
        if (e.value.enabled && this.supportsVerificationCode && this.verificationCode === undefined) {
          return this.status(400, path, IsapiStatusCode.invalidXmlContent, IsapiSubStatus.invalidVerificationCode, 'a verification code is needed');
        }
        if (e.value.serverAddress !== undefined) {
          if (!/^https?:\/\/[^/]+/.test(e.value.serverAddress)) return badContent(`serverAddress must be an http(s) URL`);
          this.setPlatformUrl(e.value.serverAddress);
        }
        this.settings.ezvizEnabled = e.value.enabled;
        this.syncPlatform();
        return ok();
      }
      case `GET ${IsapiPath.motionDetection}`:
      case `PUT ${IsapiPath.motionDetection}`: {
        if (this.deviceClass !== 'camera') return notSupported();
        if (method === 'GET') return this.xml(buildMotionDetection(this.settings.motion));
        const m = parseMotionDetection(body);
        if (!m.ok) return badContent(m.error);
        this.settings.motion = { ...m.value, version: this.settings.motion.version };
        return ok();
      }
      case `GET ${IsapiPath.streamingChannel}`:
      case `PUT ${IsapiPath.streamingChannel}`: {
        if (this.deviceClass !== 'camera') return notSupported();
        if (method === 'GET') return this.xml(buildStreamingChannel({ id: 101, videoCodec: this.settings.codec, supportedCodecs: this.supportedCodecs }));
        const s = parseStreamingChannel(body);
        if (!s.ok) return badContent(s.error);
        if (!this.supportedCodecs.includes(s.value.videoCodec)) return badContent(`${s.value.videoCodec} is not supported`);
        this.settings.codec = s.value.videoCodec;
        return ok();
      }
      case `GET ${ADMIN_ACCESSES_PATH}`:
        return this.xml(
          buildAdminAccesses([
            { protocol: AccessProtocol.http, port: this.httpPort, enabled: true },
            ...(this.video ? [{ protocol: AccessProtocol.rtsp, port: this.video.port, enabled: true }] : []),
          ]),
        );
      case `POST ${CONTENT_SEARCH_PATH}`: {
        if (!this.video) return notSupported();
        const found = this.video.search(body, `rtsp://${this.ip}:${this.video.port}`);
        return found.ok ? this.xml(found.value) : badContent(found.error);
      }
      case `GET ${IsapiPath.inputProxyChannels}`:
        if (!this.isRecorder) return notSupported();
        await this.refreshChannels();
        return this.xml(
          buildInputProxyChannelList({ maxChannels: this.maxChannels, sortedOnce: this.settings.sortedOnce, channels: this.sortedChannels() }),
        );
      case `POST ${IsapiPath.inputProxyChannels}`: {
        if (!this.isRecorder) return notSupported();
        const c = parseNewInputProxyChannel(body);
        if (!c.ok) return badContent(c.error);
        const added = await this.addChannel(c.value);
        if (!added.ok) return this.status(403, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.channelLimitReached, added.error);
        return ok(undefined, added.value.id);
      }
      case `PUT ${IsapiPath.inputProxyChannelOrder}`: {
        if (!this.isRecorder) return notSupported();
        const ids = parseChannelOrder(body);
        if (!ids.ok) return badContent(ids.error);
        const have = this.settings.channels.map((c) => c.id).sort((a, b) => a - b);
        const want = [...ids.value].sort((a, b) => a - b);
        if (have.length !== want.length || have.some((id, i) => id !== want[i])) return badContent('the order must list every channel id once');
        ids.value.forEach((id, i) => {
          const ch = this.settings.channels.find((c) => c.id === id);
          if (ch) ch.order = i + 1;
        });
        this.settings.sortedOnce = true;
        return ok();
      }
    }

    const format = /^\/ISAPI\/ContentMgmt\/Storage\/hdd\/(\d{1,4})\/format$/.exec(path);
    if (format && method === 'PUT') {
      const hdd = this.hdds.find((h) => h.id === Number(format[1]));
      if (!hdd) return this.status(404, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.invalidID);
      if (hdd.hasData && url.searchParams.get('force') !== 'true') {
        return this.status(403, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.hddHasData, 'the disk holds recordings');
      }
      hdd.status = HddStatus.ok;
      hdd.hasData = false;
      return ok();
    }
    const channel = /^\/ISAPI\/ContentMgmt\/InputProxy\/channels\/(\d{1,4})$/.exec(path);
    if (channel && method === 'DELETE' && this.isRecorder) {
      const id = Number(channel[1]);
      const ch = this.settings.channels.find((c) => c.id === id);
      if (!ch || ch.poe) return this.status(404, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.invalidID);
      this.settings.channels = this.settings.channels.filter((c) => c.id !== id);
      this.renumberOrder();
      await this.video?.syncChannels();
      return ok();
    }
    return this.status(404, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.notFound);
  }

  /** A switch's VLANs (manual §3.2.3): the table and ports, a batch update, deleting one VLAN. */
  private answerVlan(method: string, path: string, body: Buffer): Answer {
    const vlans = this.settings.vlans;
    if (!vlans) return this.status(403, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.notSupport);
    const outcome = (refusal: VlanRefusal | undefined): Answer =>
      refusal
        ? this.status(refusal.statusCode === IsapiStatusCode.invalidOperation ? 403 : 400, path, refusal.statusCode, refusal.subStatus, refusal.message)
        : this.status(200, path, IsapiStatusCode.ok, IsapiSubStatus.ok);
    if (path === VLAN_PATH && method === 'GET') return this.xml(buildVlanConfig(vlans.config));
    if (path === VLAN_PATH && method === 'PUT') {
      const u = parseVlanUpdate(body);
      if (!u.ok) return this.status(400, path, IsapiStatusCode.invalidXmlContent, IsapiSubStatus.badXmlContent, u.error);
      return outcome(vlans.apply(u.value));
    }
    const one = /^\/ISAPI\/Network\/VLAN\/(\d{1,5})$/.exec(path);
    if (one && method === 'DELETE') return outcome(vlans.remove(Number(one[1])));
    if (!one && path !== VLAN_PATH) return this.status(404, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.notFound);
    return this.status(405, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.methodNotAllowed);
  }

  private deviceInfoXml(): string {
    return buildDeviceInfo({
      deviceName: this.state.name,
      deviceClass: this.deviceClass,
      model: this.model,
      serialNumber: this.serial,
      macAddress: this.mac,
      firmwareVersion: this.firmware,
      firmwareReleasedDate: '2024-01-01',
      analogChannels: this.deviceClass === 'dvr' ? (this.opts.analogChannels ?? 8) : 0,
      digitalChannels: this.maxChannels,
    });
  }

  private timeXml(): string {
    return buildTime({ timeMode: 'manual', localTime: isoLocalTime(this.now(), zoneOffsetMinutes(this.settings.timeZone)), timeZone: this.settings.timeZone });
  }

  // ------------------------------------------------------------------------------------------ channels

  /** The channels with video: an NVR's IP and PoE channels, a DVR's analog inputs. */
  private videoChannels(): number[] {
    if (this.deviceClass === 'dvr') return Array.from({ length: this.opts.analogChannels ?? 8 }, (_, i) => i + 1);
    return this.settings.channels.map((c) => c.id);
  }

  private sortedChannels(): InputProxyChannel[] {
    return [...this.settings.channels].sort((a, b) => a.order - b.order).map(({ password: _pw, ...c }) => c);
  }

  private renumberOrder(): void {
    [...this.settings.channels].sort((a, b) => a.order - b.order).forEach((c, i) => (c.order = i + 1));
  }

  /** Adds an IP channel (the next free id) and checks whether its camera answers with the given account. */
  async addChannel(c: { ipAddress: string; managementPort: number; username: string; password?: string; name?: string }): Promise<Result<InputProxyChannel>> {
    const chs = this.settings.channels;
    if (chs.length >= this.maxChannels) {
      return { ok: false, error: `all ${this.maxChannels} channels are in use` };
    }
    let id = 1;
    while (chs.some((x) => x.id === id)) id++;
    const ch: InputProxyChannel = {
      id,
      name: c.name ?? `IPCamera ${String(id).padStart(2, '0')}`,
      ipAddress: c.ipAddress,
      managementPort: c.managementPort,
      username: c.username,
      password: c.password ?? '',
      order: chs.length + 1,
      online: false,
      poe: false,
    };
    chs.push(ch);
    await this.video?.syncChannels();
    ch.online = await this.checkChannel(ch);
    return { ok: true, value: { ...ch } };
  }

  private async refreshChannels(): Promise<void> {
    await Promise.all(
      this.settings.channels.filter((c) => !c.poe).map(async (c) => {
        c.online = await this.checkChannel(c);
      }),
    );
  }

  private async checkChannel(c: InputProxyChannel): Promise<boolean> {
    const client = new DigestClient(c.username, c.password ?? '');
    try {
      const res = await client.fetch(`http://${c.ipAddress}:${c.managementPort}${IsapiPath.time}`, {
        signal: AbortSignal.timeout(this.opts.channelCheckTimeoutMs ?? 1000),
      });
      await res.body?.cancel();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  // --------------------------------------------------------------------------------------------- ONVIF

  private answerSoap(body: Buffer): Answer {
    const env = parseEnvelope(body);
    const operation = env.ok ? (env.value.operation ?? '') : '';
    const fault = (code: FaultCode, subcode: string, reason: string): Answer => ({
      status: faultHttpStatus(code),
      contentType: SOAP_CONTENT_TYPE,
      body: buildFault({ code, subcodes: [subcode], reason }),
    });
    if (!env.ok) return fault(FaultCode.sender, FaultSubcode.wellFormed, env.error);
    if (operation === 'GetSystemDateAndTime') {
      return { status: 200, contentType: SOAP_CONTENT_TYPE, body: buildGetSystemDateAndTimeResponse({ now: new Date(this.now()) }) };
    }
    if (operation === 'GetDeviceInformation') {
      if (!this.onvifVerifier.verify(env.value.header).ok) {
        this.counters.authFailures++;
        return fault(FaultCode.sender, FaultSubcode.notAuthorized, 'Sender not Authorized');
      }
      return {
        status: 200,
        contentType: SOAP_CONTENT_TYPE,
        body: buildGetDeviceInformationResponse({
          manufacturer: 'HIKVISION',
          model: this.model,
          firmwareVersion: this.firmware,
          serialNumber: this.serial,
          hardwareId: '88',
        }),
      };
    }
    return fault(FaultCode.receiver, FaultSubcode.actionNotSupported, `${operation || 'empty Body'} is not supported`);
  }
}

/** The device simulator's control fields beyond reachability and latency. */
const DEVICE_CONTROL = {
  latestFirmware: (v: unknown) => (typeof v === 'string' ? undefined : 'latestFirmware must be a string'),
  hddData: (v: unknown) => {
    const h = v as { id?: unknown; hasData?: unknown } | null;
    return typeof h === 'object' && h !== null && typeof h.id === 'number' && typeof h.hasData === 'boolean' ? undefined : 'hddData must be {id, hasData}';
  },
  platformUrl: (v: unknown) => (v === null || (typeof v === 'string' && platformMqttUrl(v) !== null) ? undefined : 'platformUrl must be an http(s) URL or null'),
  event: alertInputProblem,
};


/**
 * ISAPI-style device resources: paths, XML bodies (builders and parsers) and the ResponseStatus error
 * document. Parsers never throw; they return a Result naming the first problem.
 */
import { LanDeviceClass, type LanNetwork } from '../lan.js';
import { fail, ok, type Result } from '../result.js';
import { childNode, childText, children, elementNames, escapeXml, isNode, parseXml, type XmlNode } from '../onvif/xml.js';

export const ISAPI_NS = 'http://www.isapi.org/ver20/XMLSchema';
export const ISAPI_CONTENT_TYPE = 'application/xml; charset="UTF-8"';
/** Larger request and response bodies are refused. */
export const ISAPI_MAX_BODY_BYTES = 256 * 1024;

export const IsapiPath = {
  deviceInfo: '/ISAPI/System/deviceInfo',
  activate: '/ISAPI/System/activate',
  ipAddress: '/ISAPI/System/Network/interfaces/1/ipAddress',
  time: '/ISAPI/System/time',
  firmwareStatus: '/ISAPI/System/firmwareStatus',
  reboot: '/ISAPI/System/reboot',
  /** PUT with `?mode=full`: back to the factory state (unactivated). */
  factoryReset: '/ISAPI/System/factoryReset',
  storage: '/ISAPI/ContentMgmt/Storage',
  ezviz: '/ISAPI/System/Network/EZVIZ',
  motionDetection: '/ISAPI/System/Video/inputs/channels/1/motionDetection',
  streamingChannel: '/ISAPI/Streaming/channels/101',
  inputProxyChannels: '/ISAPI/ContentMgmt/InputProxy/channels',
  inputProxyChannelOrder: '/ISAPI/ContentMgmt/InputProxy/channels/order',
} as const;

/** PUT here formats one disk; `force` also formats a disk holding recordings (the edge never forces). */
export const hddFormatPath = (id: number, force = false): string =>
  `/ISAPI/ContentMgmt/Storage/hdd/${id}/format${force ? '?force=true' : ''}`;
export const FACTORY_RESET_FULL = `${IsapiPath.factoryReset}?mode=full`;

// ---------------------------------------------------------------------------------------------- helpers

const tag = (name: string, value: string | number | boolean): string => `<${name}>${escapeXml(String(value))}</${name}>`;
const doc = (root: string, inner: string | readonly string[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?><${root} version="2.0" xmlns="${ISAPI_NS}">${typeof inner === 'string' ? inner : inner.join('')}</${root}>`;

function root(input: string | Uint8Array, name: string): Result<XmlNode> {
  if (input.length > ISAPI_MAX_BODY_BYTES) return fail('body too large');
  const d = parseXml(input);
  if (!d.ok) return d;
  const names = elementNames(d.value).filter((n) => n !== '?xml');
  if (names.length !== 1 || names[0] !== name) return fail(`expected ${name}, got ${names.join(', ') || 'nothing'}`);
  return ok(childNode(d.value, name) ?? {});
}

/** Reads typed fields off one element, remembering the first problem. */
class Reader {
  problem: string | undefined;
  constructor(
    readonly node: XmlNode,
    private readonly where: string,
  ) {}
  private bad(field: string, why: string): void {
    this.problem ??= `${this.where}.${field}: ${why}`;
  }
  optText(field: string, node: XmlNode = this.node): string | undefined {
    const t = childText(node, field);
    return t?.trim();
  }
  text(field: string, node: XmlNode = this.node, max = 256): string {
    const t = this.optText(field, node);
    if (t === undefined) this.bad(field, 'missing');
    else if (t.length > max) this.bad(field, `longer than ${max} characters`);
    return t ?? '';
  }
  optBool(field: string, node: XmlNode = this.node): boolean | undefined {
    const t = this.optText(field, node)?.toLowerCase();
    if (t === undefined) return undefined;
    if (t === 'true') return true;
    if (t === 'false') return false;
    this.bad(field, 'not true or false');
    return undefined;
  }
  bool(field: string, node: XmlNode = this.node): boolean {
    const b = this.optBool(field, node);
    if (b === undefined) this.bad(field, 'missing');
    return b ?? false;
  }
  optInt(field: string, node: XmlNode = this.node, min = 0, max = 2 ** 53 - 1): number | undefined {
    const t = this.optText(field, node);
    if (t === undefined) return undefined;
    const n = /^-?\d{1,16}$/.test(t) ? Number(t) : NaN;
    if (!(n >= min && n <= max)) {
      this.bad(field, `not an integer from ${min} to ${max}`);
      return undefined;
    }
    return n;
  }
  int(field: string, node: XmlNode = this.node, min = 0, max = 2 ** 53 - 1): number {
    const n = this.optInt(field, node, min, max);
    if (n === undefined) this.bad(field, 'missing');
    return n ?? 0;
  }
  oneOf<T extends string>(field: string, values: readonly T[], node: XmlNode = this.node): T {
    const t = this.text(field, node);
    if (!(values as readonly string[]).includes(t)) {
      this.bad(field, `not one of ${values.join(', ')}`);
      return values[0]!;
    }
    return t as T;
  }
  ipv4(field: string, node: XmlNode = this.node, allowEmpty = false): string {
    const t = this.optText(field, node) ?? '';
    if ((allowEmpty && t === '') || IPV4.test(t)) return t;
    this.bad(field, 'not an IPv4 address');
    return '';
  }
  done<T>(value: T): Result<T> {
    return this.problem === undefined ? ok(value) : fail(this.problem);
  }
}

const IPV4 = /^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$/;

// ----------------------------------------------------------------------------------------- ResponseStatus

/** ISAPI statusCode values. */
export const IsapiStatusCode = {
  ok: 1,
  deviceBusy: 2,
  deviceError: 3,
  invalidOperation: 4,
  invalidXmlFormat: 5,
  invalidXmlContent: 6,
  rebootRequired: 7,
} as const;
export type IsapiStatusCode = (typeof IsapiStatusCode)[keyof typeof IsapiStatusCode];

export const IsapiStatusString: Record<IsapiStatusCode, string> = {
  1: 'OK',
  2: 'Device Busy',
  3: 'Device Error',
  4: 'Invalid Operation',
  5: 'Invalid XML Format',
  6: 'Invalid XML Content',
  7: 'Reboot Required',
};

/** subStatusCode values used by the devices here. */
export const IsapiSubStatus = {
  ok: 'ok',
  invalidPassword: 'invalidPassword',
  invalidVerificationCode: 'invalidVerificationCode',
  alreadyActivated: 'alreadyActivated',
  notActivated: 'notActivated',
  unauthorized: 'unauthorized',
  notSupport: 'notSupport',
  methodNotAllowed: 'methodNotAllowed',
  invalidID: 'invalidID',
  hddHasData: 'hddHasData',
  badXmlContent: 'badXmlContent',
  badXmlFormat: 'badXmlFormat',
  channelLimitReached: 'channelLimitReached',
  addressInUse: 'addressInUse',
  notFound: 'notFound',
} as const;
export type IsapiSubStatus = (typeof IsapiSubStatus)[keyof typeof IsapiSubStatus];

export interface ResponseStatus {
  requestURL: string;
  statusCode: number;
  statusString: string;
  subStatusCode: string;
  errorMsg?: string;
  /** The id of a created resource (e.g. a new channel). */
  id?: number;
}

export function buildResponseStatus(s: ResponseStatus): string {
  return doc('ResponseStatus', [
    tag('requestURL', s.requestURL),
    tag('statusCode', s.statusCode),
    tag('statusString', s.statusString),
    tag('subStatusCode', s.subStatusCode),
    s.errorMsg === undefined ? '' : tag('errorMsg', s.errorMsg),
    s.id === undefined ? '' : tag('id', s.id),
  ]);
}

/** A ResponseStatus for this code, with the matching statusString. */
export const responseStatus = (
  requestURL: string,
  statusCode: IsapiStatusCode,
  subStatusCode: string,
  extra: { errorMsg?: string; id?: number } = {},
): ResponseStatus => ({ requestURL, statusCode, statusString: IsapiStatusString[statusCode], subStatusCode, ...extra });

export function parseResponseStatus(input: string | Uint8Array): Result<ResponseStatus> {
  const r = root(input, 'ResponseStatus');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'ResponseStatus');
  const out: ResponseStatus = {
    requestURL: x.optText('requestURL') ?? '',
    statusCode: x.int('statusCode', undefined, 0, 1000),
    statusString: x.optText('statusString') ?? '',
    subStatusCode: x.optText('subStatusCode') ?? '',
  };
  const errorMsg = x.optText('errorMsg');
  if (errorMsg !== undefined) out.errorMsg = errorMsg;
  const id = x.optInt('id') ?? x.optInt('ID');
  if (id !== undefined) out.id = id;
  return x.done(out);
}

// ---------------------------------------------------------------------------------------------- deviceInfo

export interface DeviceInfo {
  deviceName: string;
  deviceClass: LanDeviceClass;
  model: string;
  /** As the device reports it (often the long form). */
  serialNumber: string;
  macAddress: string;
  firmwareVersion: string;
  firmwareReleasedDate: string;
  /** Video inputs: analog (DVR) and IP channel capacity (NVR, DVR); a camera answers 0/0. Absent: not told. */
  analogChannels?: number;
  digitalChannels?: number;
}

const CLASSES = Object.values(LanDeviceClass);

export function buildDeviceInfo(d: DeviceInfo): string {
  return doc('DeviceInfo', [
    tag('deviceName', d.deviceName),
    tag('deviceClass', d.deviceClass),
    tag('model', d.model),
    tag('serialNumber', d.serialNumber),
    tag('macAddress', d.macAddress),
    tag('firmwareVersion', d.firmwareVersion),
    tag('firmwareReleasedDate', d.firmwareReleasedDate),
    d.analogChannels === undefined ? '' : tag('analogChannels', d.analogChannels),
    d.digitalChannels === undefined ? '' : tag('digitalChannels', d.digitalChannels),
  ]);
}

export function parseDeviceInfo(input: string | Uint8Array): Result<DeviceInfo> {
  const r = root(input, 'DeviceInfo');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'DeviceInfo');
  const cls = x.optText('deviceClass') ?? 'other';
  const analog = x.optInt('analogChannels');
  const digital = x.optInt('digitalChannels');
  return x.done({
    ...(analog === undefined ? {} : { analogChannels: analog }),
    ...(digital === undefined ? {} : { digitalChannels: digital }),
    deviceName: x.optText('deviceName') ?? '',
    deviceClass: (CLASSES as string[]).includes(cls) ? (cls as LanDeviceClass) : LanDeviceClass.other,
    model: x.text('model'),
    serialNumber: x.text('serialNumber', undefined, 128),
    macAddress: (x.optText('macAddress') ?? '').toLowerCase().replace(/-/g, ':'),
    firmwareVersion: x.optText('firmwareVersion') ?? '',
    firmwareReleasedDate: x.optText('firmwareReleasedDate') ?? '',
  });
}

// ---------------------------------------------------------------------------------------------- activate

export interface ActivateInfo {
  /** Default 'admin'. */
  username?: string;
  password: string;
  /** Hik-Connect verification code; ignored by devices without one (AC router). */
  verificationCode?: string;
}

export function buildActivateInfo(a: ActivateInfo): string {
  return doc('ActivateInfo', [
    a.username === undefined ? '' : tag('userName', a.username),
    tag('password', a.password),
    a.verificationCode === undefined ? '' : tag('verificationCode', a.verificationCode),
  ]);
}

export function parseActivateInfo(input: string | Uint8Array): Result<ActivateInfo> {
  const r = root(input, 'ActivateInfo');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'ActivateInfo');
  // XML parsing trims surrounding white space; inner spaces are kept.
  const password = childText(r.value, 'password');
  if (password === undefined || password === '') return fail('ActivateInfo.password: missing');
  const out: ActivateInfo = { password };
  const username = x.optText('userName');
  if (username) out.username = username;
  const code = x.optText('verificationCode');
  if (code) out.verificationCode = code;
  return x.done(out);
}

// -------------------------------------------------------------------------------------------- ipAddress

/** Network settings of interface 1: the LanNetwork of discovery. */
export type IpAddressSettings = LanNetwork;

export function buildIpAddress(n: IpAddressSettings): string {
  return doc('IPAddress', [
    tag('ipVersion', 'v4'),
    tag('addressingType', n.dhcp ? 'dynamic' : 'static'),
    tag('ipAddress', n.ipv4),
    tag('subnetMask', n.mask),
    `<DefaultGateway>${tag('ipAddress', n.gateway)}</DefaultGateway>`,
    `<PrimaryDNS>${tag('ipAddress', n.dns)}</PrimaryDNS>`,
  ]);
}

/**
 * Parses IPAddress. With DHCP on, the address fields may be left out of a PUT (they become ''), since the
 * device takes them from the DHCP server.
 */
export function parseIpAddress(input: string | Uint8Array): Result<IpAddressSettings> {
  const r = root(input, 'IPAddress');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'IPAddress');
  const dhcp = x.oneOf('addressingType', ['static', 'dynamic']) === 'dynamic';
  const gw = childNode(r.value, 'DefaultGateway') ?? {};
  const dns = childNode(r.value, 'PrimaryDNS') ?? {};
  return x.done({
    dhcp,
    ipv4: x.ipv4('ipAddress', undefined, dhcp),
    mask: x.ipv4('subnetMask', undefined, dhcp),
    gateway: x.ipv4('ipAddress', gw, true),
    dns: x.ipv4('ipAddress', dns, true),
  });
}

// ---------------------------------------------------------------------------------------------------- time

export interface DeviceTime {
  timeMode: 'manual' | 'NTP';
  /** ISO 8601 with offset, e.g. 2026-03-01T10:00:00+01:00. */
  localTime: string;
  /** POSIX-style zone as devices write it, e.g. CST-8:00:00. */
  timeZone: string;
}

export function buildTime(t: DeviceTime): string {
  return doc('Time', [tag('timeMode', t.timeMode), tag('localTime', t.localTime), tag('timeZone', t.timeZone)]);
}

export function parseTime(input: string | Uint8Array): Result<DeviceTime> {
  const r = root(input, 'Time');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'Time');
  const localTime = x.text('localTime');
  if (localTime !== '' && Number.isNaN(Date.parse(localTime))) return fail('Time.localTime: not an ISO 8601 date-time');
  return x.done({ timeMode: (x.optText('timeMode') ?? 'manual') === 'NTP' ? 'NTP' : 'manual', localTime, timeZone: x.optText('timeZone') ?? '' });
}

/** An ISO 8601 local time with offset for this instant, as the device writes it (offset in minutes east of UTC). */
export function isoLocalTime(ms: number, offsetMinutes = 0): string {
  const d = new Date(ms + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${d.toISOString().slice(0, 19)}${off}`;
}

// ------------------------------------------------------------------------------------------ firmwareStatus

export interface FirmwareStatus {
  currentVersion: string;
  /** '' when nothing newer is known. */
  latestVersion: string;
  upgradeAvailable: boolean;
}

export function buildFirmwareStatus(f: FirmwareStatus): string {
  return doc('FirmwareStatus', [tag('currentVersion', f.currentVersion), tag('latestVersion', f.latestVersion), tag('upgradeAvailable', f.upgradeAvailable)]);
}

export function parseFirmwareStatus(input: string | Uint8Array): Result<FirmwareStatus> {
  const r = root(input, 'FirmwareStatus');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'FirmwareStatus');
  return x.done({ currentVersion: x.text('currentVersion'), latestVersion: x.optText('latestVersion') ?? '', upgradeAvailable: x.bool('upgradeAvailable') });
}

// --------------------------------------------------------------------------------------------------- storage

export const HddStatus = { new: 'new', uninitialized: 'uninitialized', ok: 'ok' } as const;
export type HddStatus = (typeof HddStatus)[keyof typeof HddStatus];

export interface Hdd {
  id: number;
  /** 'hdd' in recorders, 'sd' in cameras. */
  type: 'hdd' | 'sd';
  capacityMb: number;
  status: HddStatus;
  /** Recordings present: never formatted automatically. */
  hasData: boolean;
}

export function buildStorage(hdds: readonly Hdd[]): string {
  return doc(
    'storage',
    `<hddList>${hdds
      .map((h) => `<hdd>${[tag('id', h.id), tag('type', h.type), tag('capacity', h.capacityMb), tag('status', h.status), tag('hasData', h.hasData)].join('')}</hdd>`)
      .join('')}</hddList>`,
  );
}

export function parseStorage(input: string | Uint8Array): Result<Hdd[]> {
  const r = root(input, 'storage');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'storage');
  const hdds: Hdd[] = [];
  for (const h of children(childNode(r.value, 'hddList'), 'hdd')) {
    if (!isNode(h)) continue;
    hdds.push({
      id: x.int('id', h, 1, 9999),
      type: x.optText('type', h) === 'sd' ? 'sd' : 'hdd',
      capacityMb: x.int('capacity', h),
      status: x.oneOf('status', Object.values(HddStatus), h),
      hasData: x.bool('hasData', h),
    });
  }
  return x.done(hdds);
}

// ------------------------------------------------------------------------------------------------- EZVIZ

/** The Hik-Connect (EZVIZ) platform access of a device. */
export interface EzvizSettings {
  enabled: boolean;
  /** Write-only in practice; devices here echo it back so tests can check it. */
  verificationCode?: string;
  /** Whether the device is registered with the service (read only). */
  registerStatus?: boolean;
  /** The platform the device connects to (its "server address"); absent: unchanged. */
  serverAddress?: string;
}

export function buildEzviz(e: EzvizSettings): string {
  return doc('EZVIZ', [
    tag('enabled', e.enabled),
    e.verificationCode === undefined ? '' : tag('verificationCode', e.verificationCode),
    e.registerStatus === undefined ? '' : tag('registerStatus', e.registerStatus),
    e.serverAddress === undefined ? '' : tag('serverAddress', e.serverAddress),
  ]);
}

export function parseEzviz(input: string | Uint8Array): Result<EzvizSettings> {
  const r = root(input, 'EZVIZ');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'EZVIZ');
  const out: EzvizSettings = { enabled: x.bool('enabled') };
  const code = x.optText('verificationCode');
  if (code) out.verificationCode = code;
  const reg = x.optBool('registerStatus');
  if (reg !== undefined) out.registerStatus = reg;
  const server = x.optText('serverAddress');
  if (server) out.serverAddress = server;
  return x.done(out);
}

// ----------------------------------------------------------------------------------------- motionDetection

export interface MotionDetection {
  enabled: boolean;
  /** '2.0' for Motion Detection 2.0 (md2), '1.0' otherwise. */
  version: string;
  /** The whole image is the detection area. */
  wholeImage: boolean;
  /** 0–100. */
  sensitivity: number;
  notifySurveillanceCenter: boolean;
}

export function buildMotionDetection(m: MotionDetection): string {
  return doc('MotionDetection', [
    tag('enabled', m.enabled),
    tag('version', m.version),
    tag('regionType', m.wholeImage ? 'wholeImage' : 'custom'),
    tag('sensitivityLevel', m.sensitivity),
    tag('notifySurveillanceCenter', m.notifySurveillanceCenter),
  ]);
}

export function parseMotionDetection(input: string | Uint8Array): Result<MotionDetection> {
  const r = root(input, 'MotionDetection');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'MotionDetection');
  return x.done({
    enabled: x.bool('enabled'),
    version: x.optText('version') ?? '1.0',
    wholeImage: x.oneOf('regionType', ['wholeImage', 'custom']) === 'wholeImage',
    sensitivity: x.optInt('sensitivityLevel', undefined, 0, 100) ?? 50,
    notifySurveillanceCenter: x.bool('notifySurveillanceCenter'),
  });
}

// ------------------------------------------------------------------------------------------ streaming channel

export const VideoCodec = { h264: 'H.264', h265: 'H.265', smartH264: 'Smart H.264+', smartH265: 'Smart H.265+' } as const;
export type VideoCodec = (typeof VideoCodec)[keyof typeof VideoCodec];
const CODECS = Object.values(VideoCodec);

export interface StreamingChannel {
  id: number;
  videoCodec: VideoCodec;
  /** What the device can encode (read only). */
  supportedCodecs: VideoCodec[];
}

export function buildStreamingChannel(s: StreamingChannel): string {
  return doc('StreamingChannel', [
    tag('id', s.id),
    `<Video>${tag('videoCodecType', s.videoCodec)}${tag('supportedCodecs', s.supportedCodecs.join(','))}</Video>`,
  ]);
}

export function parseStreamingChannel(input: string | Uint8Array): Result<StreamingChannel> {
  const r = root(input, 'StreamingChannel');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'StreamingChannel');
  const video = childNode(r.value, 'Video') ?? {};
  const supported = (x.optText('supportedCodecs', video) ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c): c is VideoCodec => (CODECS as string[]).includes(c));
  return x.done({ id: x.int('id', undefined, 1, 99999), videoCodec: x.oneOf('videoCodecType', CODECS, video), supportedCodecs: supported });
}

// ----------------------------------------------------------------------------------------- InputProxy (NVR)

export interface InputProxyChannel {
  id: number;
  name: string;
  ipAddress: string;
  /** The port the recorder reaches the camera on. */
  managementPort: number;
  username: string;
  /** Sent when adding; never returned by the device. */
  password?: string;
  /** Position in the channel order, from 1. */
  order: number;
  online: boolean;
  /** A channel of the recorder's own PoE port. */
  poe: boolean;
  /** What the recorder speaks to the camera (HIKVISION when the device does not say). */
  proxyProtocol?: string;
}

/** What the edge posts to add a channel: the device assigns id and order and checks the camera. */
export type NewInputProxyChannel = Pick<InputProxyChannel, 'ipAddress' | 'managementPort' | 'username' | 'password'> & { name?: string };

export interface InputProxyChannelList {
  maxChannels: number;
  /** Whether the channels were ever sorted (the manual prompts to sort when there are several). */
  sortedOnce: boolean;
  channels: InputProxyChannel[];
}

function channelXml(c: Partial<InputProxyChannel> & NewInputProxyChannel): string {
  return `<InputProxyChannel>${[
    c.id === undefined ? '' : tag('id', c.id),
    c.name === undefined ? '' : tag('name', c.name),
    `<sourceInputPortDescriptor>${[
      tag('proxyProtocol', c.proxyProtocol ?? 'HIKVISION'),
      tag('addressingFormatType', 'ipaddress'),
      tag('ipAddress', c.ipAddress),
      tag('managementPortNo', c.managementPort),
      tag('userName', c.username),
      c.password === undefined ? '' : tag('password', c.password),
    ].join('')}</sourceInputPortDescriptor>`,
    c.order === undefined ? '' : tag('order', c.order),
    c.online === undefined ? '' : tag('online', c.online),
    c.poe === undefined ? '' : tag('poe', c.poe),
  ].join('')}</InputProxyChannel>`;
}

export const buildNewInputProxyChannel = (c: NewInputProxyChannel): string =>
  `<?xml version="1.0" encoding="UTF-8"?>${channelXml(c).replace('<InputProxyChannel>', `<InputProxyChannel version="2.0" xmlns="${ISAPI_NS}">`)}`;

export function parseNewInputProxyChannel(input: string | Uint8Array): Result<NewInputProxyChannel> {
  const r = root(input, 'InputProxyChannel');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'InputProxyChannel');
  const src = childNode(r.value, 'sourceInputPortDescriptor') ?? {};
  const out: NewInputProxyChannel = {
    ipAddress: x.ipv4('ipAddress', src),
    managementPort: x.int('managementPortNo', src, 1, 65535),
    username: x.text('userName', src, 32),
  };
  const password = childText(src, 'password');
  if (password !== undefined) out.password = password;
  const name = x.optText('name');
  if (name) out.name = name;
  return x.done(out);
}

export function buildInputProxyChannelList(l: InputProxyChannelList): string {
  return doc('InputProxyChannelList', [
    tag('maxChannels', l.maxChannels),
    tag('sortedOnce', l.sortedOnce),
    ...l.channels.map((c) => channelXml({ ...c, password: undefined } as InputProxyChannel)),
  ]);
}

export function parseInputProxyChannelList(input: string | Uint8Array): Result<InputProxyChannelList> {
  const r = root(input, 'InputProxyChannelList');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'InputProxyChannelList');
  const channels: InputProxyChannel[] = [];
  for (const c of children(r.value, 'InputProxyChannel')) {
    const n = isNode(c) ? c : {};
    const src = childNode(n, 'sourceInputPortDescriptor') ?? {};
    channels.push({
      id: x.int('id', n, 1, 9999),
      name: x.optText('name', n) ?? '',
      ipAddress: x.ipv4('ipAddress', src, true),
      managementPort: x.int('managementPortNo', src, 0, 65535),
      username: x.optText('userName', src) ?? '',
      order: x.int('order', n, 1, 9999),
      online: x.optBool('online', n) ?? false,
      poe: x.optBool('poe', n) ?? false,
      proxyProtocol: x.optText('proxyProtocol', src) || 'HIKVISION',
    });
  }
  return x.done({ maxChannels: x.optInt('maxChannels') ?? channels.length, sortedOnce: x.optBool('sortedOnce') ?? false, channels });
}

/** The channel order: channel ids, first to last. */
export function buildChannelOrder(ids: readonly number[]): string {
  return doc('InputProxyChannelOrder', ids.map((id) => tag('id', id)));
}

export function parseChannelOrder(input: string | Uint8Array): Result<number[]> {
  const r = root(input, 'InputProxyChannelOrder');
  if (!r.ok) return r;
  const ids: number[] = [];
  for (const v of children(r.value, 'id')) {
    const t = typeof v === 'string' ? v.trim() : '';
    if (!/^\d{1,4}$/.test(t) || Number(t) < 1) return fail(`InputProxyChannelOrder.id: not a channel id: ${t}`);
    ids.push(Number(t));
  }
  if (new Set(ids).size !== ids.length) return fail('InputProxyChannelOrder: an id appears twice');
  return ok(ids);
}

/** The document helpers above, for the other resource files of this folder. */
export { doc as isapiDoc, root as isapiRoot, tag as isapiTag, Reader as IsapiReader };

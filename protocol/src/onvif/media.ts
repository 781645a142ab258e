import { fail, ok, type Result } from '../result.js';
import { Ns } from './namespaces.js';
import { buildEnvelope, parseResponse, requestOperation, type SoapEnvelope } from './soap.js';
import { ptzConfigurationElement, type PtzConfiguration } from './ptz.js';
import { attr, childNode, childText, children, element, isNode, textElement, type XmlNode } from './xml.js';

/** The path the simulated devices serve the media service on (announced in GetCapabilities and GetServices). */
export const MEDIA_SERVICE_PATH = '/onvif/media_service';

/** The ONVIF services a device can announce, by the namespace GetServices names them with. */
export const OnvifService = {
  device: Ns.tds,
  media: Ns.trt,
  events: Ns.tev,
  ptz: Ns.tptz,
} as const;
export type OnvifServiceName = keyof typeof OnvifService;

/** The fault subcode under `ter:InvalidArgVal` for a profile token the device does not know. */
export const NO_PROFILE_SUBCODE = 'ter:NoProfile';

/** `tt:VideoEncoding` as written in Media 1 profiles. */
export const VideoEncoding = { h264: 'H264', h265: 'H265', jpeg: 'JPEG' } as const;
export type VideoEncoding = (typeof VideoEncoding)[keyof typeof VideoEncoding];
const ENCODINGS: readonly string[] = Object.values(VideoEncoding);

/** `tt:StreamType` and `tt:TransportProtocol` of a GetStreamUri StreamSetup. */
export const StreamType = { unicast: 'RTP-Unicast', multicast: 'RTP-Multicast' } as const;
export type StreamType = (typeof StreamType)[keyof typeof StreamType];
export const TransportProtocol = { udp: 'UDP', tcp: 'TCP', rtsp: 'RTSP', http: 'HTTP' } as const;
export type TransportProtocol = (typeof TransportProtocol)[keyof typeof TransportProtocol];
const STREAM_TYPES: readonly string[] = Object.values(StreamType);
const PROTOCOLS: readonly string[] = Object.values(TransportProtocol);

/** The longest token ONVIF allows (`tt:ReferenceToken` is at most 64 characters). */
const MAX_TOKEN = 64;
const MAX_NAME = 64;
const MAX_URI = 2048;

// ------------------------------------------------------------------------------------------------ checks

function checkToken(what: string, token: string): void {
  if (token.length === 0 || token.length > MAX_TOKEN) throw new RangeError(`${what} must be 1 to ${MAX_TOKEN} characters`);
}

function checkInt(what: string, n: number, min: number, max: number): void {
  if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`${what} must be an integer from ${min} to ${max}`);
}

function checkUri(what: string, uri: string, schemes: readonly string[]): void {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new RangeError(`${what} is not a URI: ${uri}`);
  }
  if (!schemes.includes(u.protocol) || uri.length > MAX_URI) throw new RangeError(`${what} must be a ${schemes.join(' or ')} URI`);
}

const HTTP_SCHEMES = ['http:', 'https:'];

// ------------------------------------------------------------------------------------------------ requests

function buildRequest(prefix: 'tds' | 'trt', operation: string, content: string | readonly string[], securityHeader?: string): string {
  return buildEnvelope({
    ...(securityHeader === undefined ? {} : { header: securityHeader }),
    body: element(`${prefix}:${operation}`, content),
    namespaces: [prefix, 'tt'],
  });
}

/** `GetCapabilities` for every category (devices answer it without authentication). */
export const buildGetCapabilities = (securityHeader?: string): string =>
  buildRequest('tds', 'GetCapabilities', textElement('tds:Category', 'All'), securityHeader);

/** `GetServices`; `includeCapability` asks for each service's capabilities too. */
export const buildGetServices = (includeCapability: boolean, securityHeader?: string): string =>
  buildRequest('tds', 'GetServices', textElement('tds:IncludeCapability', includeCapability), securityHeader);

export const buildGetVideoSources = (securityHeader?: string): string => buildRequest('trt', 'GetVideoSources', '', securityHeader);

export const buildGetProfiles = (securityHeader?: string): string => buildRequest('trt', 'GetProfiles', '', securityHeader);

export interface StreamUriRequest {
  profileToken: string;
  stream: StreamType;
  protocol: TransportProtocol;
}

/** `GetStreamUri`; RTP unicast over RTSP unless told otherwise (what an RTSP client pulling the stream wants). */
export function buildGetStreamUri(req: { profileToken: string; stream?: StreamType; protocol?: TransportProtocol }, securityHeader?: string): string {
  checkToken('profileToken', req.profileToken);
  return buildRequest(
    'trt',
    'GetStreamUri',
    [
      element('trt:StreamSetup', [
        textElement('tt:Stream', req.stream ?? StreamType.unicast),
        element('tt:Transport', textElement('tt:Protocol', req.protocol ?? TransportProtocol.rtsp)),
      ]),
      textElement('trt:ProfileToken', req.profileToken),
    ],
    securityHeader,
  );
}

export function buildGetSnapshotUri(profileToken: string, securityHeader?: string): string {
  checkToken('profileToken', profileToken);
  return buildRequest('trt', 'GetSnapshotUri', textElement('trt:ProfileToken', profileToken), securityHeader);
}

function tokenOf(node: XmlNode, name: string): Result<string> {
  const t = childText(node, name)?.trim();
  if (!t) return fail(`${name} is missing`);
  if (t.length > MAX_TOKEN) return fail(`${name} is longer than ${MAX_TOKEN} characters`);
  return ok(t);
}

/**
 * Reads the profile token and stream setup of a GetStreamUri request. A missing StreamSetup means RTP unicast
 * over RTSP (what clients mean when they leave it out); values outside the ONVIF enumerations are refused.
 */
export function parseGetStreamUriRequest(input: SoapEnvelope | string | Uint8Array): Result<StreamUriRequest> {
  const node = requestOperation(input, 'GetStreamUri');
  if (!node.ok) return node;
  const token = tokenOf(node.value, 'ProfileToken');
  if (!token.ok) return token;
  const setup = childNode(node.value, 'StreamSetup');
  const stream = childText(setup, 'Stream')?.trim() ?? StreamType.unicast;
  const protocol = childText(childNode(setup, 'Transport'), 'Protocol')?.trim() ?? TransportProtocol.rtsp;
  if (!STREAM_TYPES.includes(stream)) return fail(`unknown Stream ${stream}`);
  if (!PROTOCOLS.includes(protocol)) return fail(`unknown transport Protocol ${protocol}`);
  return ok({ profileToken: token.value, stream: stream as StreamType, protocol: protocol as TransportProtocol });
}

/** Reads the profile token of a GetSnapshotUri request. */
export function parseGetSnapshotUriRequest(input: SoapEnvelope | string | Uint8Array): Result<{ profileToken: string }> {
  const node = requestOperation(input, 'GetSnapshotUri');
  if (!node.ok) return node;
  const token = tokenOf(node.value, 'ProfileToken');
  return token.ok ? ok({ profileToken: token.value }) : token;
}

/** Reads IncludeCapability of a GetServices request (false when absent or not a boolean). */
export function parseGetServicesRequest(input: SoapEnvelope | string | Uint8Array): Result<{ includeCapability: boolean }> {
  const node = requestOperation(input, 'GetServices');
  if (!node.ok) return node;
  const v = childText(node.value, 'IncludeCapability')?.trim();
  return ok({ includeCapability: v === 'true' || v === '1' });
}

// ------------------------------------------------------------------------------------------------ responses

export interface CapabilitiesXAddrs {
  device: string;
  media?: string;
  events?: string;
  ptz?: string;
}

/** The reply to GetCapabilities: the service addresses, and RTP over RTSP/TCP as the media transport. */
export function buildGetCapabilitiesResponse(x: CapabilitiesXAddrs): string {
  for (const [k, v] of Object.entries(x)) if (v !== undefined) checkUri(`${k} XAddr`, v, HTTP_SCHEMES);
  const caps = [
    element('tt:Device', textElement('tt:XAddr', x.device)),
    x.events === undefined
      ? ''
      : element('tt:Events', [
          textElement('tt:XAddr', x.events),
          textElement('tt:WSSubscriptionPolicySupport', false),
          textElement('tt:WSPullPointSupport', true),
          textElement('tt:WSPausableSubscriptionManagerInterfaceSupport', false),
        ]),
    x.media === undefined
      ? ''
      : element('tt:Media', [
          textElement('tt:XAddr', x.media),
          element('tt:StreamingCapabilities', [
            textElement('tt:RTPMulticast', false),
            textElement('tt:RTP_TCP', true),
            textElement('tt:RTP_RTSP_TCP', true),
          ]),
        ]),
    x.ptz === undefined ? '' : element('tt:PTZ', textElement('tt:XAddr', x.ptz)),
  ];
  return buildEnvelope({ body: element('tds:GetCapabilitiesResponse', element('tds:Capabilities', caps)), namespaces: ['tds', 'tt'] });
}

export interface ServiceEntry {
  service: OnvifServiceName;
  xaddr: string;
  version: { major: number; minor: number };
}

/** Per-service capabilities written when the request asks for them: only what the simulated devices offer. */
function serviceCapabilities(service: OnvifServiceName, maxProfiles: number): string {
  switch (service) {
    case 'device':
      return element('tds:Capabilities', element('tds:Security', '', { UsernameToken: true, HttpDigest: false }));
    case 'media':
      return element(
        'trt:Capabilities',
        [
          element('trt:ProfileCapabilities', '', { MaximumNumberOfProfiles: maxProfiles }),
          element('trt:StreamingCapabilities', '', { RTPMulticast: false, RTP_TCP: true, RTP_RTSP_TCP: true }),
        ],
        { SnapshotUri: true },
      );
    case 'events':
      return element('tev:Capabilities', '', { WSPullPointSupport: true, WSSubscriptionPolicySupport: false });
    case 'ptz':
      return element('tptz:Capabilities');
  }
}

/** The reply to GetServices. */
export function buildGetServicesResponse(opts: { services: readonly ServiceEntry[]; includeCapability: boolean; maxProfiles?: number }): string {
  const services = opts.services.map((s) => {
    checkUri(`${s.service} XAddr`, s.xaddr, HTTP_SCHEMES);
    checkInt('version major', s.version.major, 0, 99);
    checkInt('version minor', s.version.minor, 0, 99);
    return element('tds:Service', [
      textElement('tds:Namespace', OnvifService[s.service]),
      textElement('tds:XAddr', s.xaddr),
      opts.includeCapability ? element('tds:Capabilities', serviceCapabilities(s.service, opts.maxProfiles ?? 1)) : '',
      element('tds:Version', [textElement('tt:Major', s.version.major), textElement('tt:Minor', s.version.minor)]),
    ]);
  });
  return buildEnvelope({ body: element('tds:GetServicesResponse', services), namespaces: ['tds', 'trt', 'tev', 'tptz', 'tt'] });
}

export interface VideoSource {
  token: string;
  framerate: number;
  width: number;
  height: number;
}

const resolution = (width: number, height: number): string =>
  element('tt:Resolution', [textElement('tt:Width', width), textElement('tt:Height', height)]);

function checkResolution(width: number, height: number): void {
  checkInt('width', width, 16, 8192);
  checkInt('height', height, 16, 8192);
}

export function buildGetVideoSourcesResponse(sources: readonly VideoSource[]): string {
  const items = sources.map((s) => {
    checkToken('video source token', s.token);
    checkResolution(s.width, s.height);
    checkInt('framerate', s.framerate, 1, 240);
    return element('trt:VideoSources', [textElement('tt:Framerate', s.framerate), resolution(s.width, s.height)], { token: s.token });
  });
  return buildEnvelope({ body: element('trt:GetVideoSourcesResponse', items), namespaces: ['trt', 'tt'] });
}

export interface VideoEncoderConfiguration {
  token: string;
  name: string;
  encoding: VideoEncoding;
  width: number;
  height: number;
  frameRateLimit: number;
  /** kbit/s. */
  bitrateLimit: number;
  /** Frames between key frames; JPEG has none (every frame is one). */
  govLength: number;
}

export interface MediaProfile {
  token: string;
  name: string;
  videoSource: {
    /** The video source configuration's token. */
    token: string;
    name: string;
    /** The video source the configuration uses. */
    sourceToken: string;
    width: number;
    height: number;
  };
  videoEncoder: VideoEncoderConfiguration;
  /** The PTZ configuration of a profile that can steer the camera. */
  ptz?: PtzConfiguration;
}

function checkProfile(p: MediaProfile): void {
  checkToken('profile token', p.token);
  checkToken('video source configuration token', p.videoSource.token);
  checkToken('video source token', p.videoSource.sourceToken);
  checkToken('video encoder token', p.videoEncoder.token);
  for (const n of [p.name, p.videoSource.name, p.videoEncoder.name]) {
    if (n.length === 0 || n.length > MAX_NAME) throw new RangeError(`names must be 1 to ${MAX_NAME} characters`);
  }
  const e = p.videoEncoder;
  if (!ENCODINGS.includes(e.encoding)) throw new RangeError(`unknown encoding ${String(e.encoding)}`);
  checkResolution(p.videoSource.width, p.videoSource.height);
  checkResolution(e.width, e.height);
  checkInt('frameRateLimit', e.frameRateLimit, 1, 240);
  checkInt('bitrateLimit', e.bitrateLimit, 1, 1_000_000);
  checkInt('govLength', e.govLength, 1, 1000);
}

/**
 * The encoder's codec block. Media 1 only defines one for H.264 (and MPEG-4); cameras that stream H.265 over
 * Media 1 write `H265` as the encoding with a matching block, which is what clients read the GOP from.
 */
function codecElement(e: VideoEncoderConfiguration): string {
  if (e.encoding === VideoEncoding.h264) {
    return element('tt:H264', [textElement('tt:GovLength', e.govLength), textElement('tt:H264Profile', 'Main')]);
  }
  if (e.encoding === VideoEncoding.h265) {
    return element('tt:H265', [textElement('tt:GovLength', e.govLength), textElement('tt:H265Profile', 'Main')]);
  }
  return '';
}

function profileElement(p: MediaProfile, useCount: number, ptzUses: number): string {
  const e = p.videoEncoder;
  const v = p.videoSource;
  return element(
    'trt:Profiles',
    [
      textElement('tt:Name', p.name),
      element(
        'tt:VideoSourceConfiguration',
        [
          textElement('tt:Name', v.name),
          textElement('tt:UseCount', useCount),
          textElement('tt:SourceToken', v.sourceToken),
          element('tt:Bounds', '', { x: 0, y: 0, width: v.width, height: v.height }),
        ],
        { token: v.token },
      ),
      element(
        'tt:VideoEncoderConfiguration',
        [
          textElement('tt:Name', e.name),
          textElement('tt:UseCount', 1),
          textElement('tt:Encoding', e.encoding),
          resolution(e.width, e.height),
          textElement('tt:Quality', 3),
          element('tt:RateControl', [
            textElement('tt:FrameRateLimit', e.frameRateLimit),
            textElement('tt:EncodingInterval', 1),
            textElement('tt:BitrateLimit', e.bitrateLimit),
          ]),
          codecElement(e),
          // Mandatory in the schema; the simulated devices do not multicast.
          element('tt:Multicast', [
            element('tt:Address', [textElement('tt:Type', 'IPv4'), textElement('tt:IPv4Address', '0.0.0.0')]),
            textElement('tt:Port', 0),
            textElement('tt:TTL', 0),
            textElement('tt:AutoStart', false),
          ]),
          textElement('tt:SessionTimeout', 'PT60S'),
        ],
        { token: e.token },
      ),
      p.ptz === undefined ? '' : ptzConfigurationElement('tt:PTZConfiguration', p.ptz, ptzUses),
    ],
    { token: p.token, fixed: true },
  );
}

/** The reply to GetProfiles. */
export function buildGetProfilesResponse(profiles: readonly MediaProfile[]): string {
  profiles.forEach(checkProfile);
  const uses = new Map<string, number>();
  for (const p of profiles) uses.set(p.videoSource.token, (uses.get(p.videoSource.token) ?? 0) + 1);
  const ptzUses = profiles.filter((p) => p.ptz !== undefined).length;
  const items = profiles.map((p) => profileElement(p, uses.get(p.videoSource.token) ?? 1, ptzUses));
  return buildEnvelope({ body: element('trt:GetProfilesResponse', items), namespaces: ['trt', 'tt'] });
}

const mediaUri = (uri: string): string =>
  element('trt:MediaUri', [
    textElement('tt:Uri', uri),
    textElement('tt:InvalidAfterConnect', false),
    textElement('tt:InvalidAfterReboot', false),
    textElement('tt:Timeout', 'PT60S'),
  ]);

/** The reply to GetStreamUri: an `rtsp:` URI. */
export function buildGetStreamUriResponse(uri: string): string {
  checkUri('stream URI', uri, ['rtsp:', 'rtsps:']);
  return buildEnvelope({ body: element('trt:GetStreamUriResponse', mediaUri(uri)), namespaces: ['trt', 'tt'] });
}

/** The reply to GetSnapshotUri: an `http:` URI serving a JPEG. */
export function buildGetSnapshotUriResponse(uri: string): string {
  checkUri('snapshot URI', uri, HTTP_SCHEMES);
  return buildEnvelope({ body: element('trt:GetSnapshotUriResponse', mediaUri(uri)), namespaces: ['trt', 'tt'] });
}

/** Reads the URI of a GetStreamUri or GetSnapshotUri reply; a SOAP fault becomes the error. */
export function parseMediaUriResponse(input: string | Uint8Array, response: 'GetStreamUriResponse' | 'GetSnapshotUriResponse'): Result<string> {
  const node = parseResponse(input, response);
  if (!node.ok) return node;
  const uri = childText(childNode(node.value, 'MediaUri'), 'Uri')?.trim();
  if (!uri) return fail(`${response} lacks MediaUri/Uri`);
  if (uri.length > MAX_URI) return fail(`${response} URI is too long`);
  return ok(uri);
}

/** A non-negative integer field, written as cameras do (`25`, `25.0`); undefined when absent or not one. */
function intText(text: string | undefined, max: number): number | undefined {
  const t = text?.trim();
  if (t === undefined || !/^\d{1,7}(\.0*)?$/.test(t)) return undefined;
  const n = Math.trunc(Number(t));
  return n <= max ? n : undefined;
}

function httpXAddr(node: XmlNode | undefined): string | undefined {
  const x = childText(node, 'XAddr')?.trim();
  return x && x.length <= MAX_URI && /^https?:\/\//i.test(x) ? x : undefined;
}

/** Reads the service addresses of a GetCapabilities reply; the device address is the only one required. */
export function parseGetCapabilitiesResponse(input: string | Uint8Array): Result<CapabilitiesXAddrs> {
  const node = parseResponse(input, 'GetCapabilitiesResponse');
  if (!node.ok) return node;
  const caps = childNode(node.value, 'Capabilities');
  const device = httpXAddr(childNode(caps, 'Device'));
  if (!device) return fail('GetCapabilitiesResponse lacks the device XAddr');
  const out: CapabilitiesXAddrs = { device };
  for (const [key, tag] of [['media', 'Media'], ['events', 'Events'], ['ptz', 'PTZ']] as const) {
    const x = httpXAddr(childNode(caps, tag));
    if (x) out[key] = x;
  }
  return ok(out);
}

export interface AnnouncedService {
  /** The service's namespace, ONVIF or not. */
  namespace: string;
  xaddr: string;
  version?: { major: number; minor: number };
}

/** Reads the services of a GetServices reply, skipping entries without a namespace or an HTTP address. */
export function parseGetServicesResponse(input: string | Uint8Array): Result<AnnouncedService[]> {
  const node = parseResponse(input, 'GetServicesResponse');
  if (!node.ok) return node;
  const out: AnnouncedService[] = [];
  for (const s of children(node.value, 'Service')) {
    if (!isNode(s)) continue;
    const namespace = childText(s, 'Namespace')?.trim();
    const xaddr = httpXAddr(s);
    if (!namespace || !xaddr) continue;
    const v = childNode(s, 'Version');
    const major = intText(childText(v, 'Major'), 999);
    const minor = intText(childText(v, 'Minor'), 999);
    out.push({ namespace, xaddr, ...(major === undefined || minor === undefined ? {} : { version: { major, minor } }) });
  }
  return ok(out);
}

function resolutionOf(node: XmlNode | undefined): { width: number; height: number } | undefined {
  const r = childNode(node, 'Resolution');
  const width = intText(childText(r, 'Width'), 65535);
  const height = intText(childText(r, 'Height'), 65535);
  return width && height ? { width, height } : undefined;
}

function tokenAttr(node: XmlNode): string | undefined {
  const t = attr(node, 'token')?.trim();
  return t && t.length <= MAX_TOKEN ? t : undefined;
}

/** Reads the video sources of a GetVideoSources reply, skipping those without a token or resolution. */
export function parseGetVideoSourcesResponse(input: string | Uint8Array): Result<VideoSource[]> {
  const node = parseResponse(input, 'GetVideoSourcesResponse');
  if (!node.ok) return node;
  const out: VideoSource[] = [];
  for (const s of children(node.value, 'VideoSources')) {
    if (!isNode(s)) continue;
    const token = tokenAttr(s);
    const res = resolutionOf(s);
    if (!token || !res) continue;
    out.push({ token, framerate: intText(childText(s, 'Framerate'), 240) ?? 0, ...res });
  }
  return ok(out);
}

function encoderOf(node: XmlNode | undefined): VideoEncoderConfiguration | undefined {
  if (!node) return undefined;
  const token = tokenAttr(node);
  const encoding = childText(node, 'Encoding')?.trim();
  const res = resolutionOf(node);
  if (!token || !encoding || !ENCODINGS.includes(encoding) || !res) return undefined;
  const rate = childNode(node, 'RateControl');
  const codec = childNode(node, encoding === VideoEncoding.h265 ? 'H265' : 'H264');
  return {
    token,
    name: childText(node, 'Name')?.trim() ?? token,
    encoding: encoding as VideoEncoding,
    ...res,
    frameRateLimit: intText(childText(rate, 'FrameRateLimit'), 240) ?? 0,
    bitrateLimit: intText(childText(rate, 'BitrateLimit'), 1_000_000) ?? 0,
    govLength: encoding === VideoEncoding.jpeg ? 1 : (intText(childText(codec, 'GovLength'), 1000) ?? 0),
  };
}

/**
 * Reads the profiles of a GetProfiles reply. Profiles without a token, a video source configuration or a
 * video encoder this package knows (H.264, H.265, JPEG) are skipped: nothing could be streamed from them.
 * Rates a camera leaves out read as 0.
 */
export function parseGetProfilesResponse(input: string | Uint8Array): Result<MediaProfile[]> {
  const node = parseResponse(input, 'GetProfilesResponse');
  if (!node.ok) return node;
  const out: MediaProfile[] = [];
  for (const p of children(node.value, 'Profiles')) {
    if (!isNode(p)) continue;
    const token = tokenAttr(p);
    const vsc = childNode(p, 'VideoSourceConfiguration');
    const videoEncoder = encoderOf(childNode(p, 'VideoEncoderConfiguration'));
    const vscToken = vsc && tokenAttr(vsc);
    const sourceToken = childText(vsc, 'SourceToken')?.trim();
    if (!token || !vsc || !vscToken || !sourceToken || sourceToken.length > MAX_TOKEN || !videoEncoder) continue;
    const bounds = childNode(vsc, 'Bounds');
    out.push({
      token,
      name: childText(p, 'Name')?.trim() ?? token,
      videoSource: {
        token: vscToken,
        name: childText(vsc, 'Name')?.trim() ?? vscToken,
        sourceToken,
        width: intText(attr(bounds, 'width'), 65535) ?? 0,
        height: intText(attr(bounds, 'height'), 65535) ?? 0,
      },
      videoEncoder,
    });
  }
  return ok(out);
}

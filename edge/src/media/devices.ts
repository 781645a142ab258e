import { createHash, randomUUID } from 'node:crypto';
import onvif from 'onvif';
import {
  ADMIN_ACCESSES_PATH,
  CONTENT_SEARCH_PATH,
  DigestClient,
  ISAPI_CONTENT_TYPE,
  MAX_SEARCH_RESULTS,
  MediaRefusal,
  STREAM_ENCRYPTION_HEADER,
  buildContentSearch,
  parseAdminAccesses,
  parseContentSearchResult,
  playbackUri,
  rtspPortOf,
  streamKeyFor,
  trackIdFor,
  type MediaMode,
  type MediaStreamName,
  type PtzAction,
  type RecordingSegment,
} from '@vigil/protocol';
import { DEVICE_SERVICE_PATH } from '@vigil/protocol/onvif';
import { isUnreachable, MediaError } from './errors.js';

/** The box's login on a device. */
export interface DeviceAccount {
  username: string;
  password: string;
}

/** A camera the agent found in its registry, with the box's device account. */
export interface CameraTarget {
  kind: 'camera';
  deviceKey: string;
  host: string;
  port: number;
  serial: string;
  username: string;
  password: string;
}

/** A recorder channel as the cloud names it, with the login the box uses (`admin` unless named). */
export interface RecorderTarget {
  kind: 'recorder';
  serial: string;
  ip: string;
  httpPort: number;
  username?: string;
  password: string;
  channel: number;
}

export type DeviceTarget = CameraTarget | RecorderTarget;

export interface PtzOutcome {
  presets: { token: string; name: string }[];
  position: { pan: number; tilt: number; zoom: number } | null;
}

/**
 * What the media worker needs of a video device, whatever protocol reaches it: the RTSP URL of a stream or a
 * recording, a JPEG, PTZ and the recordings index. The `onvif` package stays behind this interface.
 */
export interface VideoDevice {
  /** Identifies the device and its login: live sessions of the same key, stream and format share one ffmpeg. */
  readonly key: string;
  readonly account: DeviceAccount;
  /** The RTSP URL (without the account), with the stream key of an encrypted device when a code is given. */
  streamUrl(stream: MediaStreamName, mode: MediaMode, verificationCode?: string): Promise<string>;
  snapshot(stream: MediaStreamName, verificationCode?: string): Promise<Buffer>;
  ptz(action: PtzAction): Promise<PtzOutcome>;
  /** Whether `ptz` can move it. */
  hasPtz(): Promise<boolean>;
  recordings(from: number, to: number): Promise<{ segments: RecordingSegment[]; truncated: boolean }>;
}

const REQUEST_TIMEOUT_MS = 5_000;
/** How long a camera's profiles and URIs are reused before they are asked again. */
const CAMERA_CACHE_TTL_MS = 60_000;
const MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024;
const MAX_SEGMENTS = 2000;
export const RECORDER_USER = 'admin';

const hashOf = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);

/** One device reached with one login: a camera, or a recorder whatever its channel (the login is hashed in). */
export function deviceKeyOf(target: DeviceTarget): string {
  return target.kind === 'camera'
    ? `camera:${target.host}:${target.port}:${hashOf(target.username, target.password)}`
    : `recorder:${target.ip}:${target.httpPort}:${hashOf(target.username ?? RECORDER_USER, target.password)}`;
}

/** Adds `key=streamKeyFor(serial, code)` to a URL when a verification code is given. */
export function withStreamKey(url: string, serial: string, verificationCode: string | undefined): string {
  if (!verificationCode) return url;
  const u = new URL(url);
  u.searchParams.set('key', streamKeyFor(serial, verificationCode));
  return u.toString();
}

/** Digest GET of a JPEG; the device's refusals become the contract's codes. */
async function fetchJpeg(url: string, account: DeviceAccount): Promise<Buffer> {
  let res: Response;
  try {
    res = await new DigestClient(account.username, account.password).fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    throw new MediaError(isUnreachable(err) ? MediaRefusal.deviceUnreachable : MediaRefusal.failed, `snapshot: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (res.status === 401) throw new MediaError(MediaRefusal.loginFailed, 'the device refused the box\'s login (snapshot)');
  if (res.status === 403) {
    const why = res.headers.get(STREAM_ENCRYPTION_HEADER);
    if (why === 'key-required') throw new MediaError(MediaRefusal.verificationCodeRequired, 'image and video encryption is on: the device verification code is needed');
    if (why === 'key-wrong') throw new MediaError(MediaRefusal.verificationCodeWrong, 'the verification code does not open the snapshot');
    throw new MediaError(MediaRefusal.loginFailed, 'the device refused the snapshot (HTTP 403)');
  }
  if (res.status === 404) throw new MediaError(MediaRefusal.streamUnavailable, 'the device has no snapshot of this stream');
  if (res.status !== 200) throw new MediaError(MediaRefusal.failed, `snapshot: HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > MAX_SNAPSHOT_BYTES) throw new MediaError(MediaRefusal.failed, 'the snapshot is larger than 2 MB');
  if (body[0] !== 0xff || body[1] !== 0xd8) throw new MediaError(MediaRefusal.failed, 'the snapshot is not a JPEG');
  return body;
}

type Callback<T> = (err: Error | null, data?: T, xml?: string) => void;
type Outcome<T> = { err: Error | null; data: T | undefined; xml: string | undefined };
const call = <T>(fn: (cb: Callback<T>) => void): Promise<Outcome<T>> =>
  new Promise((resolve) => {
    try {
      fn((err, data, xml) => resolve({ err, data, xml }));
    } catch (e) {
      resolve({ err: e instanceof Error ? e : new Error(String(e)), data: undefined, xml: undefined });
    }
  });

const notAuthorized = (o: Outcome<unknown>): boolean => /NotAuthorized|not\s+authori[sz]ed/i.test(`${o.xml ?? ''} ${o.err?.message ?? ''}`);
const notSupported = (o: Outcome<unknown>): boolean => /ActionNotSupported|NoPTZProfile|NoSuchService|NoToken|not supported/i.test(`${o.xml ?? ''} ${o.err?.message ?? ''}`);

interface CameraSession {
  cam: InstanceType<typeof onvif.Cam>;
  at: number;
  profiles: Partial<Record<MediaStreamName, string>>;
  uris: Map<string, string>;
}

/**
 * An ONVIF camera through the `onvif` client: the clock offset first (WS-UsernameToken is signed with the
 * device's time), then the media profiles (main = first, sub = second), stream and snapshot URIs, PTZ. A camera
 * that answers NotAuthorized (its clock moved, e.g. after a reboot) gets its clock read again and one more try.
 */
export class OnvifCamera implements VideoDevice {
  readonly key: string;
  readonly account: DeviceAccount;
  private session: CameraSession | null = null;

  constructor(private readonly target: CameraTarget) {
    this.key = deviceKeyOf(target);
    this.account = { username: target.username, password: target.password };
  }

  private async connect(fresh = false): Promise<CameraSession> {
    if (!fresh && this.session && Date.now() - this.session.at < CAMERA_CACHE_TTL_MS) return this.session;
    const cam = new onvif.Cam({
      hostname: this.target.host,
      port: this.target.port,
      path: DEVICE_SERVICE_PATH,
      username: this.target.username,
      password: this.target.password,
      timeout: REQUEST_TIMEOUT_MS,
      autoconnect: false,
    });
    const session: CameraSession = { cam, at: Date.now(), profiles: {}, uris: new Map() };
    await this.syncClock(session);
    const caps = await call((cb) => cam.getCapabilities(cb));
    if (caps.err) this.throwFor(caps, 'GetCapabilities');
    const profiles = await this.request(session, 'GetProfiles', (cb) => cam.getProfiles(cb));
    const tokens = (Array.isArray(profiles) ? (profiles as { $?: { token?: string } }[]) : []).map((p) => p.$?.token).filter((t): t is string => typeof t === 'string');
    if (tokens[0]) session.profiles.main = tokens[0];
    if (tokens[1]) session.profiles.sub = tokens[1];
    this.session = session;
    return session;
  }

  private async syncClock(session: CameraSession): Promise<void> {
    // The client keeps the first offset it learns: cleared, it takes the device's clock anew.
    delete session.cam.timeShift;
    const time = await call<Date>((cb) => session.cam.getSystemDateAndTime(cb));
    if (!time.err) return;
    if (!time.xml) this.throwFor(time, 'GetSystemDateAndTime');
    // The device answered but not with its time: sign with the local clock instead (the client adds uptime).
    session.cam.timeShift = Date.now() - process.uptime() * 1000;
  }

  /** One call; NotAuthorized re-reads the device clock and tries once more. */
  private async request<T>(session: CameraSession, what: string, fn: (cb: Callback<T>) => void): Promise<T | undefined> {
    let o = await call(fn);
    if (o.err && notAuthorized(o)) {
      await this.syncClock(session);
      o = await call(fn);
    }
    if (o.err) {
      if (notAuthorized(o)) this.session = null;
      this.throwFor(o, what);
    }
    return o.data;
  }

  private throwFor(o: Outcome<unknown>, what: string): never {
    const detail = `${what}: ${o.err?.message ?? 'no answer'}`;
    if (notAuthorized(o)) throw new MediaError(MediaRefusal.loginFailed, `the camera refused the box's login (${detail})`);
    if (!o.xml) throw new MediaError(MediaRefusal.deviceUnreachable, `no answer from the camera at ${this.target.host}:${this.target.port} (${detail})`);
    throw new MediaError(MediaRefusal.failed, detail);
  }

  private async profileToken(stream: MediaStreamName): Promise<{ session: CameraSession; token: string }> {
    const session = await this.connect();
    const token = session.profiles[stream];
    if (!token) throw new MediaError(MediaRefusal.streamUnavailable, `the camera has no ${stream} stream profile`);
    return { session, token };
  }

  private async uri(stream: MediaStreamName, kind: 'stream' | 'snapshot'): Promise<string> {
    const { session, token } = await this.profileToken(stream);
    const cached = session.uris.get(`${kind}:${stream}`);
    if (cached) return cached;
    const answer =
      kind === 'stream'
        ? await this.request<{ uri: string }>(session, 'GetStreamUri', (cb) => session.cam.getStreamUri({ protocol: 'RTSP', profileToken: token }, cb))
        : await this.request<{ uri: string }>(session, 'GetSnapshotUri', (cb) => session.cam.getSnapshotUri({ profileToken: token }, cb));
    const uri = answer?.uri;
    if (typeof uri !== 'string' || uri === '') throw new MediaError(MediaRefusal.streamUnavailable, `the camera gave no ${kind} URI for its ${stream} stream`);
    session.uris.set(`${kind}:${stream}`, uri);
    return uri;
  }

  async streamUrl(stream: MediaStreamName, mode: MediaMode, verificationCode?: string): Promise<string> {
    if (mode.kind !== 'live') throw new MediaError(MediaRefusal.noRecording, 'a camera is played back through the recorder that records it');
    return withStreamKey(await this.uri(stream, 'stream'), this.target.serial, verificationCode);
  }

  async snapshot(stream: MediaStreamName, verificationCode?: string): Promise<Buffer> {
    return fetchJpeg(withStreamKey(await this.uri(stream, 'snapshot'), this.target.serial, verificationCode), this.account);
  }

  async hasPtz(): Promise<boolean> {
    return Boolean((await this.connect()).cam.uri?.ptz);
  }

  async ptz(action: PtzAction): Promise<PtzOutcome> {
    const { session, token } = await this.profileToken('main');
    const cam = session.cam;
    if (!cam.uri?.ptz) throw new MediaError(MediaRefusal.ptzUnsupported, 'the camera has no PTZ service');
    const run = async <T>(what: string, fn: (cb: Callback<T>) => void): Promise<T | undefined> => {
      const o = await call(fn);
      if (o.err && notSupported(o)) throw new MediaError(MediaRefusal.ptzUnsupported, `${what}: ${o.err.message}`);
      if (o.err) return this.request(session, what, fn);
      return o.data;
    };
    let presets: PtzOutcome['presets'] = [];
    const listPresets = async (): Promise<void> => {
      await run('GetPresets', (cb) => cam.getPresets({ profileToken: token }, cb));
      const known = (cam as unknown as { presets?: Record<string, { name?: unknown }> }).presets ?? {};
      presets = Object.entries(known).map(([t, p]) => ({ token: t, name: typeof p.name === 'string' ? p.name : t }));
    };
    if (action.type === 'move') {
      await run('ContinuousMove', (cb) => cam.continuousMove({ profileToken: token, x: action.pan, y: action.tilt, zoom: action.zoom }, cb));
    } else if (action.type === 'stop') {
      await run('Stop', (cb) => cam.stop({ profileToken: token, panTilt: true, zoom: true }, cb));
    } else if (action.type === 'gotoPreset') {
      await listPresets();
      const preset = presets.find((p) => p.token === action.preset || p.name === action.preset);
      if (!preset) throw new MediaError(MediaRefusal.ptzUnsupported, `the camera has no preset ${JSON.stringify(action.preset)}`);
      await run('GotoPreset', (cb) => cam.gotoPreset({ profileToken: token, preset: preset.token }, cb));
      presets = [];
    } else if (action.type === 'setPreset') {
      await run('SetPreset', (cb) => cam.setPreset({ profileToken: token, presetName: action.name }, cb));
      await listPresets();
    } else {
      await listPresets();
    }
    const status = await call<{ position?: { x?: number; y?: number; zoom?: number } }>((cb) => cam.getStatus({ profileToken: token }, cb));
    const p = status.err ? undefined : status.data?.position;
    const position = p ? { pan: Number(p.x ?? 0), tilt: Number(p.y ?? 0), zoom: Number(p.zoom ?? 0) } : null;
    return { presets, position };
  }

  recordings(): Promise<{ segments: RecordingSegment[]; truncated: boolean }> {
    return Promise.reject(new MediaError(MediaRefusal.noRecording, 'recordings are searched on the recorder'));
  }
}

/**
 * A channel of an NVR/DVR over ISAPI (Digest, user admin): the RTSP port from adminAccesses, live streams at
 * `/Streaming/Channels/{ch}01|02`, recordings at `/Streaming/tracks/{ch}01?starttime=..&endtime=..`, and the
 * recordings index through ContentMgmt/search.
 */
export class IsapiRecorderChannel implements VideoDevice {
  readonly key: string;
  readonly account: DeviceAccount;
  private readonly digest: DigestClient;
  private rtspPort: number | null = null;

  constructor(private readonly target: RecorderTarget) {
    this.account = { username: target.username ?? RECORDER_USER, password: target.password };
    this.key = `${deviceKeyOf(target)}:${target.channel}`;
    this.digest = new DigestClient(this.account.username, target.password);
  }

  private async isapi(method: 'GET' | 'POST', path: string, body?: string): Promise<string> {
    const url = `http://${this.target.ip}:${this.target.httpPort}${path}`;
    let res: Response;
    try {
      res = await this.digest.fetch(url, {
        method,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        ...(body === undefined ? {} : { body, headers: { 'content-type': ISAPI_CONTENT_TYPE } }),
      });
    } catch (err) {
      throw new MediaError(isUnreachable(err) ? MediaRefusal.deviceUnreachable : MediaRefusal.failed, `no answer from the recorder at ${this.target.ip}:${this.target.httpPort}`);
    }
    const text = await res.text();
    if (res.status === 401) throw new MediaError(MediaRefusal.loginFailed, 'the recorder refused the admin login');
    if (res.status === 404) throw new MediaError(MediaRefusal.streamUnavailable, `the recorder does not offer ${path}`);
    if (res.status < 200 || res.status >= 300) throw new MediaError(MediaRefusal.failed, `${method} ${path}: HTTP ${res.status}`);
    return text;
  }

  private async rtspBase(): Promise<string> {
    if (this.rtspPort === null) {
      const list = parseAdminAccesses(await this.isapi('GET', ADMIN_ACCESSES_PATH));
      if (!list.ok) throw new MediaError(MediaRefusal.failed, `unreadable adminAccesses: ${list.error}`);
      const port = rtspPortOf(list.value);
      if (port === undefined) throw new MediaError(MediaRefusal.streamUnavailable, 'the recorder has RTSP switched off');
      this.rtspPort = port;
    }
    return `rtsp://${this.target.ip}:${this.rtspPort}`;
  }

  async streamUrl(stream: MediaStreamName, mode: MediaMode, verificationCode?: string): Promise<string> {
    const base = await this.rtspBase();
    const track = trackIdFor(this.target.channel, stream);
    const url =
      mode.kind === 'live'
        ? `${base}/Streaming/Channels/${track}`
        : playbackUri(base, trackIdFor(this.target.channel, 'main'), Date.parse(mode.from), mode.to === undefined ? undefined : Date.parse(mode.to));
    return withStreamKey(url, this.target.serial, verificationCode);
  }

  async snapshot(stream: MediaStreamName, verificationCode?: string): Promise<Buffer> {
    const track = trackIdFor(this.target.channel, stream);
    const url = `http://${this.target.ip}:${this.target.httpPort}/ISAPI/Streaming/channels/${track}/picture`;
    return fetchJpeg(withStreamKey(url, this.target.serial, verificationCode), this.account);
  }

  hasPtz(): Promise<boolean> {
    return Promise.resolve(false);
  }

  ptz(): Promise<PtzOutcome> {
    return Promise.reject(new MediaError(MediaRefusal.ptzUnsupported, 'PTZ of a recorder channel is not offered by the box'));
  }

  async recordings(from: number, to: number): Promise<{ segments: RecordingSegment[]; truncated: boolean }> {
    const segments: RecordingSegment[] = [];
    const searchId = randomUUID().toUpperCase();
    for (;;) {
      const body = buildContentSearch({
        searchId,
        trackIds: [trackIdFor(this.target.channel, 'main')],
        timeSpans: [{ start: from, end: to }],
        maxResults: MAX_SEARCH_RESULTS,
        searchResultPosition: segments.length,
      });
      const r = parseContentSearchResult(await this.isapi('POST', CONTENT_SEARCH_PATH, body));
      if (!r.ok) throw new MediaError(MediaRefusal.failed, `unreadable search result: ${r.error}`);
      for (const m of r.value.matches) {
        segments.push({ from: new Date(m.start).toISOString(), to: new Date(m.end).toISOString(), type: m.recordType });
      }
      if (r.value.status !== 'MORE' || r.value.matches.length === 0) return { segments, truncated: false };
      if (segments.length >= MAX_SEGMENTS) return { segments: segments.slice(0, MAX_SEGMENTS), truncated: true };
    }
  }
}

/** The device behind a target; cameras are kept (their ONVIF session is cached), recorder channels are light. */
export class VideoDevices {
  private readonly cameras = new Map<string, OnvifCamera>();

  for(target: DeviceTarget): VideoDevice {
    if (target.kind === 'recorder') return new IsapiRecorderChannel(target);
    const camera = new OnvifCamera(target);
    const known = this.cameras.get(camera.key);
    if (known) return known;
    this.cameras.set(camera.key, camera);
    return camera;
  }
}

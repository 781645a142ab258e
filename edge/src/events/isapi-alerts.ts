import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ALERT_STREAM_PATH,
  AlertEventType,
  ClipEventType,
  DigestClient,
  IsapiPath,
  MultipartReader,
  alertTimeMs,
  isXmlPart,
  multipartBoundary,
  parseEventNotificationAlert,
  parseTime,
  type EventNotificationAlert,
} from '@vigil/protocol';
import type { DetectionEvent } from './detections.js';

export interface RecorderEventSubscriberOptions {
  /** The NVR/DVR's address and HTTP (ISAPI) port. */
  host: string;
  httpPort: number;
  username: string;
  password: string;
  /** The wait after a failure, doubling up to `retryMaxMs` (defaults 0.5 s and 30 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** No data at all (heartbeats included) for this long ends the connection and makes a new one (default 30 s). */
  silenceMs?: number;
  /** How long the clock request and the stream's answer may take (default 5 s). */
  requestTimeoutMs?: number;
}

/** A detection on one of the recorder's channels. */
export interface RecorderDetectionEvent extends DetectionEvent {
  channel: number;
}

export interface RecorderEventSubscriberEvents {
  detection: [event: RecorderDetectionEvent];
  /** The alert stream is open; `clockOffsetMs` is undefined when the recorder does not tell its time. */
  connected: [info: { clockOffsetMs: number | undefined }];
  /** Something failed (or the stream went silent); the subscriber connects again after `retryInMs`. */
  failure: [error: Error, retryInMs: number];
}

export interface RecorderEventSubscriberStatus {
  running: boolean;
  connected: boolean;
  /** The recorder's clock minus the box's, in ms, as last measured. */
  clockOffsetMs: number | undefined;
  /** Motion and intrusion going on, as `channel:type`. */
  active: string[];
  /** Failures since the stream last opened. */
  failures: number;
}

const ALERT_TYPES: Partial<Record<string, ClipEventType>> = {
  [AlertEventType.motion]: ClipEventType.motion,
  [AlertEventType.intrusion]: ClipEventType.intrusion,
  [AlertEventType.lineCrossing]: ClipEventType.lineCrossing,
};

/** Why a connection ended without the subscriber being stopped. */
class AlertStreamError extends Error {}

function positive(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0 || value > max) throw new RangeError(`${name} must be a number of ms above 0 and at most ${max}`);
  return value;
}

/**
 * The device's time of an alert: recorders write whole seconds, so the middle of that second is the best
 * guess, unless the time carries a fraction.
 */
function deviceTimeOf(dateTime: string): number | undefined {
  const ms = alertTimeMs(dateTime);
  if (ms === undefined) return undefined;
  return /\d{2}:\d{2}:\d{2}\.\d/.test(dateTime) ? ms : ms + 500;
}

/**
 * Detections of an NVR/DVR's channels through its ISAPI alert stream (`GET /ISAPI/Event/notification/
 * alertStream`, Digest): VMD is motion, fielddetection intrusion, linedetection a line crossing; the videoloss
 * heartbeat only shows the stream is alive. Recorders post a durative event again while it lasts: only its
 * start and end are detections. The recorder's clock is read (`/ISAPI/System/time`) at each connection so that
 * event times are given on the box's clock; a recorder that does not tell its time has its events' own times
 * taken as they are. After any failure, or when nothing at all arrives for `silenceMs`, what was going on is
 * ended (the box can no longer see it) and the stream opened again with a doubling wait.
 */
export class RecorderEventSubscriber extends EventEmitter<RecorderEventSubscriberEvents> {
  private readonly baseUrl: string;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly silenceMs: number;
  private readonly requestTimeoutMs: number;
  /** Durative detections going on, by `channel:type`. */
  private readonly active = new Map<string, { channel: number; type: ClipEventType }>();
  private running: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private connected = false;
  private clockOffsetMs: number | undefined;
  private failures = 0;

  constructor(private readonly opts: RecorderEventSubscriberOptions) {
    super();
    if (!opts.host || /[\s/@]/.test(opts.host)) throw new RangeError(`not a host: ${opts.host}`);
    if (!Number.isInteger(opts.httpPort) || opts.httpPort < 1 || opts.httpPort > 65535) throw new RangeError('httpPort must be 1 to 65535');
    if (!opts.username) throw new RangeError('the account needs a username');
    this.retryInitialMs = positive('retryInitialMs', opts.retryInitialMs, 500, 3_600_000);
    this.retryMaxMs = positive('retryMaxMs', opts.retryMaxMs, 30_000, 3_600_000);
    this.silenceMs = positive('silenceMs', opts.silenceMs, 30_000, 3_600_000);
    this.requestTimeoutMs = positive('requestTimeoutMs', opts.requestTimeoutMs, 5_000, 60_000);
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    this.baseUrl = `http://${host}:${opts.httpPort}`;
  }

  get status(): RecorderEventSubscriberStatus {
    return {
      running: this.running !== undefined,
      connected: this.connected,
      clockOffsetMs: this.clockOffsetMs === undefined ? undefined : Math.round(this.clockOffsetMs),
      active: [...this.active.keys()],
      failures: this.failures,
    };
  }

  start(): void {
    if (this.running) return;
    const running = new AbortController();
    this.running = running;
    this.loop = this.run(running.signal);
  }

  /** Closes the stream; resolves once the connection is closed. */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.abort();
    await this.loop;
    this.running = undefined;
    this.loop = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let retryMs = this.retryInitialMs;
    while (!signal.aborted) {
      try {
        await this.connectAndRead(signal, () => {
          retryMs = this.retryInitialMs;
          this.failures = 0;
        });
      } catch (err) {
        if (signal.aborted) break;
        this.endActive();
        this.failures++;
        this.emit('failure', err instanceof Error ? err : new Error(String(err)), retryMs);
        await sleep(retryMs, undefined, { signal }).catch(() => undefined);
        retryMs = Math.min(retryMs * 2, this.retryMaxMs);
      }
    }
    this.active.clear();
  }

  /** One connection's life: returns only when stopped, throws on the failure or silence that ended it. */
  private async connectAndRead(signal: AbortSignal, opened: () => void): Promise<void> {
    const digest = new DigestClient(this.opts.username, this.opts.password);
    const connection = new AbortController();
    const both = AbortSignal.any([signal, connection.signal]);
    let ended: AlertStreamError | undefined;
    const end = (why: string) => {
      ended ??= new AlertStreamError(why);
      connection.abort(ended);
    };
    let timer = setTimeout(() => end(`no answer from the recorder at ${this.baseUrl} in ${this.requestTimeoutMs} ms`), this.requestTimeoutMs);
    try {
      this.clockOffsetMs = await this.measureClock(digest, both);
      const res = await digest.fetch(`${this.baseUrl}${ALERT_STREAM_PATH}`, { signal: both, headers: { accept: 'multipart/mixed' } });
      clearTimeout(timer);
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        throw new AlertStreamError(res.status === 401 ? 'the recorder refused the login (alert stream)' : `alert stream: HTTP ${res.status}`);
      }
      const boundary = multipartBoundary(res.headers.get('content-type'));
      if (!boundary.ok || !res.body) throw new AlertStreamError(`alert stream: ${boundary.ok ? 'no body' : boundary.error}`);
      const reader = new MultipartReader(boundary.value);
      this.connected = true;
      this.active.clear();
      opened();
      this.emit('connected', { clockOffsetMs: this.clockOffsetMs });
      const silence = () => end(`nothing from the recorder for ${this.silenceMs} ms`);
      timer = setTimeout(silence, this.silenceMs);
      for await (const chunk of res.body) {
        timer.refresh();
        const receivedAt = Date.now();
        const parts = reader.push(chunk);
        if (!parts.ok) throw new AlertStreamError(`alert stream: ${parts.error}`);
        for (const part of parts.value) {
          if (!isXmlPart(part)) continue;
          const alert = parseEventNotificationAlert(part.body);
          if (alert.ok) this.take(alert.value, receivedAt);
        }
        if (reader.closed) break;
      }
      throw new AlertStreamError('the recorder ended the alert stream');
    } catch (err) {
      if (signal.aborted) return;
      throw ended ?? err;
    } finally {
      clearTimeout(timer);
      this.connected = false;
      // Closes the connection whatever ended the reading.
      connection.abort();
    }
  }

  /** The recorder's clock minus the box's, or undefined when it does not serve its time. */
  private async measureClock(digest: DigestClient, signal: AbortSignal): Promise<number | undefined> {
    const sentAt = Date.now();
    const res = await digest.fetch(`${this.baseUrl}${IsapiPath.time}`, { signal });
    const text = await res.text();
    const receivedAt = Date.now();
    if (res.status === 401) throw new AlertStreamError('the recorder refused the login (time)');
    if (res.status !== 200) return undefined;
    const time = parseTime(text);
    const deviceMs = time.ok ? alertTimeMs(time.value.localTime) : undefined;
    // The recorder writes whole seconds: the middle of its second is the best guess.
    return deviceMs === undefined ? undefined : deviceMs + 500 - (sentAt + receivedAt) / 2;
  }

  private take(alert: EventNotificationAlert, receivedAt: number): void {
    const type = ALERT_TYPES[alert.eventType];
    const channel = alert.channelId;
    const deviceMs = deviceTimeOf(alert.dateTime);
    if (type === undefined || channel === undefined || deviceMs === undefined) return;
    const active = alert.eventState === 'active';
    if (type === ClipEventType.lineCrossing) {
      // A crossing posted again is the same crossing.
      if (active && alert.activePostCount <= 1) this.emitDetection(channel, type, true, deviceMs, receivedAt);
      return;
    }
    const key = `${channel}:${type}`;
    if (active === this.active.has(key)) return;
    if (active) this.active.set(key, { channel, type });
    else this.active.delete(key);
    this.emitDetection(channel, type, active, deviceMs, receivedAt);
  }

  private emitDetection(channel: number, type: ClipEventType, active: boolean, cameraAt: number, receivedAt: number): void {
    // Nothing happens after the box hears of it: a clock measured a little off is not let push it later.
    const at = Math.min(receivedAt, Math.round(cameraAt - (this.clockOffsetMs ?? 0)));
    this.emit('detection', { type, active, at, cameraAt, channel });
  }

  /** Ends what was going on when the stream was lost, at the box's time now. */
  private endActive(): void {
    const now = Date.now();
    const lost = [...this.active.values()];
    this.active.clear();
    for (const { channel, type } of lost) {
      const cameraAt = Math.round(now + (this.clockOffsetMs ?? 0));
      this.emit('detection', { type, active: false, at: now, cameraAt, channel });
    }
  }
}

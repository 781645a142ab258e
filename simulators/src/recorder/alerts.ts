/**
 * The event side of a simulated NVR/DVR: `GET /ISAPI/Event/notification/alertStream` held open as a
 * `multipart/mixed` stream, one EventNotificationAlert per part. Every open stream gets every alert: motion
 * (VMD) and intrusion (fielddetection) posted when they start, again every second while they last
 * (activePostCount counting up, as recorders do) and once more `inactive` when they end; a line crossing
 * (linedetection) as one active post; and, every heartbeat period, the `videoloss` `inactive` heartbeat.
 */
import type { ServerResponse } from 'node:http';
import { AlertEventType, ClipEventType, buildEventNotificationAlert, formatMultipartPart, isoLocalTime, type AlertEventState } from '@vigil/protocol';

export const ALERT_BOUNDARY = 'boundary';
export const DEFAULT_ALERT_HEARTBEAT_MS = 10_000;
const MAX_HEARTBEAT_MS = 3_600_000;
const DEFAULT_REPOST_MS = 1_000;

const EVENT_TYPE: Record<ClipEventType, AlertEventType> = {
  motion: AlertEventType.motion,
  intrusion: AlertEventType.intrusion,
  lineCrossing: AlertEventType.lineCrossing,
};
const DESCRIPTION: Record<AlertEventType, string> = {
  VMD: 'Motion alarm',
  fielddetection: 'fielddetection alarm',
  linedetection: 'linedetection alarm',
  videoloss: 'videoloss alarm',
};

/** An event fired through the control API: `active` is required for motion and intrusion, true for a crossing. */
export interface RecorderAlertInput {
  channel: number;
  type: ClipEventType;
  active?: boolean;
}

export interface RecorderAlertsOptions {
  /** What the alerts say the device is: its address and HTTP port. */
  ipAddress: () => string;
  portNo: () => number;
  /** The device clock (ms since the epoch) and its time zone's offset in minutes east of UTC. */
  now: () => number;
  zoneOffsetMinutes: () => number;
  /** The channels events can be fired on. */
  channels: () => number[];
  /** False while the device is cut off or rebooting: streams stay open but nothing is written. */
  sending: () => boolean;
  heartbeatMs?: number;
  /** How often an ongoing motion or intrusion is posted again (default 1 s). */
  repostMs?: number;
}

interface Ongoing {
  timer: NodeJS.Timeout;
  posts: number;
}

/** What is wrong with a heartbeat period, or undefined. */
export function alertHeartbeatProblem(ms: unknown): string | undefined {
  return Number.isInteger(ms) && (ms as number) >= 100 && (ms as number) <= MAX_HEARTBEAT_MS ? undefined : `alertHeartbeatMs must be an integer from 100 to ${MAX_HEARTBEAT_MS}`;
}

/** What is wrong with a control's `event` field before the device's channels are known, or undefined. */
export function alertInputProblem(v: unknown): string | undefined {
  const e = v as Partial<RecorderAlertInput> | null;
  const shaped =
    typeof e === 'object' &&
    e !== null &&
    Object.keys(e).every((k) => k === 'channel' || k === 'type' || k === 'active') &&
    Number.isInteger(e.channel) &&
    (Object.values(ClipEventType) as unknown[]).includes(e.type) &&
    (e.active === undefined || typeof e.active === 'boolean');
  if (!shaped) return 'event must be {channel, type: motion|intrusion|lineCrossing, active?: boolean}';
  if (e.type === ClipEventType.lineCrossing) return e.active === false ? 'a line crossing is a pulse: active must be true or left out' : undefined;
  return e.active === undefined ? `a ${e.type} event needs active: true or false` : undefined;
}

export class RecorderAlerts {
  private readonly streams = new Map<ServerResponse, NodeJS.Timeout>();
  private readonly ongoing = new Map<string, Ongoing>();
  private readonly heartbeatMs: number;
  private readonly repostMs: number;

  constructor(private readonly opts: RecorderAlertsOptions) {
    const problem = opts.heartbeatMs === undefined ? undefined : alertHeartbeatProblem(opts.heartbeatMs);
    if (problem) throw new RangeError(problem);
    this.heartbeatMs = opts.heartbeatMs ?? DEFAULT_ALERT_HEARTBEAT_MS;
    this.repostMs = opts.repostMs ?? DEFAULT_REPOST_MS;
  }

  /** Alert streams open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** The events going on, as `channel:type`. */
  get active(): string[] {
    return [...this.ongoing.keys()];
  }

  /** Answers an authorized alertStream request and keeps it open until the client leaves or close(). */
  open(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': `multipart/mixed; boundary=${ALERT_BOUNDARY}`, 'cache-control': 'no-cache' });
    res.flushHeaders();
    const heartbeat = setInterval(() => this.write(res, this.alert(1, AlertEventType.videoLoss, 'inactive', 0)), this.heartbeatMs);
    this.streams.set(res, heartbeat);
    res.once('close', () => {
      clearInterval(heartbeat);
      this.streams.delete(res);
    });
  }

  /** Why this event cannot be fired on this device, or undefined. */
  problem(input: unknown): string | undefined {
    const shape = alertInputProblem(input);
    if (shape) return shape;
    const { channel } = input as RecorderAlertInput;
    return this.opts.channels().includes(channel) ? undefined : `no channel ${channel} on this device`;
  }

  /** Fires an event on every open stream; throws RangeError for what problem() refuses. */
  fire(input: RecorderAlertInput): void {
    const problem = this.problem(input);
    if (problem) throw new RangeError(problem);
    const type = EVENT_TYPE[input.type];
    if (input.type === ClipEventType.lineCrossing) return this.broadcast(this.alert(input.channel, type, 'active', 1));
    const key = `${input.channel}:${input.type}`;
    const going = this.ongoing.get(key);
    if (input.active === (going !== undefined)) return;
    if (going) {
      clearInterval(going.timer);
      this.ongoing.delete(key);
      this.broadcast(this.alert(input.channel, type, 'inactive', going.posts));
      return;
    }
    const ongoing: Ongoing = {
      posts: 1,
      timer: setInterval(() => {
        ongoing.posts++;
        this.broadcast(this.alert(input.channel, type, 'active', ongoing.posts));
      }, this.repostMs),
    };
    this.ongoing.set(key, ongoing);
    this.broadcast(this.alert(input.channel, type, 'active', 1));
  }

  /** Ends every stream and every ongoing event (the device stops or reboots). */
  close(): void {
    for (const o of this.ongoing.values()) clearInterval(o.timer);
    this.ongoing.clear();
    for (const [res, heartbeat] of this.streams) {
      clearInterval(heartbeat);
      res.destroy();
    }
    this.streams.clear();
  }

  private alert(channel: number, type: AlertEventType, state: AlertEventState, posts: number): Buffer {
    const xml = buildEventNotificationAlert({
      ipAddress: this.opts.ipAddress(),
      portNo: this.opts.portNo(),
      channelId: channel,
      dateTime: isoLocalTime(this.opts.now(), this.opts.zoneOffsetMinutes()),
      activePostCount: posts,
      eventType: type,
      eventState: state,
      eventDescription: DESCRIPTION[type],
    });
    return formatMultipartPart(ALERT_BOUNDARY, xml);
  }

  private broadcast(part: Buffer): void {
    for (const res of this.streams.keys()) this.write(res, part);
  }

  private write(res: ServerResponse, part: Buffer): void {
    if (!this.opts.sending() || res.destroyed || res.writableEnded) return;
    res.write(part);
  }
}

/**
 * The event stream of an ISAPI device (NVR/DVR or camera): `GET /ISAPI/Event/notification/alertStream`, behind
 * Digest, answers `multipart/mixed; boundary=...` and keeps the connection open, writing one part per alert as
 * alerts happen. Each part holds an `EventNotificationAlert` XML document:
 *
 *   --boundary
 *   Content-Type: application/xml; charset="UTF-8"
 *   Content-Length: 478
 *
 *   <EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
 *     <ipAddress>192.168.1.64</ipAddress><portNo>80</portNo><protocol>HTTP</protocol><channelID>1</channelID>
 *     <dateTime>2026-11-14T15:27:03+01:00</dateTime><activePostCount>1</activePostCount>
 *     <eventType>VMD</eventType><eventState>active</eventState><eventDescription>Motion alarm</eventDescription>
 *   </EventNotificationAlert>
 *
 * A durative event (motion, intrusion) is posted again while it lasts (`activePostCount` counts the posts) and
 * ends with an `inactive` post. With no event to report the device posts a heartbeat: `videoloss` with
 * `inactive`. Devices also send parts without Content-Length, pictures (`image/jpeg`) after some alerts, and
 * older firmware the `http://www.hikvision.com/ver20/XMLSchema` namespace: the reader takes all of these.
 */
import { fail, ok, type Result } from '../result.js';
import { isapiDoc as doc, IsapiReader as Reader, isapiRoot as root, isapiTag as tag } from './messages.js';
import { zonedTimeMs } from './time.js';

export const ALERT_STREAM_PATH = '/ISAPI/Event/notification/alertStream';

/** The event types the platform reads (devices send many more; they are parsed and left to the reader). */
export const AlertEventType = {
  motion: 'VMD',
  intrusion: 'fielddetection',
  lineCrossing: 'linedetection',
  /** As a heartbeat with eventState `inactive`. */
  videoLoss: 'videoloss',
} as const;
export type AlertEventType = (typeof AlertEventType)[keyof typeof AlertEventType];

export const AlertEventState = { active: 'active', inactive: 'inactive' } as const;
export type AlertEventState = (typeof AlertEventState)[keyof typeof AlertEventState];
const STATES = Object.values(AlertEventState);

export interface EventNotificationAlert {
  ipAddress: string;
  portNo: number;
  /** The channel the event belongs to, from 1 (absent on some device-wide events). */
  channelId?: number;
  /** ISO 8601 with the device's offset, e.g. `2026-11-14T15:27:03+01:00`; seconds may be missing. */
  dateTime: string;
  activePostCount: number;
  /** One of AlertEventType, or another type a device sends. */
  eventType: string;
  eventState: AlertEventState;
  eventDescription: string;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2}))$/;

/** Milliseconds since the epoch of an alert's dateTime, or undefined when it is not ISO 8601 with a zone. */
export function alertTimeMs(dateTime: string): number | undefined {
  const m = DATE_TIME.exec(dateTime.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '0', frac = '0', zone, sign, zh = '0', zm = '0'] = m;
  const [zoneHours, zoneMinutes] = [Number(zh), Number(zm)];
  if (zoneHours > 14 || zoneMinutes > 59) return undefined;
  const offset = zone === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (zoneHours * 60 + zoneMinutes);
  return zonedTimeMs(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), Math.floor(Number(`0.${frac}`) * 1000), offset);
}

export function buildEventNotificationAlert(a: EventNotificationAlert): string {
  if (alertTimeMs(a.dateTime) === undefined) throw new RangeError(`dateTime must be ISO 8601 with a zone: ${a.dateTime}`);
  if (!/^[A-Za-z][\w-]{0,63}$/.test(a.eventType)) throw new RangeError(`not an event type: ${a.eventType}`);
  return doc('EventNotificationAlert', [
    tag('ipAddress', a.ipAddress),
    tag('portNo', a.portNo),
    tag('protocol', 'HTTP'),
    a.channelId === undefined ? '' : tag('channelID', a.channelId),
    tag('dateTime', a.dateTime),
    tag('activePostCount', a.activePostCount),
    tag('eventType', a.eventType),
    tag('eventState', a.eventState),
    tag('eventDescription', a.eventDescription),
  ]);
}

export function parseEventNotificationAlert(input: string | Uint8Array): Result<EventNotificationAlert> {
  const r = root(input, 'EventNotificationAlert');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'EventNotificationAlert');
  const channelId = x.optInt('channelID', r.value, 1, 9999);
  const dateTime = x.text('dateTime', r.value, 40);
  const eventType = x.text('eventType', r.value, 64);
  const alert: EventNotificationAlert = {
    ipAddress: x.optText('ipAddress') ?? '',
    portNo: x.optInt('portNo', r.value, 0, 65535) ?? 0,
    ...(channelId === undefined ? {} : { channelId }),
    dateTime,
    activePostCount: x.optInt('activePostCount') ?? 0,
    eventType,
    eventState: x.oneOf('eventState', STATES),
    eventDescription: x.optText('eventDescription') ?? '',
  };
  const done = x.done(alert);
  if (!done.ok) return done;
  if (alertTimeMs(dateTime) === undefined) return fail('EventNotificationAlert.dateTime: not ISO 8601 with a zone');
  if (!/^[A-Za-z][\w-]*$/.test(eventType)) return fail('EventNotificationAlert.eventType: not an event type');
  return done;
}

// ------------------------------------------------------------------------------------------- multipart

/** A part's headers (names in lower case) and its bytes. */
export interface MultipartPart {
  headers: Record<string, string>;
  body: Buffer;
}

/** The largest part taken (alerts are about 1 KB; some devices attach a picture of a few hundred KB). */
export const MAX_ALERT_PART_BYTES = 4 * 1024 * 1024;
const MAX_HEADER_BYTES = 8 * 1024;
const MAX_BOUNDARY = 70;

/** The boundary of a `multipart/mixed` Content-Type, which the alert stream is. */
export function multipartBoundary(contentType: string | null | undefined): Result<string> {
  const [type, ...params] = (contentType ?? '').split(';');
  if (type?.trim().toLowerCase() !== 'multipart/mixed') return fail(`not multipart/mixed: ${(contentType ?? '(none)').slice(0, 100)}`);
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    const value = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (value === '' || value.length > MAX_BOUNDARY) return fail('the boundary must be 1 to 70 characters');
    return ok(value);
  }
  return fail('multipart/mixed without a boundary');
}

/** One part of the stream as a device writes it, with its length. */
export function formatMultipartPart(boundary: string, body: string | Buffer, contentType = 'application/xml; charset="UTF-8"'): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = `--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Length: ${bytes.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes, Buffer.from('\r\n', 'latin1')]);
}

type ReaderState = 'delimiter' | 'headers' | 'body' | 'closed';

/**
 * Reads a `multipart/mixed` body as it arrives: `push` takes any chunk (part of a part, or several parts) and
 * returns the parts it completes. A part's end is its Content-Length when given, otherwise the next delimiter;
 * text before the first delimiter and between parts is skipped. After an error the reader stays failed.
 */
export class MultipartReader {
  private readonly delimiter: Buffer;
  private buffer = Buffer.alloc(0);
  private state: ReaderState = 'delimiter';
  private headers: Record<string, string> = {};
  private failure: string | undefined;

  constructor(boundary: string) {
    if (boundary === '' || boundary.length > MAX_BOUNDARY || /[\r\n]/.test(boundary)) throw new RangeError('the boundary must be 1 to 70 characters on one line');
    this.delimiter = Buffer.from(`--${boundary}`, 'latin1');
  }

  /** True once the close delimiter (`--boundary--`) was read. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  push(chunk: Uint8Array): Result<MultipartPart[]> {
    if (this.failure !== undefined) return fail(this.failure);
    if (this.state === 'closed') return ok([]);
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const parts: MultipartPart[] = [];
    for (;;) {
      const step = this.step();
      if (typeof step === 'string') {
        this.failure = step;
        this.buffer = Buffer.alloc(0);
        return fail(step);
      }
      if (step === false) break;
      if (step !== true) parts.push(step);
    }
    return ok(parts);
  }

  /** Moves on by one element: a part, true (progress), false (wants more bytes) or the problem. */
  private step(): MultipartPart | boolean | string {
    switch (this.state) {
      case 'closed':
        return false;
      case 'delimiter': {
        const at = this.buffer.indexOf(this.delimiter);
        if (at < 0) {
          // Keep what could be the start of a delimiter split across chunks.
          this.buffer = this.buffer.subarray(Math.max(0, this.buffer.length - this.delimiter.length - 1));
          return false;
        }
        const lineEnd = this.buffer.indexOf(0x0a, at + this.delimiter.length);
        const rest = this.buffer.subarray(at + this.delimiter.length, lineEnd < 0 ? undefined : lineEnd).toString('latin1');
        if (rest.startsWith('--')) {
          this.state = 'closed';
          this.buffer = Buffer.alloc(0);
          return false;
        }
        if (lineEnd < 0) return rest.length > MAX_BOUNDARY ? 'a delimiter line that does not end' : false;
        if (rest.trim() !== '') {
          // The boundary text inside something else: look further.
          this.buffer = this.buffer.subarray(at + this.delimiter.length);
          return true;
        }
        this.buffer = this.buffer.subarray(lineEnd + 1);
        this.headers = {};
        this.state = 'headers';
        return true;
      }
      case 'headers': {
        const lineEnd = this.buffer.indexOf(0x0a);
        if (lineEnd < 0) return this.buffer.length > MAX_HEADER_BYTES ? 'part headers larger than 8 KB' : false;
        const line = this.buffer.subarray(0, lineEnd).toString('latin1').replace(/\r$/, '');
        this.buffer = this.buffer.subarray(lineEnd + 1);
        if (line === '') {
          this.state = 'body';
          return true;
        }
        const colon = line.indexOf(':');
        if (colon <= 0) return `a part header without a name: ${line.slice(0, 80)}`;
        if (Object.keys(this.headers).length >= 32) return 'more than 32 part headers';
        this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        return true;
      }
      case 'body': {
        const declared = this.headers['content-length'];
        let length: number;
        let next: number;
        if (declared !== undefined) {
          if (!/^\d{1,10}$/.test(declared)) return `a part with Content-Length ${declared.slice(0, 20)}`;
          length = Number(declared);
          if (length > MAX_ALERT_PART_BYTES) return `a part of ${length} bytes, more than ${MAX_ALERT_PART_BYTES}`;
          if (this.buffer.length < length) return false;
          next = length;
        } else {
          // The line break before the next delimiter belongs to the delimiter.
          const at = this.buffer.indexOf(Buffer.concat([Buffer.from('\n', 'latin1'), this.delimiter]));
          if (at < 0) return this.buffer.length > MAX_ALERT_PART_BYTES ? `a part larger than ${MAX_ALERT_PART_BYTES} bytes` : false;
          length = at > 0 && this.buffer[at - 1] === 0x0d ? at - 1 : at;
          next = at + 1;
        }
        const part: MultipartPart = { headers: this.headers, body: Buffer.from(this.buffer.subarray(0, length)) };
        this.buffer = this.buffer.subarray(next);
        this.state = 'delimiter';
        return part;
      }
    }
  }
}

/** True for a part holding XML (the alerts), false for pictures and other attachments. */
export function isXmlPart(part: MultipartPart): boolean {
  const type = (part.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/xml' || type === 'text/xml') return true;
  // Some firmware leaves the type out.
  return type === '' && part.body.subarray(0, 64).toString('latin1').trimStart().startsWith('<');
}

import { describe, expect, it } from 'vitest';
import {
  AlertEventType,
  MultipartReader,
  alertTimeMs,
  buildEventNotificationAlert,
  formatMultipartPart,
  isXmlPart,
  multipartBoundary,
  parseEventNotificationAlert,
  type EventNotificationAlert,
  type MultipartPart,
} from './index.js';

const motion: EventNotificationAlert = {
  ipAddress: '192.168.1.64',
  portNo: 80,
  channelId: 3,
  dateTime: '2026-11-14T15:27:03+01:00',
  activePostCount: 1,
  eventType: AlertEventType.motion,
  eventState: 'active',
  eventDescription: 'Motion alarm',
};

/** A heartbeat as the vendor's documentation shows it: no seconds, the older namespace, no Content-Length. */
const HEARTBEAT = `<EventNotificationAlert version="1.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>172.6.64.7</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<macAddress>01:17:24:45:d9:f4</macAddress>
<channelID>1</channelID>
<dateTime>2009-11-14T15:27Z</dateTime>
<activePostCount>0</activePostCount>
<eventType>videoloss</eventType>
<eventState>inactive</eventState>
<eventDescription>videoloss alarm</eventDescription>
</EventNotificationAlert>`;

describe('EventNotificationAlert', () => {
  it('round-trips an alert', () => {
    const xml = buildEventNotificationAlert(motion);
    expect(parseEventNotificationAlert(xml)).toEqual({ ok: true, value: motion });
  });

  it('reads a heartbeat in the older namespace and a time without seconds', () => {
    const r = parseEventNotificationAlert(HEARTBEAT);
    expect(r).toEqual({
      ok: true,
      value: {
        ipAddress: '172.6.64.7',
        portNo: 80,
        channelId: 1,
        dateTime: '2009-11-14T15:27Z',
        activePostCount: 0,
        eventType: 'videoloss',
        eventState: 'inactive',
        eventDescription: 'videoloss alarm',
      },
    });
    expect(alertTimeMs('2009-11-14T15:27Z')).toBe(Date.UTC(2009, 10, 14, 15, 27));
  });

  it('reads the offset of the device time zone', () => {
    expect(alertTimeMs('2026-11-14T15:27:03+01:00')).toBe(Date.UTC(2026, 10, 14, 14, 27, 3));
    expect(alertTimeMs('2026-11-14T15:27:03.250-0530')).toBe(Date.UTC(2026, 10, 14, 20, 57, 3, 250));
    expect(alertTimeMs('2026-11-14T15:27:03')).toBeUndefined();
    expect(alertTimeMs('2026-13-14T15:27:03Z')).toBeUndefined();
  });

  it('refuses alerts it cannot use and builds none it could not read', () => {
    const bad = (from: string, to: string) => parseEventNotificationAlert(buildEventNotificationAlert(motion).replace(from, to));
    expect(bad('<eventState>active', '<eventState>maybe').ok).toBe(false);
    expect(bad('2026-11-14T15:27:03+01:00', 'yesterday').ok).toBe(false);
    expect(bad('<channelID>3', '<channelID>x').ok).toBe(false);
    expect(bad('<eventType>VMD</eventType>', '').ok).toBe(false);
    expect(parseEventNotificationAlert('<ResponseStatus/>').ok).toBe(false);
    expect(() => buildEventNotificationAlert({ ...motion, dateTime: '2026-11-14 15:27' })).toThrow(RangeError);
    expect(() => buildEventNotificationAlert({ ...motion, eventType: 'a b' })).toThrow(RangeError);
  });
});

describe('multipartBoundary', () => {
  it('reads the boundary, quoted or not', () => {
    expect(multipartBoundary('multipart/mixed; boundary=boundary')).toEqual({ ok: true, value: 'boundary' });
    expect(multipartBoundary('Multipart/Mixed;boundary="MIME_boundary"')).toEqual({ ok: true, value: 'MIME_boundary' });
    expect(multipartBoundary('application/xml').ok).toBe(false);
    expect(multipartBoundary('multipart/mixed').ok).toBe(false);
    expect(multipartBoundary(null).ok).toBe(false);
  });
});

/** Everything a reader gives for these chunks, failing on an error. */
function readAll(boundary: string, chunks: Buffer[]): { parts: MultipartPart[]; reader: MultipartReader } {
  const reader = new MultipartReader(boundary);
  const parts: MultipartPart[] = [];
  for (const c of chunks) {
    const r = reader.push(c);
    if (!r.ok) throw new Error(r.error);
    parts.push(...r.value);
  }
  return { parts, reader };
}

/** The stream cut at the given offsets. */
const cut = (stream: Buffer, at: number[]): Buffer[] => [0, ...at, stream.length].slice(1).map((end, i, ends) => stream.subarray(i === 0 ? 0 : ends[i - 1], end));

describe('MultipartReader', () => {
  const alerts = [
    buildEventNotificationAlert(motion),
    buildEventNotificationAlert({ ...motion, activePostCount: 2 }),
    buildEventNotificationAlert({ ...motion, eventType: AlertEventType.lineCrossing, channelId: 7 }),
  ];
  const picture = Buffer.from([0xff, 0xd8, 0x0d, 0x0a, 0x2d, 0x2d, 0xff, 0xd9]);
  const stream = Buffer.concat([
    formatMultipartPart('boundary', alerts[0]!),
    formatMultipartPart('boundary', alerts[1]!),
    formatMultipartPart('boundary', picture, 'image/jpeg'),
    formatMultipartPart('boundary', alerts[2]!),
  ]);
  const bodies = (parts: MultipartPart[]) => parts.map((p) => p.body.toString('latin1'));
  const expected = [alerts[0], alerts[1], picture.toString('latin1'), alerts[2]];

  it('reads the parts of a whole stream', () => {
    const { parts } = readAll('boundary', [stream]);
    expect(bodies(parts)).toEqual(expected);
    expect(parts.map(isXmlPart)).toEqual([true, true, false, true]);
    expect(parts[2]!.headers).toEqual({ 'content-type': 'image/jpeg', 'content-length': String(picture.length) });
  });

  it('reads the same parts one byte at a time', () => {
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    expect(bodies(readAll('boundary', bytes).parts)).toEqual(expected);
  });

  it('reads the same parts cut anywhere, twice', () => {
    for (let a = 1; a < stream.length; a += 37) {
      const b = Math.min(stream.length - 1, a + 1 + ((a * 7919) % 900));
      expect(bodies(readAll('boundary', cut(stream, b > a ? [a, b] : [a])).parts), `cut at ${a}, ${b}`).toEqual(expected);
    }
  });

  it('gives each part as soon as it is whole, and none before', () => {
    const first = formatMultipartPart('boundary', alerts[0]!);
    const reader = new MultipartReader('boundary');
    expect(reader.push(first.subarray(0, first.length - 10))).toEqual({ ok: true, value: [] });
    const r = reader.push(first.subarray(first.length - 10));
    expect(r.ok && bodies(r.value)).toEqual([alerts[0]]);
  });

  it('reads parts without Content-Length, LF line ends, a preamble and the close delimiter', () => {
    const text = `preamble text\n--MIME\nContent-Type: application/xml\n\n${HEARTBEAT}\n--MIME\r\nContent-Type: application/xml\r\n\r\n${alerts[0]}\r\n--MIME--\r\n`;
    const whole = Buffer.from(text, 'utf8');
    for (const chunks of [[whole], cut(whole, [20, 21, 200, 700, whole.length - 5])]) {
      const { parts, reader } = readAll('MIME', chunks);
      expect(bodies(parts)).toEqual([HEARTBEAT, alerts[0]]);
      expect(reader.closed).toBe(true);
      expect(parts.map((p) => parseEventNotificationAlert(p.body).ok)).toEqual([true, true]);
    }
  });

  it('fails on a part it cannot take, and stays failed', () => {
    const reader = new MultipartReader('b');
    const r = reader.push(Buffer.from('--b\r\nContent-Length: 99999999999\r\n\r\n'));
    expect(r.ok).toBe(false);
    expect(reader.push(formatMultipartPart('b', alerts[0]!)).ok).toBe(false);
    expect(new MultipartReader('b').push(Buffer.from('--b\r\nno colon here\r\n\r\n')).ok).toBe(false);
    expect(() => new MultipartReader('')).toThrow(RangeError);
  });
});

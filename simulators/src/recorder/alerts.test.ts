import { afterEach, describe, expect, it } from 'vitest';
import {
  ALERT_STREAM_PATH,
  DigestClient,
  MultipartReader,
  alertTimeMs,
  multipartBoundary,
  parseEventNotificationAlert,
  type EventNotificationAlert,
} from '@vigil/protocol';
import { DeviceHost, parseLanSpec } from '../devices/host.js';
import type { SimDevice, SimDeviceOptions } from '../devices/sim-device.js';

const PW = 'Abcd1234!';
const hosts: DeviceHost[] = [];
const streams: AbortController[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.abort();
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

async function recorder(options: Partial<SimDeviceOptions> = {}): Promise<SimDevice> {
  const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices: [{ class: 'dvr', activated: true, password: PW, ...options }] });
  hosts.push(host);
  await host.start();
  return host.devices[0]!;
}

const base = (d: SimDevice) => `http://127.0.0.1:${d.endpoints.httpPort}`;
const control = (d: SimDevice, input: unknown) =>
  fetch(`${base(d)}/__sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
const state = async (d: SimDevice) => (await (await fetch(`${base(d)}/__sim/state`)).json()) as { alertStreams: number; activeEvents: string[] };

/** An open alert stream and the alerts read from it so far. */
async function openStream(d: SimDevice) {
  const abort = new AbortController();
  streams.push(abort);
  const res = await new DigestClient('admin', PW).fetch(`${base(d)}${ALERT_STREAM_PATH}`, { signal: abort.signal });
  expect(res.status).toBe(200);
  const boundary = multipartBoundary(res.headers.get('content-type'));
  if (!boundary.ok) throw new Error(boundary.error);
  const reader = new MultipartReader(boundary.value);
  const alerts: EventNotificationAlert[] = [];
  let ended = false;
  void (async () => {
    try {
      for await (const chunk of res.body!) {
        const parts = reader.push(chunk);
        if (!parts.ok) throw new Error(parts.error);
        for (const p of parts.value) {
          const a = parseEventNotificationAlert(p.body);
          if (!a.ok) throw new Error(a.error);
          alerts.push(a.value);
        }
      }
    } catch {
      // Aborted by the test or cut by the device: either way the stream is over.
    }
    ended = true;
  })();
  return { alerts, ended: () => ended, abort: () => abort.abort() };
}

const events = (alerts: EventNotificationAlert[]) => alerts.filter((a) => a.eventType !== 'videoloss');

describe('recorder alert stream', () => {
  it('sends every event fired per channel to every open stream, reposting what lasts', async () => {
    const d = await recorder({ clockOffsetMs: 3_600_000, timeZone: 'CST-8:00:00' });
    const one = await openStream(d);
    const two = await openStream(d);
    await expect.poll(async () => (await state(d)).alertStreams, { timeout: 10_000 }).toBe(2);

    const before = Date.now();
    expect((await control(d, { event: { channel: 3, type: 'motion', active: true } })).status).toBe(200);
    await expect.poll(() => events(one.alerts).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect((await state(d)).activeEvents).toEqual(['3:motion']);
    expect((await control(d, { event: { channel: 3, type: 'motion', active: false } })).status).toBe(200);
    expect((await control(d, { event: { channel: 5, type: 'lineCrossing' } })).status).toBe(200);
    expect((await control(d, { event: { channel: 2, type: 'intrusion', active: true } })).status).toBe(200);

    for (const s of [one, two]) {
      await expect.poll(() => events(s.alerts).at(-1)?.eventType, { timeout: 10_000 }).toBe('fielddetection');
      const seen = events(s.alerts);
      const motion = seen.filter((a) => a.eventType === 'VMD');
      // Posted at the start, again every second while it lasted, and inactive at the end with the count so far.
      expect(motion.map((a) => a.eventState)).toEqual([...motion.slice(0, -1).map(() => 'active'), 'inactive']);
      expect(motion.map((a) => a.activePostCount)).toEqual([...motion.slice(0, -1).map((_, i) => i + 1), motion.length - 1]);
      expect(motion.every((a) => a.channelId === 3)).toBe(true);
      expect(seen.slice(-2).map((a) => [a.channelId, a.eventType, a.eventState, a.activePostCount])).toEqual([
        [5, 'linedetection', 'active', 1],
        [2, 'fielddetection', 'active', 1],
      ]);
      // The device's clock (an hour ahead), written in its time zone.
      const first = motion[0]!;
      expect(first.dateTime).toMatch(/\+08:00$/);
      expect(alertTimeMs(first.dateTime)! - before).toBeGreaterThan(3_600_000 - 2_000);
      expect(first).toMatchObject({ ipAddress: '127.0.0.1', portNo: d.endpoints.httpPort });
    }
  });

  it('writes the videoloss heartbeat on a quiet stream', async () => {
    const d = await recorder({ alertHeartbeatMs: 200 });
    const s = await openStream(d);
    await expect.poll(() => s.alerts.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(s.alerts.every((a) => a.eventType === 'videoloss' && a.eventState === 'inactive')).toBe(true);
  });

  it('wants the login, refuses events it cannot fire, and closes its streams when it stops', async () => {
    const d = await recorder({ analogChannels: 4 });
    const anonymous = await fetch(`${base(d)}${ALERT_STREAM_PATH}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Digest /);
    expect((await new DigestClient('admin', 'wrong').fetch(`${base(d)}${ALERT_STREAM_PATH}`)).status).toBe(401);

    const s = await openStream(d);
    for (const bad of [
      { event: { channel: 9, type: 'motion', active: true } },
      { event: { channel: 1, type: 'tamper', active: true } },
      { event: { channel: 1, type: 'motion' } },
      { event: { channel: 1, type: 'lineCrossing', active: false } },
      { event: { channel: 1, type: 'motion', active: true, extra: 1 } },
      { event: { channel: 1, type: 'motion', active: true }, latencyMs: -1 },
    ]) {
      expect((await control(d, bad)).status, JSON.stringify(bad)).toBe(400);
    }
    expect((await state(d)).activeEvents).toEqual([]);

    expect((await state(d)).alertStreams).toBe(1);
    await hosts.splice(0)[0]!.stop();
    await expect.poll(() => s.ended(), { timeout: 10_000 }).toBe(true);
    expect(d.state.alertStreams).toBe(0);
    expect(events(s.alerts)).toEqual([]);
  });

  it('forgets a stream its client closes', async () => {
    const d = await recorder();
    const s = await openStream(d);
    await expect.poll(async () => (await state(d)).alertStreams, { timeout: 10_000 }).toBe(1);
    s.abort();
    await expect.poll(async () => (await state(d)).alertStreams, { timeout: 10_000 }).toBe(0);
  });

  it('takes a heartbeat period in the lan spec, within bounds', () => {
    const spec = (alertHeartbeatMs: unknown) => parseLanSpec({ devices: [{ class: 'nvr', alertHeartbeatMs }] });
    expect(spec(5_000).ok).toBe(true);
    expect(spec(50).ok).toBe(false);
    expect(spec('10s').ok).toBe(false);
  });

  it('is not served by a camera, which has no alert stream events to fire', async () => {
    const d = await recorder({ class: 'camera' } as Partial<SimDeviceOptions>);
    expect((await control(d, { event: { channel: 1, type: 'motion', active: true } })).status).toBe(400);
  });
});

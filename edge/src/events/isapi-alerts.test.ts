import { DeviceHost, type SimDevice, type SimDeviceOptions } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { RecorderEventSubscriber, type RecorderDetectionEvent, type RecorderEventSubscriberOptions } from './isapi-alerts.js';

const PW = 'Vigil2024pw';
const HOUR_MS = 3_600_000;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A started DVR (analog channels 1 to 8); `stop` stops it early. */
async function recorder(options: Partial<SimDeviceOptions> = {}): Promise<{ device: SimDevice; stop: () => Promise<void> }> {
  const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices: [{ class: 'dvr', activated: true, password: PW, ...options }] });
  await host.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await host.stop();
  };
  cleanups.push(stop);
  return { device: host.devices[0]!, stop };
}

async function until(what: string, done: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function fire(d: SimDevice, event: { channel: number; type: string; active?: boolean }): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${d.endpoints.httpPort}/__sim/control`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event }),
  });
  expect(res.status).toBe(200);
}

const openStreams = async (d: SimDevice) =>
  ((await (await fetch(`http://127.0.0.1:${d.endpoints.httpPort}/__sim/state`)).json()) as { alertStreams: number }).alertStreams;

/** A started subscriber on a recorder, with what it reported. */
function subscribe(d: SimDevice, opts: Partial<RecorderEventSubscriberOptions> = {}) {
  const subscriber = new RecorderEventSubscriber({ host: '127.0.0.1', httpPort: d.endpoints.httpPort, username: 'admin', password: PW, retryInitialMs: 100, retryMaxMs: 500, ...opts });
  const detections: (RecorderDetectionEvent & { receivedAt: number })[] = [];
  const connections: (number | undefined)[] = [];
  const failures: string[] = [];
  subscriber.on('detection', (e) => detections.push({ ...e, receivedAt: Date.now() }));
  subscriber.on('connected', (c) => connections.push(c.clockOffsetMs));
  subscriber.on('failure', (err) => failures.push(err.message));
  subscriber.start();
  cleanups.push(() => subscriber.stop());
  return { subscriber, detections, connections, failures };
}

const brief = (ds: RecorderDetectionEvent[]) => ds.map((d) => [d.channel, d.type, d.active]);

describe('RecorderEventSubscriber', () => {
  it('gives each channel’s motion, intrusion and line crossing once per start and end, at box times', async () => {
    const { device } = await recorder();
    const { subscriber, detections, connections, failures } = subscribe(device);
    await until('the stream', () => connections.length === 1);
    expect(subscriber.status.connected).toBe(true);

    const before = Date.now();
    await fire(device, { channel: 1, type: 'motion', active: true });
    await fire(device, { channel: 4, type: 'intrusion', active: true });
    await fire(device, { channel: 2, type: 'lineCrossing' });
    await until('three detections', () => detections.length === 3);
    expect(subscriber.status.active.sort()).toEqual(['1:motion', '4:intrusion']);
    // Reposts of what goes on (one a second) are not new detections.
    await pause(2_500);
    expect(detections).toHaveLength(3);
    await fire(device, { channel: 1, type: 'motion', active: false });
    await fire(device, { channel: 4, type: 'intrusion', active: false });
    await fire(device, { channel: 2, type: 'lineCrossing' });
    await until('the ends and the second crossing', () => detections.length === 6);

    expect(brief(detections)).toEqual([
      [1, 'motion', true],
      [4, 'intrusion', true],
      [2, 'lineCrossing', true],
      [1, 'motion', false],
      [4, 'intrusion', false],
      [2, 'lineCrossing', true],
    ]);
    for (const d of detections) {
      // The recorder writes whole seconds.
      expect(d.at).toBeGreaterThanOrEqual(before - 1_500);
      expect(d.at).toBeLessThanOrEqual(d.receivedAt);
    }
    expect(detections[3]!.at - detections[0]!.at).toBeGreaterThanOrEqual(1_000);
    expect(subscriber.status.active).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('gives box-clock times for a recorder an hour ahead in another time zone', async () => {
    const { device } = await recorder({ clockOffsetMs: HOUR_MS, timeZone: 'CST-8:00:00' });
    const { detections, connections } = subscribe(device);
    await until('the stream', () => connections.length === 1);
    expect(Math.abs(connections[0]! - HOUR_MS)).toBeLessThan(2_000);
    const before = Date.now();
    await fire(device, { channel: 3, type: 'motion', active: true });
    await until('the motion', () => detections.length === 1);
    const [motion] = detections;
    expect(motion!.at).toBeGreaterThanOrEqual(before - 1_500);
    expect(motion!.at).toBeLessThanOrEqual(motion!.receivedAt);
    expect(motion!.cameraAt - motion!.at).toBeGreaterThan(HOUR_MS - 2_000);
  });

  it('connects again to a recorder restarted on the same port, ending what was going on, and carries on', async () => {
    const first = await recorder();
    const { subscriber, detections, connections, failures } = subscribe(first.device);
    await until('the stream', () => connections.length === 1);
    await fire(first.device, { channel: 5, type: 'motion', active: true });
    await until('the motion', () => detections.length === 1);

    const port = first.device.endpoints.httpPort;
    await first.stop();
    await until('the loss to be noticed', () => failures.length > 0);
    // The box can no longer see the motion: it ends when the stream is lost.
    expect(brief(detections)).toEqual([
      [5, 'motion', true],
      [5, 'motion', false],
    ]);
    expect(subscriber.status).toMatchObject({ connected: false, active: [] });

    const second = await recorder({ httpPort: port });
    await until('a second stream', () => connections.length === 2);
    expect(await openStreams(second.device)).toBe(1);
    await fire(second.device, { channel: 6, type: 'intrusion', active: true });
    await until('the intrusion', () => detections.length === 3);
    expect(detections[2]).toMatchObject({ channel: 6, type: 'intrusion', active: true });
    expect(subscriber.status.failures).toBe(0);
  });

  it('opens the stream again when it falls silent, and not while heartbeats come', async () => {
    const quiet = await recorder({ alertHeartbeatMs: 60_000 });
    const silent = subscribe(quiet.device, { silenceMs: 1_500 });
    const lively = await recorder({ alertHeartbeatMs: 200 });
    const alive = subscribe(lively.device, { silenceMs: 1_500 });
    await until('reconnections after silence', () => silent.connections.length >= 3);
    expect(silent.failures[0]).toMatch(/nothing from the recorder for 1500 ms/);
    // The silent stream was closed before another was opened.
    expect(await openStreams(quiet.device)).toBe(1);
    expect(alive.connections).toHaveLength(1);
    expect(alive.failures).toEqual([]);
  });

  it('reports a refused login and keeps trying', async () => {
    const { device } = await recorder();
    const { connections, failures } = subscribe(device, { password: 'Wrong-pw-1' });
    await until('two failures', () => failures.length >= 2);
    expect(failures[0]).toMatch(/refused the login/);
    expect(connections).toEqual([]);
  });

  it('closes the connection when stopped', async () => {
    const { device } = await recorder();
    const { subscriber, connections } = subscribe(device);
    await until('the stream', () => connections.length === 1);
    await until('the recorder to count it', async () => (await openStreams(device)) === 1);
    await subscriber.stop();
    await until('the recorder to count no stream', async () => (await openStreams(device)) === 0);
    expect(subscriber.status).toMatchObject({ running: false, connected: false });
  });

  it('refuses options it cannot use', () => {
    const base = { host: '127.0.0.1', httpPort: 80, username: 'admin', password: PW };
    expect(() => new RecorderEventSubscriber({ ...base, host: '' })).toThrow(RangeError);
    expect(() => new RecorderEventSubscriber({ ...base, host: 'a/b' })).toThrow(RangeError);
    expect(() => new RecorderEventSubscriber({ ...base, httpPort: 0 })).toThrow(RangeError);
    expect(() => new RecorderEventSubscriber({ ...base, username: '' })).toThrow(RangeError);
    expect(() => new RecorderEventSubscriber({ ...base, silenceMs: 0 })).toThrow(RangeError);
  });
});

import { IpCameraSimulator, type IpCameraOptions } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import type { DetectionEvent } from './detections.js';
import { CameraEventSubscriber, type CameraEventSubscriberOptions } from './pullpoint.js';

const PASSWORD = 'Secret-1';
const HOUR_MS = 3_600_000;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function camera(opts: Partial<IpCameraOptions> = {}): Promise<IpCameraSimulator> {
  const cam = new IpCameraSimulator({ serial: 'EVTEDGE01', password: PASSWORD, ...opts });
  await cam.start();
  cleanups.push(() => cam.stop());
  return cam;
}

async function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A started subscriber on a camera, with what it reported. */
function subscribe(cam: IpCameraSimulator, opts: Partial<CameraEventSubscriberOptions> = {}) {
  const subscriber = new CameraEventSubscriber({ deviceServiceUrl: cam.deviceServiceUrl, account: { username: 'admin', password: PASSWORD }, ...opts });
  const detections: (DetectionEvent & { receivedAt: number })[] = [];
  const motions: (DetectionEvent & { receivedAt: number })[] = [];
  const subscriptions: string[] = [];
  const failures: string[] = [];
  subscriber.on('detection', (e) => {
    detections.push({ ...e, receivedAt: Date.now() });
    if (e.type === 'motion') motions.push({ ...e, receivedAt: Date.now() });
  });
  subscriber.on('subscribed', (s) => subscriptions.push(s.address));
  subscriber.on('failure', (err) => failures.push(err.message));
  subscriber.start();
  cleanups.push(() => subscriber.stop());
  return { subscriber, detections, motions, subscriptions, failures };
}

/** Pulses motion and waits for its start and end; returns the box clock just before the pulse. */
async function pulse(cam: IpCameraSimulator, motions: DetectionEvent[], ms: number): Promise<number> {
  const seen = motions.length;
  const before = Date.now();
  cam.pulseMotion(ms);
  await until('motion and its end', () => motions.length >= seen + 2);
  return before;
}

describe('CameraEventSubscriber', () => {
  it('reports a motion pulse once as active then inactive, at box times inside the pulse', async () => {
    const cam = await camera();
    const { motions, subscriptions, failures } = subscribe(cam);
    await until('a subscription', () => subscriptions.length === 1);
    expect(cam.state.subscriptions).toBe(1);

    const before = await pulse(cam, motions, 1500);
    // Both motion topics report each change: still one event per change.
    await pause(500);
    expect(motions.map((m) => m.active)).toEqual([true, false]);
    const [start, end] = motions as [DetectionEvent & { receivedAt: number }, DetectionEvent & { receivedAt: number }];
    expect(start).toMatchObject({ type: 'motion', source: 'VideoSourceConfig_1', rule: 'MyMotionDetectorRule' });
    expect(start.initial).toBeUndefined();
    expect(start.at).toBeGreaterThanOrEqual(before - 200);
    expect(start.at).toBeLessThanOrEqual(start.receivedAt + 200);
    expect(end.at - start.at).toBeGreaterThanOrEqual(1300);
    expect(end.at).toBeLessThanOrEqual(end.receivedAt + 200);
    expect(start.cameraAt).toBeGreaterThanOrEqual(before - 200);
    expect(failures).toEqual([]);
  });

  it('reports intrusion as it starts and ends and each line crossing as a pulse, beside motion', async () => {
    const cam = await camera();
    const { subscriber, detections, subscriptions, failures } = subscribe(cam);
    await until('a subscription', () => subscriptions.length === 1);

    const before = Date.now();
    cam.setIntrusion(true);
    await until('the intrusion', () => detections.length === 1);
    expect(subscriber.status).toMatchObject({ intrusion: true, motion: false });
    cam.crossLine();
    cam.setMotion(true);
    cam.crossLine();
    cam.setIntrusion(false);
    await until('the rest', () => detections.length === 5);
    await pause(500);
    expect(detections.map((d) => [d.type, d.active])).toEqual([
      ['intrusion', true],
      ['lineCrossing', true],
      ['motion', true],
      ['lineCrossing', true],
      ['intrusion', false],
    ]);
    expect(detections[0]).toMatchObject({ source: 'VideoSourceConfig_1', rule: 'MyFieldDetectorRule' });
    expect(detections[1]).toMatchObject({ rule: 'MyLineDetectorRule' });
    for (const d of detections) {
      expect(d.at).toBeGreaterThanOrEqual(before - 200);
      expect(d.at).toBeLessThanOrEqual(d.receivedAt + 200);
      expect(d.initial).toBeUndefined();
    }
    expect(subscriber.status).toMatchObject({ intrusion: false, motion: true });
    expect(failures).toEqual([]);
  });

  it('gets only motion from a solar camera, through the same subscription', async () => {
    const cam = await camera({ solar: true });
    const { detections, subscriptions } = subscribe(cam);
    await until('a subscription', () => subscriptions.length === 1);
    expect(() => cam.setIntrusion(true)).toThrow();
    await pulse(cam, detections, 300);
    expect(detections.map((d) => [d.type, d.active])).toEqual([
      ['motion', true],
      ['motion', false],
    ]);
  });

  it('does not take the state at subscription time for a motion, but reports motion already going on once, as initial', async () => {
    const idle = await camera();
    const quiet = subscribe(idle);
    await until('a subscription', () => quiet.subscriptions.length === 1);

    const busy = await camera({ serial: 'EVTEDGE02' });
    busy.setMotion(true);
    const { motions } = subscribe(busy);
    await until('the initial motion', () => motions.length === 1);
    await pause(500);
    expect(quiet.motions).toEqual([]);
    expect(motions).toHaveLength(1);
    expect(motions[0]).toMatchObject({ active: true, initial: true });

    busy.setMotion(false);
    await until('the end of motion', () => motions.length === 2);
    expect(motions[1]).toMatchObject({ active: false });
    expect(motions[1]!.initial).toBeUndefined();
  });

  it('gives box-clock times for a camera whose clock is an hour ahead', async () => {
    const cam = await camera({ clock: () => Date.now() + HOUR_MS });
    const { subscriber, motions, subscriptions } = subscribe(cam);
    await until('a subscription', () => subscriptions.length === 1);
    expect(Math.abs(subscriber.status.clockOffsetMs - HOUR_MS)).toBeLessThan(2_000);

    const before = await pulse(cam, motions, 1000);
    const [start, end] = motions as [DetectionEvent & { receivedAt: number }, DetectionEvent & { receivedAt: number }];
    expect(start.at).toBeGreaterThanOrEqual(before - 500);
    expect(end.at).toBeLessThanOrEqual(end.receivedAt + 500);
    expect(start.cameraAt - start.at).toBeGreaterThan(HOUR_MS - 2_000);
  });

  it('renews its subscription so that events flow past the first termination time', async () => {
    const cam = await camera();
    const { motions, subscriptions, failures } = subscribe(cam, { subscriptionMs: 1500 });
    await until('a subscription', () => subscriptions.length === 1);
    await pause(4_000);
    expect(cam.state.subscriptions).toBe(1);
    await pulse(cam, motions, 300);
    expect(motions.map((m) => m.active)).toEqual([true, false]);
    expect(subscriptions).toHaveLength(1);
    expect(failures).toEqual([]);
  });

  it('subscribes again to a camera restarted on the same port, and gets its later motion', async () => {
    const first = await camera();
    const { motions, subscriptions, failures } = subscribe(first);
    await until('a subscription', () => subscriptions.length === 1);
    const port = first.state.http;
    await first.stop();
    await until('the failure to be noticed', () => failures.length > 0);

    const second = await camera({ httpPort: port });
    await until('a second subscription', () => subscriptions.length === 2);
    expect(second.state.subscriptions).toBe(1);
    await pulse(second, motions, 300);
    expect(motions.map((m) => m.active)).toEqual([true, false]);
  });

  it('measures the clock again and subscribes anew when the camera clock jumps', async () => {
    let shiftMs = 0;
    const cam = await camera({ clock: () => Date.now() + shiftMs });
    const { subscriber, motions, subscriptions, failures } = subscribe(cam, { pullTimeoutMs: 1000 });
    await until('a subscription', () => subscriptions.length === 1);
    // Two hours ahead: the subscription has expired and tokens dated on the old clock are refused.
    shiftMs = 2 * HOUR_MS;
    await until('a new subscription', () => subscriptions.length === 2);
    expect(failures.length).toBeGreaterThan(0);
    expect(Math.abs(subscriber.status.clockOffsetMs - 2 * HOUR_MS)).toBeLessThan(2_000);

    const before = await pulse(cam, motions, 300);
    expect(motions[0]!.at).toBeGreaterThanOrEqual(before - 500);
    expect(motions[0]!.at).toBeLessThanOrEqual(Date.now());
  });

  it('unsubscribes when stopped', async () => {
    const cam = await camera();
    const { subscriber, subscriptions } = subscribe(cam);
    await until('a subscription', () => subscriptions.length === 1);
    expect(cam.state.subscriptions).toBe(1);
    const stopping = Date.now();
    await subscriber.stop();
    expect(Date.now() - stopping).toBeLessThan(5_000);
    expect(cam.state.subscriptions).toBe(0);
    expect(subscriber.status).toMatchObject({ running: false, subscription: undefined });
  });

  it('refuses options it cannot use', () => {
    const account = { username: 'admin', password: PASSWORD };
    expect(() => new CameraEventSubscriber({ deviceServiceUrl: 'not a url', account })).toThrow(RangeError);
    expect(() => new CameraEventSubscriber({ deviceServiceUrl: 'ftp://camera/onvif', account })).toThrow(RangeError);
    expect(() => new CameraEventSubscriber({ deviceServiceUrl: 'http://camera/onvif', account, messageLimit: 0 })).toThrow(RangeError);
    expect(() => new CameraEventSubscriber({ deviceServiceUrl: 'http://camera/onvif', account, subscriptionMs: -1 })).toThrow(RangeError);
  });
});

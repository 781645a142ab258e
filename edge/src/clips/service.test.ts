import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeviceHost, type IpCameraSimulator, type SimDevice } from '@vigil/simulators';
import type { ClipChannelConfig } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { quietLog, tempDir } from '../test/util.js';
import { SMALL, startCamera, type Cleanups } from '../media/test/cameras.js';
import type { CameraTarget } from '../media/devices.js';
import { siteTime } from './schedule.js';
import { ClipService, type ResolvedClipChannel } from './service.js';
import { until } from './test/recorders.js';
import { UploadTestServer } from './test/upload-server.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SERIAL = 'VGCLIPS001';
const SECRET = 'box-secret-0123456789';
const DAY_MS = 86_400_000;

const targetOf = (cam: IpCameraSimulator): CameraTarget => ({
  kind: 'camera',
  deviceKey: 'cam',
  host: cam.host,
  port: cam.endpoints.http,
  serial: cam.identity.serial,
  username: 'admin',
  password: 'admin12345',
});

/** A channel of the camera recording motion all the time, 1 s before and 2 s after each event. */
function channel(cam: IpCameraSimulator, over: Partial<ResolvedClipChannel> = {}): ResolvedClipChannel {
  return {
    channelKey: `${randomUUID()}:1`,
    source: { kind: 'camera', deviceKey: 'cam' },
    stream: 'sub',
    triggers: ['motion'],
    schedule: null,
    preSeconds: 1,
    postSeconds: 2,
    activeUntil: Date.now() + DAY_MS,
    target: targetOf(cam),
    ...over,
  };
}

async function startService() {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  const service = await ClipService.open({ dataDir: tmp.dir, quotaBytes: 512 * 1024 * 1024, log: quietLog, retryInitialMs: 200 });
  cleanups.push(() => service.stop());
  const server = await UploadTestServer.start({ serial: SERIAL, secret: SECRET });
  cleanups.push(() => server.close());
  const upload = { uploadUrl: server.url, serial: SERIAL, secret: SECRET, limitKbps: null };
  return { service, server, upload, dir: tmp.dir };
}

/** Waits until every channel's ring holds footage and its device's events are subscribed. */
async function allBuffering(service: ClipService): Promise<void> {
  await until('rings buffering and events subscribed', () => service.status().channels.every((c) => c.state === 'buffering' && c.eventsSubscribed), 30_000);
}

/** The channel keys of the clips the upload server holds whole. */
const uploadedChannels = (server: UploadTestServer): string[] => server.completed.map((id) => server.clips.get(id)!.create.channelKey);

/** The pid of the ffmpeg writing into a ring folder, or 0. */
function ringPid(ringDir: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`${ringDir}/`)) return Number(entry);
    } catch {
      // The process ended while the list was read.
    }
  }
  return 0;
}

const DVR_PASSWORD = 'Abcd1234!';

async function startDvr(): Promise<SimDevice> {
  const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices: [{ class: 'dvr', activated: true, password: DVR_PASSWORD, channelStreams: { main: SMALL, sub: SMALL } }] });
  await host.start();
  cleanups.push(() => host.stop());
  return host.devices[0]!;
}

/** A channel of the DVR, with its device as the cloud names it. */
function dvrChannel(dvr: SimDevice, number: number, over: Partial<ClipChannelConfig> = {}): ResolvedClipChannel {
  const recorder = { serial: dvr.serial, ip: '127.0.0.1', httpPort: dvr.endpoints.httpPort, password: DVR_PASSWORD };
  return {
    channelKey: `${randomUUID()}:${number}`,
    source: { kind: 'recorder', recorder, channel: number },
    stream: 'sub',
    triggers: ['motion'],
    schedule: null,
    preSeconds: 1,
    postSeconds: 2,
    activeUntil: Date.now() + DAY_MS,
    target: { kind: 'recorder', ...recorder, channel: number },
    ...over,
  };
}

async function simPost(dvr: SimDevice, body: unknown): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${dvr.endpoints.httpPort}/__sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

const ringDirOf = (dataDir: string, channelKey: string): string => path.join(dataDir, 'clips', 'rings', channelKey.replace(/[^A-Za-z0-9_-]/g, '_'));

describe('the clip service with a simulated camera, real ffmpeg and a local upload target', () => {
  it('uploads a clip of the events a channel records; none for other triggers, outside the schedule or after the service ended', async () => {
    const cam = await startCamera(cleanups);
    const { service, server, upload } = await startService();
    const now = Date.now();
    const otherDay = (siteTime(now, 'Europe/Paris').day % 7) + 1;
    const motion = channel(cam);
    const analytics = channel(cam, { stream: 'main', triggers: ['intrusion', 'lineCrossing'] });
    const offSchedule = channel(cam, { schedule: { timeZone: 'Europe/Paris', periods: [{ days: [otherDay], start: 0, end: 1440 }] } });
    const expired = channel(cam, { activeUntil: now - 1_000 });
    await service.apply({ upload, channels: [motion, analytics, offSchedule, expired] });
    await allBuffering(service);

    const before = Date.now();
    cam.setMotion(true);
    await until('the motion clip uploaded', () => uploadedChannels(server).includes(motion.channelKey), 30_000);
    cam.setMotion(false);
    const [motionClip] = [...server.clips.values()].filter((c) => c.create.channelKey === motion.channelKey);
    expect(motionClip!.create.events).toHaveLength(1);
    expect(motionClip!.create.events[0]!.type).toBe('motion');
    expect(motionClip!.create.events[0]!.at).toBeGreaterThanOrEqual(before - 1_000);
    expect(motionClip!.parts.video.subarray(4, 8).toString()).toBe('ftyp');

    // The same camera's intrusion reaches the analytics channel only; its clip is in once the others would be.
    cam.setIntrusion(true);
    await until('the intrusion clip uploaded', () => uploadedChannels(server).includes(analytics.channelKey), 30_000);
    cam.setIntrusion(false);
    const [intrusionClip] = [...server.clips.values()].filter((c) => c.create.channelKey === analytics.channelKey);
    expect(intrusionClip!.create.events.map((e) => e.type)).toEqual(['intrusion']);
    expect(uploadedChannels(server).sort()).toEqual([motion.channelKey, analytics.channelKey].sort());
    // The cloud has the clip a moment before the box hears back and forgets it.
    await until('the queue empty', () => service.queue.stats().clips === 0, 10_000);
    expect(service.queue.stats().dropped).toBe(0);

    const status = new Map(service.status().channels.map((c) => [c.channelKey, c]));
    expect(status.get(motion.channelKey)).toMatchObject({ state: 'buffering', eventsSubscribed: true });
    expect(status.get(motion.channelKey)!.lastEventAt).toBe(motionClip!.create.events[0]!.at);
    expect(status.get(motion.channelKey)!.lastClipAt).toBeGreaterThanOrEqual(before);
    for (const silent of [offSchedule, expired]) expect(status.get(silent.channelKey)).toMatchObject({ lastEventAt: null, lastClipAt: null });
  }, 90_000);

  it('records a recorder’s channels from one alert stream, each from the events that name it', async () => {
    const dvr = await startDvr();
    const { service, server, upload } = await startService();
    const first = dvrChannel(dvr, 1);
    const second = dvrChannel(dvr, 2, { triggers: ['motion', 'lineCrossing'] });
    await service.apply({ upload, channels: [first, second] });
    await allBuffering(service);
    const state = (await (await fetch(`http://127.0.0.1:${dvr.endpoints.httpPort}/__sim/state`)).json()) as { alertStreams: number };
    expect(state.alertStreams).toBe(1);

    await simPost(dvr, { event: { channel: 2, type: 'lineCrossing' } });
    await until('the line crossing clip of channel 2 uploaded', () => uploadedChannels(server).includes(second.channelKey), 30_000);
    await simPost(dvr, { event: { channel: 1, type: 'motion', active: true } });
    await until('the motion clip of channel 1 uploaded', () => uploadedChannels(server).includes(first.channelKey), 30_000);
    await simPost(dvr, { event: { channel: 1, type: 'motion', active: false } });
    const clips = [...server.clips.values()].map((c) => [c.create.channelKey, c.create.events.map((e) => e.type)]);
    expect(clips.sort()).toEqual([[first.channelKey, ['motion']], [second.channelKey, ['lineCrossing']]].sort());
  }, 90_000);

  it('says why a channel cannot record, without its login; a right login in new settings gets it going', async () => {
    const cam = await startCamera(cleanups);
    const { service } = await startService();
    const wrongLogin = channel(cam, { target: { ...targetOf(cam), password: 'Wrong-Pass-99' } });
    const unknown = channel(cam, { target: null, problem: 'the box knows no camera cam-9' });
    await service.apply({ upload: null, channels: [wrongLogin, unknown] });
    await until('both failed', () => service.status().channels.every((c) => c.state === 'failed' && c.error), 20_000);
    const status = new Map(service.status().channels.map((c) => [c.channelKey, c]));
    expect(status.get(unknown.channelKey)!.error).toBe('the box knows no camera cam-9');
    expect(status.get(wrongLogin.channelKey)!.error).toMatch(/login/);
    expect(JSON.stringify(service.status())).not.toContain('Wrong-Pass-99');

    // The right login, given in a new configuration, gets the ring going.
    await service.apply({ upload: null, channels: [{ ...wrongLogin, target: targetOf(cam) }] });
    await allBuffering(service);
    expect(service.status().channels.map((c) => c.channelKey)).toEqual([wrongLogin.channelKey]);
  }, 60_000);

  it('keeps an unchanged ring through a new configuration, restarts a changed one, and stops a removed one whose clip still uploads', async () => {
    const cam = await startCamera(cleanups);
    const { service, server, upload, dir } = await startService();
    const kept = channel(cam);
    const changed = channel(cam);
    const removed = channel(cam, { postSeconds: 30 });
    await service.apply({ upload: null, channels: [kept, changed, removed] });
    await allBuffering(service);
    const pids = new Map([kept, changed, removed].map((c) => [c.channelKey, ringPid(ringDirOf(dir, c.channelKey))]));
    for (const pid of pids.values()) expect(pid).toBeGreaterThan(0);

    // A clip still being recorded on the channel about to go: it is written when its ring stops.
    cam.pulseMotion(500);
    await until('the event taken', () => service.status().channels.every((c) => c.lastEventAt !== null), 20_000);
    await service.apply({ upload, channels: [{ ...kept, triggers: ['motion', 'intrusion'], postSeconds: 3 }, { ...changed, stream: 'main' }] });

    expect(service.status().channels.map((c) => c.channelKey).sort()).toEqual([kept.channelKey, changed.channelKey].sort());
    expect(ringPid(ringDirOf(dir, kept.channelKey))).toBe(pids.get(kept.channelKey));
    expect(existsSync(ringDirOf(dir, removed.channelKey))).toBe(false);
    expect(ringPid(ringDirOf(dir, removed.channelKey))).toBe(0);
    await until('the changed ring running again', () => {
      const pid = ringPid(ringDirOf(dir, changed.channelKey));
      return pid !== 0 && pid !== pids.get(changed.channelKey);
    }, 20_000);
    await allBuffering(service);

    // The removed channel's clip goes up with the others'.
    await until('the three clips uploaded', () => new Set(uploadedChannels(server)).size === 3, 40_000);
    const removedClip = [...server.clips.values()].find((c) => c.create.channelKey === removed.channelKey)!;
    expect(removedClip.create.partial).toBe(true);
    expect(removedClip.create.events.map((e) => e.type)).toEqual(['motion']);

    // The kept channel took its new triggers.
    cam.setIntrusion(true);
    await until('an intrusion clip of the kept channel', () => [...server.clips.values()].some((c) => c.complete && c.create.channelKey === kept.channelKey && c.create.events.some((e) => e.type === 'intrusion')), 30_000);
    cam.setIntrusion(false);
  }, 120_000);
});

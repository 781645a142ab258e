import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clip, ClipsPage, CloudStorageChannel, DeviceCloudStorage, Package } from '@vigil/protocol/api';
import { launchChromium, signIn, type ChromiumSession } from '../browser/chromium.js';
import { VENDOR_ADMIN } from '@vigil/cloud/testing';
import { authenticateThroughVendor } from '../harness/company.js';
import { CuttingProxy } from '../harness/cutting-proxy.js';
import { eventually } from '../harness/process.js';
import { scenarioDir } from '../harness/system.js';
import { startVideoSite, VIDEO_PASSWORD, type VideoSite } from '../harness/video-site.js';

const run = promisify(execFile);
const dir = scenarioDir('clips');
const SMALL = ['--main-size', '640x360', '--sub-size', '320x180'] as const;
/** Three cameras: one recording on motion, one whose motion has no "Notify Surveillance Center", a solar one. */
const CAMERAS = {
  yard: { serial: 'CLIPCAM001', args: SMALL },
  porch: { serial: 'CLIPCAM002', args: SMALL },
  solar: { serial: 'CLIPCAM003', args: [...SMALL, '--solar'] },
} as const;
const PRE = 2;
const POST = 3;

let site: VideoSite<typeof CAMERAS>;
let proxy: CuttingProxy;
let browser: ChromiumSession | null = null;
let packageId: string;

beforeAll(async () => {
  // The cloud tells the box to upload through its public URL: a proxy that can cut an upload in the middle.
  proxy = await CuttingProxy.start();
  site = await startVideoSite(dir, CAMERAS, {
    cloudEnv: {
      VIGIL_PUBLIC_URL: `http://127.0.0.1:${proxy.port}`,
      VIGIL_CLIP_RETENTION_INTERVAL_MS: '500',
      VIGIL_VENDOR_ADMIN_EMAIL: VENDOR_ADMIN.email,
      VIGIL_VENDOR_ADMIN_PASSWORD: VENDOR_ADMIN.password,
    },
  });
  proxy.target = { host: '127.0.0.1', port: Number(new URL(site.cloudUrl).port) };
  // Cloud storage is bought by authenticated companies only.
  await authenticateThroughVendor(`${site.cloudUrl}/api/v1`, site.client, VENDOR_ADMIN);
  const order = await site.client.post<Package>('/cloud-storage/packages', { retentionDays: 30, term: 'annual', mode: 'event', channels: 4 });
  expect(order.status, JSON.stringify(order.body)).toBe(201);
  packageId = order.body.id;
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await site?.stop();
  await proxy?.close();
});

const settings = (overrides: Record<string, unknown> = {}) => ({
  enabled: true,
  stream: 'sub',
  triggers: { motion: { enabled: true, notifySurveillanceCenter: true } },
  schedule: null,
  preSeconds: PRE,
  postSeconds: POST,
  ...overrides,
});

async function enable(deviceId: string, channel: number, body: Record<string, unknown>): Promise<void> {
  const put = await site.client.call<CloudStorageChannel>('PUT', `/devices/${deviceId}/cloud-storage/channels/${channel}`, body);
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  const activated = await site.client.post<CloudStorageChannel>(`/devices/${deviceId}/cloud-storage/channels/${channel}/activate`, { packageId });
  expect(activated.status, JSON.stringify(activated.body)).toBe(200);
  expect(activated.body.service.state).toBe('active');
}

/** Waits until the box holds the channel's footage, so an event now has its pre-event seconds. */
async function buffering(deviceId: string, channel = 1): Promise<void> {
  await eventually(
    () => site.client.get<DeviceCloudStorage>(`/devices/${deviceId}/cloud-storage`),
    (r) => r.body.channels?.find((c) => c.channel === channel)?.boxState === 'buffering',
    `the box buffering ${deviceId}:${channel}`,
    60_000,
  );
  // A few seconds of ring before the event.
  await new Promise((r) => setTimeout(r, (PRE + 1) * 1000));
}

const clips = async (query = ''): Promise<ClipsPage> => {
  const r = await site.client.get<ClipsPage>(`/sites/${site.siteId}/clips?limit=200${query}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
};
const clipsOf = async (deviceId: string): Promise<Clip[]> => (await clips(`&deviceId=${deviceId}`)).items;

async function newClips(deviceId: string, before: number, count: number, what: string): Promise<Clip[]> {
  const r = await eventually(() => clipsOf(deviceId), (items) => items.length >= before + count, what, 90_000);
  return r;
}

async function cameraControl(name: keyof typeof CAMERAS, body: Record<string, unknown>): Promise<Response> {
  const cam = site.cameras[name];
  return fetch(`http://${cam.host}:${cam.http}/__sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** A short motion: on, then off a second later. */
async function motion(name: keyof typeof CAMERAS): Promise<void> {
  expect((await cameraControl(name, { motion: true })).status).toBe(200);
  await new Promise((r) => setTimeout(r, 1000));
  expect((await cameraControl(name, { motion: false })).status).toBe(200);
}

/** Clips on the box waiting for upload (sidecars in its queue folder). */
const queuedOnBox = (): number => {
  try {
    return readdirSync(join(site.edgeDataDir, 'clips', 'queue')).filter((f) => f.endsWith('.json') && !f.startsWith('.')).length;
  } catch {
    return 0;
  }
};

async function probe(clip: Clip): Promise<{ duration: number; codecs: string[] }> {
  const video = await fetch(`${site.cloudUrl}${clip.videoUrl}?download=1`, { headers: { cookie: site.client.cookie! } });
  expect(video.status).toBe(200);
  expect(video.headers.get('content-type')).toBe('video/mp4');
  const file = join(mkdtempSync(join(tmpdir(), 'vigil-cloud-clip-')), 'clip.mp4');
  writeFileSync(file, Buffer.from(await video.arrayBuffer()));
  const out = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', file]);
  const info = JSON.parse(out.stdout) as { format: { duration: string }; streams: { codec_name: string }[] };
  return { duration: Number(info.format.duration), codecs: info.streams.map((s) => s.codec_name) };
}

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const db = new pg.Client({ connectionString: site.databaseUrl });
  await db.connect();
  try {
    return (await db.query<T>(text, values)).rows;
  } finally {
    await db.end();
  }
}

describe('event clips through the edge box into Cloud Storage', () => {
  it('records a motion clip covering the seconds before and after, but nothing for an event without Notify Surveillance Center', async () => {
    const { yard, porch } = site.cameras;
    await enable(yard.deviceId, 1, settings());
    await enable(porch.deviceId, 1, settings({ triggers: { motion: { enabled: true, notifySurveillanceCenter: false } } }));
    const porchState = await site.client.get<DeviceCloudStorage>(`/devices/${porch.deviceId}/cloud-storage`);
    expect(porchState.body.channels[0]!.recording).toBe(false);
    await buffering(yard.deviceId);

    const eventAt = Date.now();
    await Promise.all([motion('yard'), motion('porch')]);
    const [clip] = await newClips(yard.deviceId, 0, 1, 'the yard clip in the cloud');
    expect(clip!.eventTypes).toEqual(['motion']);
    expect(Math.abs(Date.parse(clip!.eventAt) - eventAt)).toBeLessThan(5_000);
    expect(clip!.partial).toBe(false);
    const { duration, codecs } = await probe(clip!);
    expect(codecs).toContain('h264');
    // The clip covers the event's pre and post seconds (whole segments, cut at key frames, may add a little).
    expect(duration).toBeGreaterThanOrEqual(PRE + POST - 0.5);
    expect(duration).toBeLessThan(PRE + POST + 8);
    const thumb = await fetch(`${site.cloudUrl}${clip!.thumbnailUrl}`, { headers: { cookie: site.client.cookie! } });
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');

    // The porch's motion went unrecorded: the box made no clip, so nothing waits on it and nothing is in the cloud.
    await eventually(() => Promise.resolve(queuedOnBox()), (n) => n === 0, 'the box queue empty');
    expect(await clipsOf(porch.deviceId)).toEqual([]);
  });

  it('offers a solar camera motion detection only', async () => {
    const { solar } = site.cameras;
    const state = await site.client.get<DeviceCloudStorage>(`/devices/${solar.deviceId}/cloud-storage`);
    expect(state.body.channels[0]!.supportedTriggers).toEqual(['motion']);
    const refused = await site.client.call<{ code: string }>(
      'PUT',
      `/devices/${solar.deviceId}/cloud-storage/channels/1`,
      settings({ triggers: { motion: { enabled: true, notifySurveillanceCenter: true }, intrusion: { enabled: true, notifySurveillanceCenter: true } } }),
    );
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('CLOUD_STORAGE_TRIGGER_UNSUPPORTED');
    expect((await cameraControl('solar', { intrusion: true })).status).toBe(409);
  });

  it('records a channel of a legacy NVR linked to the box', async () => {
    const { nvr } = site;
    const login = await site.client.call('PUT', `/devices/${nvr.deviceId}/cloud-storage/login`, { username: 'admin', password: VIDEO_PASSWORD });
    expect(login.status).toBe(204);
    await enable(nvr.deviceId, 1, settings({ triggers: { motion: { enabled: true, notifySurveillanceCenter: true }, intrusion: { enabled: true, notifySurveillanceCenter: true } } }));
    await buffering(nvr.deviceId);
    const fire = (active: boolean) =>
      fetch(`http://${nvr.ip}:${nvr.httpPort}/__sim/control`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event: { channel: 1, type: 'intrusion', active } }),
      });
    expect((await fire(true)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await fire(false)).status).toBe(200);
    const [clip] = await newClips(nvr.deviceId, 0, 1, 'the NVR channel clip in the cloud');
    expect(clip!.channel).toBe(1);
    expect(clip!.eventTypes).toEqual(['intrusion']);
    expect((await probe(clip!)).duration).toBeGreaterThanOrEqual(PRE + POST - 0.5);
  });

  it('resumes an upload cut in the middle', async () => {
    const { yard } = site.cameras;
    const before = (await clipsOf(yard.deviceId)).length;
    proxy.cutNext('PATCH', 20_000);
    await motion('yard');
    const items = await newClips(yard.deviceId, before, 1, 'the clip whose upload was cut');
    expect(proxy.cuts).toHaveLength(1);
    // The cloud took the clip only once its checksum matched; it plays whole.
    expect((await probe(items[0]!)).duration).toBeGreaterThanOrEqual(PRE + POST - 0.5);
  });

  it('keeps clips on the box while the cloud is down and uploads each exactly once when it returns', async () => {
    const { yard } = site.cameras;
    const before = await clipsOf(yard.deviceId);
    await site.stopCloud();
    await motion('yard');
    await eventually(() => Promise.resolve(queuedOnBox()), (n) => n >= 1, 'the first clip kept on the box', 60_000);
    await motion('yard');
    await eventually(() => Promise.resolve(queuedOnBox()), (n) => n >= 2, 'the second clip kept on the box', 60_000);
    await site.startCloud();
    const after = await newClips(yard.deviceId, before.length, 2, 'the backlog in the cloud');
    await eventually(() => Promise.resolve(queuedOnBox()), (n) => n === 0, 'the box queue empty');
    const all = await clipsOf(yard.deviceId);
    expect(all).toHaveLength(before.length + 2);
    expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
    expect(new Set(all.map((c) => c.eventAt)).size).toBe(all.length);
    const rows = await sql<{ n: string }>('SELECT count(*) AS n FROM clips WHERE device_id = $1', [yard.deviceId]);
    expect(Number(rows[0]!.n)).toBe(after.length);
  });

  it('deletes exactly the clips whose retention has passed', async () => {
    const all = (await clips()).items;
    expect(all.length).toBeGreaterThanOrEqual(3);
    const expired = all[all.length - 1]!;
    await sql(`UPDATE clips SET expires_at = now() - interval '1 minute' WHERE id = $1`, [expired.id]);
    await eventually(clips, (page) => !page.items.some((c) => c.id === expired.id), 'the expired clip deleted');
    const video = await fetch(`${site.cloudUrl}${expired.videoUrl}`, { headers: { cookie: site.client.cookie! } });
    expect(video.status).toBe(404);
    const left = (await clips()).items;
    expect(left.map((c) => c.id).sort()).toEqual(all.filter((c) => c.id !== expired.id).map((c) => c.id).sort());
    for (const c of left) {
      const r = await fetch(`${site.cloudUrl}${c.videoUrl}`, { headers: { cookie: site.client.cookie!, range: 'bytes=0-99' } });
      expect(r.status).toBe(206);
    }
  });

  it('stops uploading a channel whose service expired', async () => {
    const { yard } = site.cameras;
    const { nvr } = site;
    await sql(`UPDATE cloud_storage_channels SET expires_at = now() - interval '1 second' WHERE device_id = $1`, [yard.deviceId]);
    // Saving the settings again pushes them to the box, with the service's new end.
    expect((await site.client.call('PUT', `/devices/${yard.deviceId}/cloud-storage/channels/1`, settings())).status).toBe(200);
    const state = await site.client.get<DeviceCloudStorage>(`/devices/${yard.deviceId}/cloud-storage`);
    expect(state.body.channels[0]!.service.state).toBe('expired');
    // The box has let the channel go: its ring stopped, so it no longer reports it.
    await eventually(
      () => site.client.get<DeviceCloudStorage>(`/devices/${yard.deviceId}/cloud-storage`),
      (r) => r.body.channels?.[0]?.boxState === 'idle',
      'the box no longer recording the yard',
    );
    const yardBefore = (await clipsOf(yard.deviceId)).length;
    const nvrBefore = (await clipsOf(nvr.deviceId)).length;
    const fire = (active: boolean) =>
      fetch(`http://${nvr.ip}:${nvr.httpPort}/__sim/control`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event: { channel: 1, type: 'motion', active } }),
      });
    await Promise.all([motion('yard'), fire(true).then(() => new Promise((r) => setTimeout(r, 1000))).then(() => fire(false))]);
    // The NVR channel, still active, shows the box handled the same moment's events.
    await newClips(nvr.deviceId, nvrBefore, 1, 'the NVR clip of the same moment');
    await eventually(() => Promise.resolve(queuedOnBox()), (n) => n === 0, 'the box queue empty');
    expect(await clipsOf(yard.deviceId)).toHaveLength(yardBefore);
    // The box made no clip at all (one the cloud refused would be reported as dropped).
    expect((await clips(`&deviceId=${yard.deviceId}`)).drops).toEqual([]);
  });

  it('shows the clips in the site timeline and plays one in the browser', async () => {
    browser = await launchChromium({ baseURL: site.cloudUrl, timeoutMs: 30_000 });
    const { page } = browser;
    await signIn(page, site.login);
    await page.goto(`/sites/${site.siteId}/events`);
    const first = page.getByTestId('clip-item').first();
    await first.waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('clip-item').count()).toBe((await clips()).items.length);
    await page.getByTestId('storage-used').waitFor();
    await first.click();
    const player = page.getByTestId('clip-player');
    await player.waitFor();
    await eventually(
      () => player.evaluate((v: HTMLVideoElement) => v.currentTime),
      (t) => t > 1,
      'the clip playing in the browser',
      30_000,
    );
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@vigil/cloud/testing';
import { LIVE_VIEW_WINDOW_LIMIT, PLAYBACK_WINDOW_LIMIT, type PtzReply, type RecordingsReply, type VideoSession, type VideoSource } from '@vigil/protocol/api';
import type { Locator } from 'playwright-core';
import { launchChromium, signIn, type ChromiumSession } from '../browser/chromium.js';
import { eventually } from '../harness/process.js';
import { scenarioDir } from '../harness/system.js';
import { verificationCodeFor } from '@vigil/simulators';
import { CAMERAS, ffmpegPulling, startVideoSite, TestPlayer, type VideoSite } from '../harness/video-site.js';

const run = promisify(execFile);
const dir = scenarioDir('video');
let site: VideoSite;
let browser: ChromiumSession | null = null;
const players: TestPlayer[] = [];

beforeAll(async () => {
  site = await startVideoSite(dir);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(players.map((p) => p.close()));
  await site?.stop();
});

type Refusal = { code: string; message: string };
const open = (client: ApiClient, deviceId: string, body: Record<string, unknown>) => client.post<VideoSession & Refusal>(`/devices/${deviceId}/video/sessions`, body);

async function watch(session: VideoSession): Promise<TestPlayer> {
  const player = new TestPlayer(site.cloudUrl, session);
  players.push(player);
  await player.open();
  return player;
}

async function closeAll(client: ApiClient, sessions: VideoSession[]) {
  for (const s of sessions) expect((await client.delete(`/video/sessions/${s.sessionId}`)).status).toBe(204);
}

/** An employee of the installer company whose role holds exactly these permissions, account limit removed. */
async function employee(permissions: string[]): Promise<ApiClient> {
  const db = new pg.Client({ connectionString: site.databaseUrl });
  await db.connect();
  const email = `viewer.${Math.random().toString(36).slice(2)}@example.test`;
  try {
    // The employee signs in with the admin's password: its stored hash is copied, in the cloud's own format.
    const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE email = $1', [site.login.email]);
    const role = await db.query<{ id: string }>(`INSERT INTO roles (company_id, name, permissions) VALUES ($1, $2, $3) RETURNING id`, [site.login.companyId, `Viewer ${email}`, permissions]);
    await db.query(`INSERT INTO accounts (company_id, email, name, password_hash, role, role_id, limited) VALUES ($1, $2, 'Viewer', $3, 'installer', $4, false)`, [
      site.login.companyId,
      email,
      rows[0]!.password_hash,
      role.rows[0]!.id,
    ]);
  } finally {
    await db.end();
  }
  const client = new ApiClient(`${site.cloudUrl}/api/v1`);
  expect((await client.post('/auth/login', { email, password: site.login.password })).status).toBe(200);
  return client;
}

describe('video through the edge box and the cloud', () => {
  it('plays a camera live as fragmented MP4 with its G.711 audio as AAC, shares the stream, and leaves no ffmpeg when the viewers leave', async () => {
    const { front } = site.cameras;
    const rtspOf = async () => ((await (await fetch(`http://${front.host}:${front.http}/__sim/state`)).json()) as { rtsp: { sessions: number } }).rtsp;
    const first = await open(site.client, front.deviceId, { mode: 'live', stream: 'main' });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.start).toMatchObject({ format: 'fmp4', sourceCodec: 'h264', transcoded: false, audio: 'aac' });
    expect(first.body.start.mime).toMatch(/^video\/mp4; codecs="avc1\.[0-9a-fA-F]{6},mp4a\.40\.2"$/);
    expect(first.body.ptz).toBe(true);
    const a = await watch(first.body);
    await a.receives(3, 'the init segment and two fragments');
    expect(a.starts[0]?.format).toBe('fmp4');

    const second = await open(site.client, front.deviceId, { mode: 'live', stream: 'main' });
    expect(second.status).toBe(201);
    const b = await watch(second.body);
    await b.receives(2, 'the second viewer gets the init segment and fragments');
    // One pull from the camera for both viewers.
    expect(ffmpegPulling(front.rtsp)).toHaveLength(1);

    await a.close();
    await b.close();
    await eventually(() => Promise.resolve(ffmpegPulling(front.rtsp)), (pids) => pids.length === 0, 'no ffmpeg left pulling from the camera', 20_000);
    // The box left no RTSP session open: a camera that takes a few clients has its place back at once.
    await eventually(rtspOf, (r) => r.sessions === 0, "the camera's RTSP sessions ended", 10_000);
    const mine = await site.client.get<{ items: unknown[] }>('/video/sessions');
    expect(mine.body.items).toHaveLength(0);
  });

  it('transcodes an H.265 camera to MPEG-1 for the browser fallback', async () => {
    const session = await open(site.client, site.cameras.h265.deviceId, { mode: 'live', stream: 'sub' });
    expect(session.status, JSON.stringify(session.body)).toBe(201);
    expect(session.body.start).toMatchObject({ format: 'mpegts', sourceCodec: 'h265', transcoded: true });
    expect(session.body.ptz).toBe(false);
    const player = await watch(session.body);
    await player.receives(3, 'MPEG-TS chunks');
    await player.close();
  });

  it('moves a PTZ camera, saves and lists a preset, and takes a snapshot', async () => {
    const { front, h265 } = site.cameras;
    // Both were opened before: the box's answer is remembered, so the site's sources offer the pad up front.
    const sources = (await site.client.get<{ items: VideoSource[] }>(`/sites/${site.siteId}/video/sources`)).body.items;
    expect(sources.find((s) => s.deviceId === front.deviceId)?.ptz).toBe(true);
    expect(sources.find((s) => s.deviceId === h265.deviceId)?.ptz).toBe(false);
    type Ptz = PtzReply & Refusal;
    const ptz = (deviceId: string, action: Record<string, unknown>) => site.client.post<Ptz>(`/devices/${deviceId}/ptz`, { action });
    expect((await ptz(front.deviceId, { type: 'move', pan: 1, tilt: 0, zoom: 0 })).status).toBe(200);
    const moved = await eventually(
      () => ptz(front.deviceId, { type: 'stop' }),
      (r) => r.status === 200 && (r.body.position?.pan ?? 0) > 0,
      'the camera to have panned',
      10_000,
    );
    expect(moved.body.position!.tilt).toBe(0);
    const saved = await ptz(front.deviceId, { type: 'setPreset', name: 'Gate' });
    expect(saved.status).toBe(200);
    expect(saved.body.presets.map((p) => p.name)).toContain('Gate');
    const gate = saved.body.presets.find((p) => p.name === 'Gate')!;
    expect((await ptz(front.deviceId, { type: 'gotoPreset', preset: gate.token })).status).toBe(200);
    const none = await ptz(h265.deviceId, { type: 'presets' });
    expect(none.status).toBe(409);
    expect(none.body.code).toBe('MEDIA_PTZ_UNSUPPORTED');

    const snapshot = await fetch(`${site.cloudUrl}/api/v1/devices/${front.deviceId}/snapshot?stream=sub`, { headers: { cookie: site.client.cookie! } });
    expect(snapshot.status).toBe(200);
    expect(snapshot.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await snapshot.arrayBuffer());
    expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
  });

  it('refuses the 17th live-view window and the 5th playback window', async () => {
    const { front } = site.cameras;
    const live: VideoSession[] = [];
    for (let i = 0; i < LIVE_VIEW_WINDOW_LIMIT; i++) {
      const s = await open(site.client, front.deviceId, { mode: 'live', stream: 'sub' });
      expect(s.status, JSON.stringify(s.body)).toBe(201);
      live.push(s.body);
    }
    const over = await open(site.client, site.cameras.h265.deviceId, { mode: 'live', stream: 'sub' });
    expect(over.status).toBe(429);
    expect(over.body.code).toBe('LIVE_VIEW_LIMIT');
    // Closing one frees its place.
    await closeAll(site.client, live.splice(0, 1));
    const again = await open(site.client, front.deviceId, { mode: 'live', stream: 'sub' });
    expect(again.status).toBe(201);
    live.push(again.body);
    await closeAll(site.client, live);

    const from = new Date(Date.now() - 3_600_000).toISOString();
    const playback: VideoSession[] = [];
    for (let i = 0; i < PLAYBACK_WINDOW_LIMIT; i++) {
      const s = await open(site.client, site.nvr.deviceId, { mode: 'playback', channel: 1, from });
      expect(s.status, JSON.stringify(s.body)).toBe(201);
      playback.push(s.body);
    }
    const fifth = await open(site.client, site.nvr.deviceId, { mode: 'playback', channel: 1, from });
    expect(fifth.status).toBe(429);
    expect(fifth.body.code).toBe('PLAYBACK_LIMIT');
    await closeAll(site.client, playback);
  });

  it("asks an encrypted camera's verification code, refuses a wrong one and plays with the right one", async () => {
    const { locked } = site.cameras;
    const without = await open(site.client, locked.deviceId, { mode: 'live', stream: 'sub' });
    expect(without.status).toBe(403);
    expect(without.body.code).toBe('VERIFICATION_CODE_REQUIRED');
    const wrong = await open(site.client, locked.deviceId, { mode: 'live', stream: 'sub', verificationCode: 'ZZZZZZ' });
    expect(wrong.status).toBe(403);
    expect(wrong.body.code).toBe('VERIFICATION_CODE_WRONG');
    const sources = await site.client.get<{ items: VideoSource[] }>(`/sites/${site.siteId}/video/sources`);
    expect(sources.body.items.find((s) => s.deviceId === locked.deviceId)?.encrypted).toBe(true);

    const right = await open(site.client, locked.deviceId, { mode: 'live', stream: 'sub', verificationCode: verificationCodeFor(CAMERAS.locked.serial) });
    expect(right.status, JSON.stringify(right.body)).toBe(201);
    const player = await watch(right.body);
    await player.receives(3, 'the encrypted camera plays with its code');
    await player.close();
  });

  it('refuses viewers without the permission or without the site', async () => {
    const { front } = site.cameras;
    const noVideo = await employee(['site.manage_all', 'device.manage']);
    const refused = await open(noVideo, front.deviceId, { mode: 'live' });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('PERMISSION_DENIED');
    const noPlayback = await employee(['site.manage_all', 'video.live_view']);
    const playback = await open(noPlayback, site.nvr.deviceId, { mode: 'playback', channel: 1, from: new Date(Date.now() - 3_600_000).toISOString() });
    expect(playback.status).toBe(403);
    // Live view on a site the employee is not assigned to: the site is not theirs to see.
    const otherSites = await employee(['site.manage_assigned', 'video.live_view']);
    const hidden = await open(otherSites, front.deviceId, { mode: 'live' });
    expect(hidden.status).toBe(404);
    expect(ffmpegPulling(front.rtsp)).toHaveLength(0);
  });

  it('resumes a stream the camera drops, for the viewer still watching', async () => {
    const { front } = site.cameras;
    const session = await open(site.client, front.deviceId, { mode: 'live', stream: 'sub' });
    expect(session.status).toBe(201);
    const player = await watch(session.body);
    await player.receives(3, 'fragments before the drop');
    const drop = await fetch(`http://${front.host}:${front.http}/__sim/control`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dropStream: { stream: 'sub', ms: 2000, mode: 'disconnect' } }),
    });
    expect(drop.ok).toBe(true);
    await eventually(() => Promise.resolve(player.texts), (t) => t.some((m) => m.type === 'stalled'), 'the viewer told the stream stalled', 20_000);
    await eventually(() => Promise.resolve(player.starts.length), (n) => n >= 2, 'a new start after the box resumed the stream', 30_000);
    await player.receives(3, 'fragments after the drop');
    await player.close();
  });

  it('plays an NVR channel back from a recorded time and downloads a clip of it', async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 2 * 3_600_000);
    const recordings = await site.client.get<RecordingsReply>(`/devices/${site.nvr.deviceId}/recordings?channel=1&from=${from.toISOString()}&to=${to.toISOString()}`);
    expect(recordings.status, JSON.stringify(recordings.body)).toBe(200);
    expect(recordings.body.segments.length).toBeGreaterThan(0);
    const segment = recordings.body.segments[0]!;
    const at = new Date(Date.parse(segment.from) + 60_000).toISOString();
    const session = await open(site.client, site.nvr.deviceId, { mode: 'playback', channel: 1, from: at });
    expect(session.status, JSON.stringify(session.body)).toBe(201);
    expect(Date.parse(session.body.start.startsAt!)).toBe(Date.parse(at));
    const player = await watch(session.body);
    await player.receives(3, 'recorded video');
    await player.close();

    const clipTo = new Date(Date.parse(at) + 6_000).toISOString();
    const clip = await fetch(`${site.cloudUrl}/api/v1/devices/${site.nvr.deviceId}/clip?channel=1&from=${at}&to=${clipTo}`, { headers: { cookie: site.client.cookie! } });
    expect(clip.status).toBe(200);
    expect(clip.headers.get('content-type')).toBe('video/mp4');
    const file = join(mkdtempSync(join(tmpdir(), 'vigil-clip-')), 'clip.mp4');
    writeFileSync(file, Buffer.from(await clip.arrayBuffer()));
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', file]);
    const info = JSON.parse(probe.stdout) as { format: { duration: string }; streams: { codec_name: string }[] };
    expect(info.streams.map((s) => s.codec_name)).toContain('h264');
    expect(Number(info.format.duration)).toBeGreaterThan(4);
    expect(Number(info.format.duration)).toBeLessThan(9);
  });
});

/** What a window shows now: the video's clock and decoded frame count, and a hash of a small copy of its picture. */
function sample(tile: Locator) {
  return tile.evaluate((el) => {
    const media = el.querySelector('video') ?? el.querySelector('canvas');
    if (!media) throw new Error('no video or canvas in the window');
    const copy = document.createElement('canvas');
    copy.width = 64;
    copy.height = 36;
    const g = copy.getContext('2d')!;
    g.drawImage(media, 0, 0, 64, 36);
    let hash = 0;
    for (const byte of g.getImageData(0, 0, 64, 36).data) hash = (hash * 31 + byte) >>> 0;
    const video = media instanceof HTMLVideoElement ? media : null;
    return { time: video?.currentTime ?? 0, frames: video?.getVideoPlaybackQuality().totalVideoFrames ?? 0, hash };
  });
}

/** The picture keeps changing (and for a video element, its clock and decoded frames advance). */
async function expectPlaying(tile: Locator, video: boolean) {
  const first = await sample(tile);
  const later = await eventually(
    () => sample(tile),
    (s) => s.hash !== first.hash && (!video || (s.time > first.time + 1 && s.frames > first.frames)),
    'the picture to move on',
    30_000,
  );
  expect(later.hash).not.toBe(first.hash);
}

describe('video in the portal (Chromium)', () => {
  it('plays a camera live through box and cloud, an NVR channel back from a chosen time, and the H.265 camera through the fallback', async () => {
    browser = await launchChromium({ baseURL: site.cloudUrl, timeoutMs: 30_000 });
    const { page } = browser;
    await signIn(page, site.login);

    await page.goto(`/sites/${site.siteId}/live?device=${site.cameras.front.deviceId}`);
    const live = page.locator('[data-testid=video-tile][data-state=playing]').first();
    await live.waitFor({ timeout: 60_000 });
    expect(await live.getAttribute('data-format')).toBe('fmp4');
    await expectPlaying(live, true);
    // The box found PTZ on the camera: the pad is offered.
    await page.getByTestId('ptz-pad').waitFor();

    // Playback a few minutes back, through the "Play from" field (the browser runs in UTC, like the NVR).
    const at = new Date(Date.now() - 5 * 60_000);
    at.setUTCMilliseconds(0);
    await page.goto(`/sites/${site.siteId}/playback?device=${site.nvr.deviceId}&channel=1`);
    await page.getByLabel('Day', { exact: true }).fill(at.toISOString().slice(0, 10));
    await page.locator('[data-testid=timeline-segment]').first().waitFor();
    await page.getByLabel('Play from', { exact: true }).fill(at.toISOString().slice(11, 19));
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    const recorded = page.locator('[data-testid=video-tile][data-state=playing]').first();
    await recorded.waitFor({ timeout: 60_000 });
    await expectPlaying(recorded, true);
    const shown = Date.parse((await page.locator('[data-testid=playback-time]').first().getAttribute('data-time'))!);
    expect(shown).toBeGreaterThanOrEqual(at.getTime());
    expect(shown).toBeLessThan(at.getTime() + 120_000);

    await page.goto(`/sites/${site.siteId}/live?device=${site.cameras.h265.deviceId}`);
    const fallback = page.locator('[data-testid=video-tile][data-state=playing]').first();
    await fallback.waitFor({ timeout: 60_000 });
    expect(await fallback.getAttribute('data-format')).toBe('mpegts');
    await expectPlaying(fallback, false);
  });
});

import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIP_DROPPED_EVENT, channelKeyOf, encodeEnvelope, envelope, topics, type ClipDroppedReport } from '@vigil/protocol';
import type { ClipsPage, LiveEvent } from '@vigil/protocol/api';
import { clipDrops, clips, devices, jobs } from '../db/schema.js';
import type { ApiClient} from '../testing/cloud.js';
import { registerCompany, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { EdgePlayers, publish, until } from '../testing/edge.js';
import { runClipRetention } from './retention.js';
import { BoxClient, clipMedia, clipMeta, clipSite, sha256, type ClipSite } from './testing.js';
import { clipObjectKey } from './uploads.js';

const T0 = Date.parse('2026-11-20T10:00:00Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

let cloud: TestCloud;
let players: EdgePlayers;
let installer: Awaited<ReturnType<typeof registerCompany>>;
let site: ClipSite;
let box: BoxClient;
let media: ReturnType<typeof clipMedia>;

beforeAll(async () => {
  media = clipMedia();
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  installer = await registerCompany(cloud.api, 'Northern Security');
  site = await clipSite(cloud, players, installer.client, T0);
  box = new BoxClient(`${cloud.api}/edge/clips`, site.serial, site.secret);
}, 60_000);

afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

const rowOf = async (clipId: string) => (await cloud.ctx.db.select().from(clips).where(eq(clips.id, clipId)))[0];
const partialFile = (clipId: string, part: 'video' | 'thumbnail') => cloud.ctx.clips.partialPath(clipId, part);
const storeSize = (clipId: string, part: 'video' | 'thumbnail') => cloud.ctx.clips.store.size(clipObjectKey({ companyId: site.companyId, id: clipId }, part));

/** Reads the portal's live events until one matches. */
async function liveEvent(client: ApiClient, match: (e: LiveEvent) => boolean, action: () => Promise<unknown>): Promise<LiveEvent> {
  const controller = new AbortController();
  const live = await fetch(`${cloud.api}/live`, { headers: { cookie: client.cookie ?? '' }, signal: controller.signal });
  const reader = live.body!.getReader();
  await action();
  let text = '';
  const events = () => text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as LiveEvent);
  while (!events().some(match)) text += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  return events().find(match)!;
}

/** Sends `sent` of the part's bytes with a Content-Length of all of them, then cuts the connection. */
function cutUpload(clipId: string, part: 'video' | 'thumbnail', offset: number, whole: Buffer, sent: number): Promise<void> {
  const url = new URL(`${cloud.api}/edge/clips/${clipId}/${part}`);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'PATCH',
      headers: {
        authorization: box.authorization,
        'content-type': 'application/offset+octet-stream',
        'upload-offset': String(offset),
        'content-length': String(whole.length - offset),
      },
    });
    req.on('error', () => undefined);
    req.flushHeaders();
    req.write(whole.subarray(offset, sent), (err) => {
      if (err) return reject(err);
      req.destroy();
      resolve();
    });
  });
}

describe('uploads from the edge box', () => {
  it('takes a clip in several parts, verifies it, stores it, indexes it and tells the portal', async () => {
    const meta = clipMeta(site.camera, 1, T0, { events: [{ type: 'motion', at: T0 }, { type: 'intrusion', at: T0 + 2000 }] });
    const created = await box.create(meta);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      clipId: meta.clipId,
      video: { offset: 0, bytes: media.video.length },
      thumbnail: { offset: 0, bytes: media.thumbnail.length },
      complete: false,
    });
    const third = Math.floor(media.video.length / 3);
    const first = await box.patch(meta.clipId, 'video', 0, media.video.subarray(0, third));
    expect(first.status).toBe(200);
    expect(first.body.video.offset).toBe(third);
    expect((await box.patch(meta.clipId, 'video', third, media.video.subarray(third, 2 * third))).body.video.offset).toBe(2 * third);
    expect((await box.state(meta.clipId)).body).toMatchObject({ video: { offset: 2 * third }, complete: false });
    const rest = await box.patch(meta.clipId, 'video', 2 * third, media.video.subarray(2 * third));
    expect(rest.body).toMatchObject({ video: { offset: media.video.length }, thumbnail: { offset: 0 }, complete: false });
    // Not listed before it is whole.
    expect((await installer.client.get<ClipsPage>(`/sites/${site.siteId}/clips`)).body.items.map((c) => c.id)).not.toContain(meta.clipId);

    const event = await liveEvent(
      installer.client,
      (e) => e.type === 'clip.new',
      async () => {
        const done = await box.patch(meta.clipId, 'thumbnail', 0, media.thumbnail);
        expect(done.status).toBe(200);
        expect(done.body.complete).toBe(true);
      },
    );
    expect(event).toEqual({ type: 'clip.new', siteId: site.siteId, deviceId: site.camera });

    const row = await rowOf(meta.clipId);
    expect(row).toMatchObject({ complete: true, retentionDays: 30, siteId: site.siteId, companyId: site.companyId, eventTypes: ['motion', 'intrusion'] });
    expect(row!.completedAt).toBeInstanceOf(Date);
    expect(row!.expiresAt.getTime()).toBe(T0 + 30 * DAY);
    expect(await storeSize(meta.clipId, 'video')).toBe(media.video.length);
    expect(await storeSize(meta.clipId, 'thumbnail')).toBe(media.thumbnail.length);
    expect(existsSync(partialFile(meta.clipId, 'video'))).toBe(false);

    const listed = await installer.client.get<ClipsPage>(`/sites/${site.siteId}/clips`);
    expect(listed.status).toBe(200);
    const item = listed.body.items.find((c) => c.id === meta.clipId);
    expect(item).toEqual({
      id: meta.clipId,
      deviceId: site.camera,
      deviceName: 'Yard camera',
      channel: 1,
      eventTypes: ['motion', 'intrusion'],
      eventAt: new Date(T0).toISOString(),
      startAt: new Date(meta.startAt).toISOString(),
      endAt: new Date(meta.endAt).toISOString(),
      durationSeconds: 15,
      partial: false,
      bytes: media.video.length + media.thumbnail.length,
      expiresAt: new Date(T0 + 30 * DAY).toISOString(),
      videoUrl: `/api/v1/clips/${meta.clipId}/video`,
      thumbnailUrl: `/api/v1/clips/${meta.clipId}/thumbnail`,
    });
    const video = await fetch(`${cloud.url}${item!.videoUrl}`, { headers: { cookie: installer.client.cookie! } });
    expect(video.status).toBe(200);
    expect(sha256(Buffer.from(await video.arrayBuffer()))).toBe(meta.video.sha256);
  });

  it('answers the same clip sent again with its state and never makes a second one; other metadata is a conflict', async () => {
    const meta = clipMeta(site.camera, 1, T0 + 5 * MINUTE);
    expect((await box.create(meta)).status).toBe(201);
    const again = await box.create(meta);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ clipId: meta.clipId, video: { offset: 0 }, complete: false });
    expect(await cloud.ctx.db.select({ n: sql<number>`count(*)::int` }).from(clips).where(eq(clips.id, meta.clipId))).toEqual([{ n: 1 }]);
    await box.patch(meta.clipId, 'video', 0, media.video);
    await box.patch(meta.clipId, 'thumbnail', 0, media.thumbnail);
    // After a lost reply the box sends it again: the clip is complete already.
    expect((await box.create(meta)).body).toMatchObject({ complete: true, video: { offset: media.video.length } });

    const other = await box.create({ ...meta, endAt: meta.endAt + 1000 });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('CLIP_CONFLICT');
    expect((await rowOf(meta.clipId))!.endAt.getTime()).toBe(meta.endAt);
  });

  it('keeps what arrived before a cut connection and resumes from there', async () => {
    const meta = clipMeta(site.camera, 1, T0 + 10 * MINUTE);
    await box.create(meta);
    const half = Math.floor(media.video.length / 2);
    await cutUpload(meta.clipId, 'video', 0, media.video, half);
    const state = await until(() => box.state(meta.clipId), (r) => r.body.video.offset === half, 'the cloud to keep the bytes before the cut');
    expect(state.body.complete).toBe(false);
    const resumed = await box.patch(meta.clipId, 'video', half, media.video.subarray(half));
    expect(resumed.status).toBe(200);
    expect(resumed.body.video.offset).toBe(media.video.length);
    expect((await box.patch(meta.clipId, 'thumbnail', 0, media.thumbnail)).body.complete).toBe(true);
    const stored = await cloud.ctx.clips.store.read(clipObjectKey({ companyId: site.companyId, id: meta.clipId }, 'video'));
    const chunks: Buffer[] = [];
    for await (const c of stored) chunks.push(c as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(meta.video.sha256);
  });

  it('refuses an offset that is not the cloud’s with the state to carry on from, and bytes past the part', async () => {
    const meta = clipMeta(site.camera, 1, T0 + 15 * MINUTE);
    await box.create(meta);
    await box.patch(meta.clipId, 'video', 0, media.video.subarray(0, 1000));
    const wrong = await box.patch(meta.clipId, 'video', 500, media.video.subarray(500, 2000));
    expect(wrong.status).toBe(409);
    expect(wrong.body.code).toBe('CLIP_OFFSET_MISMATCH');
    expect(wrong.body.state).toMatchObject({ clipId: meta.clipId, video: { offset: 1000 }, complete: false });

    const tooMuch = await box.patch(meta.clipId, 'thumbnail', 0, Buffer.concat([media.thumbnail, Buffer.alloc(10)]));
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.code).toBe('CLIP_INVALID');
    expect((await box.state(meta.clipId)).body.thumbnail.offset).toBe(0);
    expect(existsSync(partialFile(meta.clipId, 'thumbnail'))).toBe(false);
  });

  it('starts a part again from 0 when its bytes do not match its checksum, then takes a good upload', async () => {
    const meta = clipMeta(site.camera, 1, T0 + 20 * MINUTE);
    await box.create(meta);
    const damaged = Buffer.from(media.video);
    const middle = damaged.length >> 1;
    damaged[middle] = damaged[middle]! ^ 0xff;
    const refused = await box.patch(meta.clipId, 'video', 0, damaged);
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('CLIP_CHECKSUM_MISMATCH');
    expect(refused.body.state?.video.offset).toBe(0);
    expect((await box.state(meta.clipId)).body.video.offset).toBe(0);
    expect((await box.patch(meta.clipId, 'video', 0, media.video)).body.video.offset).toBe(media.video.length);
    expect((await box.patch(meta.clipId, 'thumbnail', 0, media.thumbnail)).body.complete).toBe(true);
  });

  it('refuses wrong credentials', async () => {
    const meta = clipMeta(site.camera, 1, T0 + 25 * MINUTE);
    const clients = [
      new BoxClient(box.uploadUrl, site.serial, 'not-the-secret'),
      new BoxClient(box.uploadUrl, 'VGENOSUCHBOX', site.secret),
      new BoxClient(box.uploadUrl, '', ''),
    ];
    for (const c of clients) {
      const r = await c.create(meta);
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('UNAUTHENTICATED');
      expect((await c.patch(meta.clipId, 'video', 0, media.video)).status).toBe(401);
    }
    const anonymous = await fetch(`${box.uploadUrl}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(meta) });
    expect(anonymous.status).toBe(401);
    // A portal session is not a box.
    expect((await installer.client.post(`/edge/clips`, meta)).status).toBe(401);
    expect(await rowOf(meta.clipId)).toBeUndefined();
  });

  it('refuses channels that are not the box’s or not recording, and events outside the service', async () => {
    const other = await clipSite(cloud, players, installer.client, T0);
    const refusals: [ReturnType<typeof clipMeta>, number, string][] = [
      [clipMeta(other.camera, 1, T0), 422, 'CLIP_CHANNEL_UNKNOWN'],
      [clipMeta(site.nvr, 3, T0), 422, 'CLIP_CHANNEL_UNKNOWN'],
      [clipMeta(site.nvr, 4, T0), 422, 'CLIP_CHANNEL_UNKNOWN'],
      [clipMeta(site.nvr, 2, T0), 403, 'CLIP_SERVICE_INACTIVE'],
      [clipMeta(site.camera, 1, T0 - 2 * DAY), 403, 'CLIP_SERVICE_INACTIVE'],
      [clipMeta(site.camera, 1, T0 + 400 * DAY), 403, 'CLIP_SERVICE_INACTIVE'],
      [clipMeta(site.camera, 1, T0, { endAt: T0 - 10_000 }), 422, 'CLIP_INVALID'],
      [{ ...clipMeta(site.camera, 1, T0), video: { bytes: 0, sha256: 'x' } }, 422, 'CLIP_INVALID'],
    ];
    for (const [meta, status, code] of refusals) {
      const r = await box.create(meta);
      expect([r.status, r.body.code], meta.channelKey).toEqual([status, code]);
      expect(await rowOf(meta.clipId)).toBeUndefined();
    }
    // The other box's own channel is fine for it.
    const otherBox = new BoxClient(box.uploadUrl, other.serial, other.secret);
    expect((await otherBox.create(clipMeta(other.camera, 1, T0))).status).toBe(201);
  });

  it('measures an upload probe', async () => {
    const bytes = 1024 * 1024 + 17;
    const res = await fetch(`${box.uploadUrl}/bandwidth-test`, {
      method: 'POST',
      headers: { authorization: box.authorization, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(bytes, 7),
    });
    expect(res.status).toBe(200);
    const reply = (await res.json()) as { bytes: number; ms: number };
    expect(reply.bytes).toBe(bytes);
    expect(reply.ms).toBeGreaterThanOrEqual(0);
    const stranger = await fetch(`${box.uploadUrl}/bandwidth-test`, { method: 'POST', body: Buffer.alloc(10) });
    expect(stranger.status).toBe(401);
  });
});

describe('the event timeline', () => {
  let timeline: ClipSite;
  let ids: string[];

  beforeAll(async () => {
    timeline = await clipSite(cloud, players, installer.client, T0);
    const tbox = new BoxClient(box.uploadUrl, timeline.serial, timeline.secret);
    // Six clips one minute apart: the camera's on motion, the NVR channel 1's on intrusion at odd minutes.
    ids = [];
    for (let i = 0; i < 6; i++) {
      const odd = i % 2 === 1;
      const meta = clipMeta(odd ? timeline.nvr : timeline.camera, 1, T0 + i * MINUTE, { events: [{ type: odd ? 'intrusion' : 'motion', at: T0 + i * MINUTE }] });
      expect((await tbox.upload(meta)).body.complete).toBe(true);
      ids.push(meta.clipId);
    }
    // One upload left half-way is not in the timeline.
    const unfinished = clipMeta(timeline.camera, 1, T0 + 10 * MINUTE);
    await tbox.create(unfinished);
    await tbox.patch(unfinished.clipId, 'video', 0, media.video.subarray(0, 100));
  });

  const page = (query: string) => installer.client.get<ClipsPage>(`/sites/${timeline.siteId}/clips${query}`);

  it('lists complete clips newest first, filters them and pages through them', async () => {
    const all = await page('');
    expect(all.status).toBe(200);
    expect(all.body.items.map((c) => c.id)).toEqual([...ids].reverse());
    expect(all.body.next).toBeNull();

    expect((await page(`?deviceId=${timeline.nvr}`)).body.items.map((c) => c.id)).toEqual([ids[5], ids[3], ids[1]]);
    expect((await page('?type=motion')).body.items.map((c) => c.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect((await page(`?deviceId=${timeline.nvr}&channel=2`)).body.items).toEqual([]);
    const from = encodeURIComponent(new Date(T0 + 2 * MINUTE).toISOString());
    const to = encodeURIComponent(new Date(T0 + 4 * MINUTE).toISOString());
    expect((await page(`?from=${from}&to=${to}`)).body.items.map((c) => c.id)).toEqual([ids[4], ids[3], ids[2]]);

    const seen: string[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const p: { body: ClipsPage } = await page(`?limit=4${next ? `&before=${encodeURIComponent(next)}` : ''}`);
      seen.push(...p.body.items.map((c) => c.id));
      next = p.body.next;
      pages++;
    } while (next);
    expect(pages).toBe(2);
    expect(seen).toEqual([...ids].reverse());

    expect((await page('?before=garbage')).status).toBe(400);
    expect((await page('?type=smoke')).status).toBe(400);
  });

  it('shows the events the box gave up beside the clips of the same time, each once', async () => {
    const report = (at: number, deviceId = timeline.camera): ClipDroppedReport => ({
      channelKey: channelKeyOf(deviceId, 1),
      events: [{ type: 'motion', at }],
      reason: 'quota',
      message: 'The clip queue was full.',
      bytes: 123_456,
      droppedAt: at + MINUTE,
    });
    const send = (r: ClipDroppedReport) => publish(timeline.edge, topics.event(timeline.serial, CLIP_DROPPED_EVENT), encodeEnvelope(envelope('event', { at: Date.now(), details: r })));
    const event = await liveEvent(installer.client, (e) => e.type === 'clip.new', () => send(report(T0 + 90_000)));
    expect(event).toEqual({ type: 'clip.new', siteId: timeline.siteId, deviceId: timeline.camera });
    await send(report(T0 + 90_000));
    await send(report(T0 + 30_000));
    // A channel of another box is not this box's to report.
    await send(report(T0 + 40_000, site.camera));
    await until(() => page(''), (r) => r.body.drops.length === 2, 'both drops in the timeline');
    const rows = await cloud.ctx.db.select().from(clipDrops).where(inArray(clipDrops.deviceId, [timeline.camera, site.camera]));
    expect(rows.map((r) => r.eventAt.getTime()).sort()).toEqual([T0 + 30_000, T0 + 90_000]);

    const all = await page('');
    expect(all.body.drops[0]).toEqual({
      deviceId: timeline.camera,
      channel: 1,
      eventTypes: ['motion'],
      eventAt: new Date(T0 + 90_000).toISOString(),
      reason: 'quota',
      message: 'The clip queue was full.',
      droppedAt: new Date(T0 + 150_000).toISOString(),
    });
    // Pages of 2: minutes 5 and 4, 3 and 2, 1 and 0; the drops at 1.5 and 0.5 minutes fall on the last page.
    const p1 = await page('?limit=2');
    expect(p1.body.drops).toEqual([]);
    const p2 = await page(`?limit=2&before=${encodeURIComponent(p1.body.next!)}`);
    expect(p2.body.drops).toEqual([]);
    const p3 = await page(`?limit=2&before=${encodeURIComponent(p2.body.next!)}`);
    expect(p3.body.items.map((c) => c.id)).toEqual([ids[1], ids[0]]);
    expect(p3.body.drops.map((d) => d.eventAt)).toEqual([new Date(T0 + 90_000).toISOString(), new Date(T0 + 30_000).toISOString()]);
  });

  it('plays a clip by ranges, downloads it with a file name, and logs the download', async () => {
    const cookie = { cookie: installer.client.cookie! };
    const url = `${cloud.api}/clips/${ids[1]}/video`;
    const ranged = await fetch(url, { headers: { ...cookie, range: 'bytes=100-1099' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-1099/${media.video.length}`);
    expect(ranged.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await ranged.arrayBuffer()).equals(media.video.subarray(100, 1100))).toBe(true);
    const tail = await fetch(url, { headers: { ...cookie, range: 'bytes=-500' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(media.video.subarray(media.video.length - 500))).toBe(true);
    const beyond = await fetch(url, { headers: { ...cookie, range: `bytes=${media.video.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${media.video.length}`);

    const download = await fetch(`${url}?download=1`, { headers: cookie });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="Main_NVR-ch1-20261120T100100Z.mp4"');
    expect(Buffer.from(await download.arrayBuffer()).equals(media.video)).toBe(true);
    const thumbnail = await fetch(`${cloud.api}/clips/${ids[1]}/thumbnail`, { headers: cookie });
    expect(thumbnail.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await thumbnail.arrayBuffer()).equals(media.thumbnail)).toBe(true);

    const log = (await installer.client.get<{ items: { content: string; target?: string }[] }>('/operation-logs')).body.items.map((l) => l.content);
    expect(log.filter((l) => l === 'Download Video Succeeded')).toHaveLength(1);
  });

  it('shows clips only to those who may play back the site’s video', async () => {
    const employee = (permissions: string[]) => signInEmployee(cloud, installer.companyId, permissions);
    const noPlayback = await employee(['site.manage_all', 'video.live_view']);
    for (const path of [`/sites/${timeline.siteId}/clips`, `/clips/${ids[0]}/video`, `/clips/${ids[0]}/thumbnail`]) {
      const r = await noPlayback.get<{ code: string }>(path);
      expect([r.status, r.body.code], path).toEqual([403, 'PERMISSION_DENIED']);
    }
    const unassigned = await employee(['site.manage_assigned', 'video.playback']);
    expect((await unassigned.get(`/sites/${timeline.siteId}/clips`)).status).toBe(404);
    expect((await unassigned.get<{ code: string }>(`/clips/${ids[0]}/video`)).body.code).toBe('CLIP_NOT_FOUND');

    const outsider = await registerCompany(cloud.api);
    expect((await outsider.client.get(`/sites/${timeline.siteId}/clips`)).status).toBe(404);
    for (const path of [`/clips/${ids[0]}/video`, `/clips/${ids[0]}/video?download=1`, `/clips/${ids[0]}/thumbnail`]) {
      const r = await outsider.client.get<{ code: string }>(path);
      expect([r.status, r.body.code], path).toEqual([404, 'CLIP_NOT_FOUND']);
    }
    // The same answer as for no clip at all.
    expect((await installer.client.get<{ code: string }>(`/clips/00000000-0000-4000-8000-000000000000/video`)).body.code).toBe('CLIP_NOT_FOUND');
  });
});

describe('retention', () => {
  it('deletes exactly the expired clips and abandoned uploads, objects and files first, and leaves the rest', async () => {
    // NVR channel 1 keeps clips 7 days, the camera 30: eight days after T0 + 6 minutes, only the NVR's have expired.
    const now = new Date(T0 + 8 * DAY + 6 * MINUTE);
    const abandoned = clipMeta(site.camera, 1, T0 + 50 * MINUTE);
    await box.create(abandoned);
    await box.patch(abandoned.clipId, 'video', 0, media.video.subarray(0, 100));
    expect(existsSync(partialFile(abandoned.clipId, 'video'))).toBe(true);
    await cloud.ctx.db
      .update(clips)
      .set({ createdAt: new Date(now.getTime() - 25 * 60 * MINUTE) })
      .where(eq(clips.id, abandoned.clipId));
    const recent = clipMeta(site.camera, 1, T0 + 55 * MINUTE);
    await box.create(recent);
    await box.patch(recent.clipId, 'video', 0, media.video.subarray(0, 100));
    await cloud.ctx.db
      .update(clips)
      .set({ createdAt: new Date(now.getTime() - 60 * MINUTE) })
      .where(eq(clips.id, recent.clipId));

    const before = await cloud.ctx.db.select().from(clips);
    const expired = before.filter((c) => c.expiresAt <= now);
    expect(expired.length).toBeGreaterThan(0);
    expect(expired.every((c) => c.retentionDays === 7)).toBe(true);
    const kept = before.filter((c) => c.expiresAt > now && c.id !== abandoned.clipId);
    const keyOf = (c: { companyId: string; id: string }, part: 'video' | 'thumbnail') => cloud.ctx.clips.store.size(clipObjectKey(c, part));
    for (const c of expired) expect(await keyOf(c, 'video')).toBe(c.videoBytes);

    const pass = await runClipRetention(cloud.ctx.db, cloud.ctx.clips, now);
    expect(pass).toEqual({ expired: expired.length, abandoned: 1 });
    const after = await cloud.ctx.db.select({ id: clips.id }).from(clips);
    expect(after.map((c) => c.id).sort()).toEqual(kept.map((c) => c.id).sort());
    for (const c of expired) {
      expect(await keyOf(c, 'video')).toBeNull();
      expect(await keyOf(c, 'thumbnail')).toBeNull();
    }
    for (const c of kept.filter((k) => k.complete)) expect(await keyOf(c, 'video')).toBe(c.videoBytes);
    expect(existsSync(partialFile(abandoned.clipId, 'video'))).toBe(false);
    expect(existsSync(partialFile(recent.clipId, 'video'))).toBe(true);

    // The durable job that runs these passes is waiting for its next turn.
    const [job] = await cloud.ctx.db.select().from(jobs).where(eq(jobs.key, 'clips.retention'));
    expect(job?.runAt.getTime()).toBeGreaterThan(Date.now());

    // Again: nothing more to do.
    expect(await runClipRetention(cloud.ctx.db, cloud.ctx.clips, now)).toEqual({ expired: 0, abandoned: 0 });
    expect(readdirSync(join(cloud.ctx.clips.partialDir)).some((n) => n.startsWith(recent.clipId))).toBe(true);
  });

  it('deletes the clips of a removed device, objects first, at the next pass', async () => {
    const now = new Date(T0 + 8 * DAY + 6 * MINUTE);
    const cameraClips = await cloud.ctx.db.select().from(clips).where(eq(clips.deviceId, site.camera));
    const stored = cameraClips.filter((c) => c.complete);
    expect(stored.length).toBeGreaterThan(0);
    const others = (await cloud.ctx.db.select({ id: clips.id, deviceId: clips.deviceId }).from(clips)).filter((c) => c.deviceId !== site.camera);
    await cloud.ctx.db.delete(devices).where(eq(devices.id, site.camera));

    const pass = await runClipRetention(cloud.ctx.db, cloud.ctx.clips, now);
    expect(pass.expired).toBe(stored.length);
    const after = await cloud.ctx.db.select({ id: clips.id }).from(clips);
    expect(after.map((c) => c.id).sort()).toEqual(others.map((c) => c.id).sort());
    for (const c of stored) expect(await cloud.ctx.clips.store.size(clipObjectKey(c, 'video'))).toBeNull();
  });
});

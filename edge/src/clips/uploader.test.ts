import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open as openFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { ClipUploadRefusal } from '@vigil/protocol';
import { quietLog, tempDir } from '../test/util.js';
import { ClipQueue } from './queue.js';
import { until } from './test/recorders.js';
import { UploadTestServer, writeTestClip } from './test/upload-server.js';
import { ClipUploader } from './uploader.js';

const SERIAL = 'VGTEST0001';
const SECRET = 'the-mqtt-secret';
const T0 = Date.UTC(2025, 4, 1, 12);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { quotaBytes?: number; limitKbps?: number | null; secret?: string } = {}) {
  const { dir: root, remove } = await tempDir();
  cleanups.push(remove);
  const dir = path.join(root, 'clips');
  await mkdir(dir);
  const server = await UploadTestServer.start({ serial: SERIAL, secret: SECRET });
  cleanups.push(() => server.close());
  const queue = await ClipQueue.open({ dir, quotaBytes: opts.quotaBytes ?? 50_000_000, log: quietLog });
  cleanups.push(() => queue.close());
  // 1 MiB requests, so that clips of a few MB take several.
  const uploader = new ClipUploader({ queue, log: quietLog, requestBytes: 1024 * 1024 });
  cleanups.push(() => uploader.stop());
  const uploaded: string[] = [];
  const failures: { clipId: string; err: Error }[] = [];
  uploader.on('uploaded', (id) => uploaded.push(id));
  uploader.on('failed', (clipId, err) => failures.push({ clipId, err }));
  const target = (over: { secret?: string; limitKbps?: number | null } = {}) => ({ uploadUrl: server.url, serial: SERIAL, secret: over.secret ?? opts.secret ?? SECRET, limitKbps: over.limitKbps ?? opts.limitKbps ?? null });
  uploader.configure(target());
  const clip = async (eventAt: number, sizes: { videoBytes?: number; thumbnailBytes?: number } = {}) => {
    const c = await writeTestClip(dir, { eventAt, ...sizes });
    await queue.add(c.record, c.files);
    return c;
  };
  return { dir, server, queue, uploader, uploaded, failures, target, clip };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('the clip uploader against a test cloud over real HTTP', () => {
  it('uploads clips whole, oldest first, and removes them from the box', async () => {
    const { server, queue, uploader, uploaded, clip } = await setup();
    const newer = await clip(T0 + 2_000);
    const older = await clip(T0 + 1_000, { videoBytes: 2_500_000 });
    uploader.start();
    await until('both clips uploaded', () => uploaded.length === 2, 20_000);
    expect(uploaded).toEqual([older.record.clipId, newer.record.clipId]);
    expect(server.completed).toEqual(uploaded);
    for (const c of [older, newer]) {
      expect(sha256(server.part(c.record.clipId, 'video'))).toBe(c.record.sha256);
      expect(sha256(server.part(c.record.clipId, 'thumbnail'))).toBe(c.record.thumbnailSha256);
      expect(existsSync(c.files.video) || existsSync(c.files.sidecar)).toBe(false);
    }
    // 2.5 MB goes in 1 MiB requests, each from where the last ended.
    expect(server.patches.filter((p) => p.clipId === older.record.clipId && p.part === 'video').map((p) => p.offset)).toEqual([0, 1_048_576, 2_097_152]);
    expect(queue.stats()).toMatchObject({ clips: 0, bytes: 0, dropped: 0 });
  });

  it('resumes an upload cut mid-body from the offset the cloud holds', async () => {
    const { server, uploader, uploaded, failures, clip } = await setup();
    server.cutNextPatchAfter(123_456);
    const c = await clip(T0, { videoBytes: 400_000 });
    uploader.start();
    await until('clip uploaded', () => uploaded.length === 1, 20_000);
    const video = server.patches.filter((p) => p.part === 'video');
    expect(video.map((p) => [p.offset, p.status])).toEqual([
      [0, 0],
      [123_456, 200],
    ]);
    expect(video[1]!.received).toBe(400_000 - 123_456);
    expect(sha256(server.part(c.record.clipId, 'video'))).toBe(c.record.sha256);
    expect(failures).toHaveLength(1);
    expect(server.completed).toEqual([c.record.clipId]);
  });

  it('sends the backlog once the cloud is back, each clip once, oldest first', async () => {
    const { server, queue, uploader, uploaded, failures, clip } = await setup();
    await server.down();
    const clips = [];
    for (const at of [T0 + 3_000, T0 + 1_000, T0 + 2_000]) clips.push(await clip(at));
    uploader.start();
    await until('uploads tried while the cloud is down', () => failures.length >= 2, 20_000);
    expect(queue.stats().clips).toBe(3);
    await server.up();
    await until('the backlog uploaded', () => uploaded.length === 3, 60_000);
    const oldestFirst = [...clips].sort((a, b) => a.record.events[0]!.at - b.record.events[0]!.at).map((c) => c.record.clipId);
    expect(uploaded).toEqual(oldestFirst);
    expect(server.completed).toEqual(oldestFirst);
    expect(server.clips.size).toBe(3);
    expect(queue.stats().clips).toBe(0);
  });

  it('drops and reports a clip the cloud refuses for good, then goes on with the next', async () => {
    const { server, queue, uploader, uploaded, clip } = await setup();
    server.refuse({ status: 403, code: ClipUploadRefusal.serviceInactive });
    const refused = await clip(T0);
    uploader.start();
    await until('the refused clip dropped', () => queue.stats().dropped === 1, 20_000);
    const [report] = await queue.pendingReports();
    expect(report!.report).toMatchObject({ clipId: refused.record.clipId, reason: 'refused', bytes: 320_000 });
    expect(report!.report.message).toContain(ClipUploadRefusal.serviceInactive);
    expect(existsSync(refused.files.video)).toBe(false);

    server.refuse(null);
    const next = await clip(T0 + 1_000);
    await until('the next clip uploaded', () => uploaded.length === 1, 20_000);
    expect(uploaded).toEqual([next.record.clipId]);
    expect(server.completed).toEqual([next.record.clipId]);
  });

  it('sends a part again when the cloud finds it damaged, and drops a clip whose file on disk is damaged', async () => {
    const { server, queue, uploader, uploaded, clip } = await setup();
    server.corruptNextParts(1);
    const once = await clip(T0);
    uploader.start();
    await until('clip uploaded after one mismatch', () => uploaded.length === 1, 20_000);
    expect(server.patches.filter((p) => p.part === 'video').map((p) => [p.offset, p.status])).toEqual([
      [0, 422],
      [0, 200],
    ]);
    expect(sha256(server.part(once.record.clipId, 'video'))).toBe(once.record.sha256);

    // The video changes on disk after it was recorded (same size): the cloud refuses it twice, the box checks it.
    await uploader.stop();
    const damaged = await clip(T0 + 1_000);
    const file = await openFile(damaged.files.video, 'r+');
    await file.write(Buffer.from('damaged'), 0, 7, 1_000);
    await file.close();
    uploader.start();
    await until('the damaged clip dropped', () => queue.stats().dropped === 1, 20_000);
    const [report] = await queue.pendingReports();
    expect(report!.report).toMatchObject({ clipId: damaged.record.clipId, reason: 'recording_failed' });
    expect(report!.report.message).toMatch(/no longer matches/);
    expect(server.completed).toEqual([once.record.clipId]);
  });

  it('retries a clip later when the cloud finds good files damaged twice', async () => {
    const { server, queue, uploader, uploaded, failures, clip } = await setup();
    server.corruptNextParts(2);
    const c = await clip(T0);
    uploader.start();
    await until('the clip failed once', () => failures.length === 1, 20_000);
    expect(failures[0]!.err.message).toMatch(/damaged twice/);
    expect(queue.stats()).toMatchObject({ clips: 1, dropped: 0 });
    await until('the clip uploaded on its retry', () => uploaded.length === 1, 20_000);
    expect(server.completed).toEqual([c.record.clipId]);
  });

  it('keeps the average rate under the box limit', async () => {
    const limitKbps = 800;
    const { server, uploader, uploaded, clip } = await setup({ limitKbps });
    const c = await clip(T0, { videoBytes: 380_000, thumbnailBytes: 20_000 });
    const started = performance.now();
    uploader.start();
    await until('clip uploaded', () => uploaded.length === 1, 30_000);
    const seconds = (performance.now() - started) / 1000;
    // 400 kB at 100 kB/s is 4 s at least (less the bucket's initial allowance, which is nothing).
    expect(seconds).toBeGreaterThanOrEqual((400_000 / (limitKbps * 125)) * 0.9);
    expect(server.completed).toEqual([c.record.clipId]);
  });

  it('stops mid-upload and resumes from the cloud offset when started again', async () => {
    const { server, queue, uploader, uploaded, clip } = await setup();
    server.slow(100_000);
    const c = await clip(T0, { videoBytes: 600_000 });
    uploader.start();
    await until('part of the video received', () => server.part(c.record.clipId, 'video').length >= 100_000, 20_000);
    await uploader.stop();
    const held = server.part(c.record.clipId, 'video').length;
    expect(held).toBeLessThan(600_000);
    expect(queue.stats().clips).toBe(1);
    expect(existsSync(c.files.video)).toBe(true);

    server.slow(null);
    uploader.start();
    await until('clip uploaded', () => uploaded.length === 1, 20_000);
    const offsets = server.patches.filter((p) => p.part === 'video').map((p) => p.offset);
    expect(offsets[0]).toBe(0);
    expect(offsets.at(-1)).toBeGreaterThanOrEqual(held);
    expect(sha256(server.part(c.record.clipId, 'video'))).toBe(c.record.sha256);
  });

  it('copes with the queue dropping the clip being uploaded to keep its quota', async () => {
    const { server, queue, uploader, uploaded, clip } = await setup({ quotaBytes: 1_000_000 });
    server.slow(100_000);
    const first = await clip(T0, { videoBytes: 500_000 });
    uploader.start();
    await until('the first clip being uploaded', () => server.part(first.record.clipId, 'video').length > 0, 20_000);
    const second = await clip(T0 + 1_000, { videoBytes: 600_000 });
    expect((await queue.pendingReports()).map((r) => r.report.clipId)).toEqual([first.record.clipId]);
    server.slow(null);
    await until('the second clip uploaded', () => uploaded.length === 1, 20_000);
    expect(uploaded).toEqual([second.record.clipId]);
    expect(server.completed).toEqual([second.record.clipId]);
    expect(queue.stats()).toMatchObject({ clips: 0, dropped: 1 });
  });

  it('waits while the cloud refuses the login, and goes once the login is right', async () => {
    const { server, queue, uploader, uploaded, failures, target, clip } = await setup({ secret: 'wrong' });
    const c = await clip(T0);
    uploader.start();
    await until('refused for its login', () => failures.some((f) => /401/.test(f.err.message)), 20_000);
    expect(queue.stats()).toMatchObject({ clips: 1, dropped: 0 });
    uploader.configure(target({ secret: SECRET }));
    await until('clip uploaded', () => uploaded.length === 1, 20_000);
    expect(server.completed).toEqual([c.record.clipId]);

    // Paused: a clip waits; configured again: it goes.
    uploader.configure(null);
    const later = await clip(T0 + 1_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(queue.stats().clips).toBe(1);
    uploader.configure(target({ secret: SECRET }));
    await until('second clip uploaded', () => uploaded.length === 2, 20_000);
    expect(server.completed).toEqual([c.record.clipId, later.record.clipId]);
  });
});

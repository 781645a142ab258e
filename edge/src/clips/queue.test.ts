import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClipDroppedReport } from '@vigil/protocol';
import { quietLog, tempDir } from '../test/util.js';
import { ClipQueue, QUEUE_INDEX_FILE } from './queue.js';
import { TEST_CHANNEL_KEY, writeTestClip } from './test/upload-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function folder(): Promise<string> {
  const { dir, remove } = await tempDir();
  cleanups.push(remove);
  const clips = path.join(dir, 'clips');
  await mkdir(clips);
  return clips;
}

async function open(dir: string, quotaBytes = 50_000_000): Promise<ClipQueue> {
  const queue = await ClipQueue.open({ dir, quotaBytes, log: quietLog });
  cleanups.push(() => queue.close());
  return queue;
}

const clipFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => !n.startsWith(QUEUE_INDEX_FILE)).sort();
const T0 = Date.UTC(2025, 4, 1, 12);

describe('the durable clip queue', () => {
  it('hands out the oldest first event first, skips clips backing off, and ignores a clip added twice', async () => {
    const dir = await folder();
    const queue = await open(dir);
    const middle = await writeTestClip(dir, { eventAt: T0 + 2_000 });
    const newest = await writeTestClip(dir, { eventAt: T0 + 3_000 });
    const oldest = await writeTestClip(dir, { eventAt: T0 + 1_000 });
    let changes = 0;
    queue.on('changed', () => changes++);
    for (const c of [middle, newest, oldest]) await queue.add(c.record, c.files);
    expect(changes).toBe(3);

    const first = queue.peek();
    expect(first).toMatchObject({ clipId: oldest.record.clipId, channelKey: TEST_CHANNEL_KEY, eventAt: T0 + 1_000, video: oldest.files.video, bytes: 300_000 + 20_000 });
    expect(first!.upload).toMatchObject({ clipId: oldest.record.clipId, video: { bytes: 300_000, sha256: oldest.record.sha256 }, thumbnail: { bytes: 20_000 } });
    expect(first!.upload.thumbnail.sha256).toMatch(/^[0-9a-f]{64}$/);

    await queue.add(oldest.record, oldest.files);
    expect(changes).toBe(3);
    expect(queue.stats()).toEqual({ clips: 3, bytes: 3 * 320_000, oldestEventAt: T0 + 1_000, dropped: 0, quotaBytes: 50_000_000 });

    await queue.retryLater(oldest.record.clipId, 'the cloud said no');
    expect(queue.peek()?.clipId).toBe(middle.record.clipId);
    expect(queue.peek(new Set([middle.record.clipId]))?.clipId).toBe(newest.record.clipId);
    const wait = queue.msUntilRetry(new Set([middle.record.clipId, newest.record.clipId]));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1_000);

    await queue.done(middle.record.clipId);
    expect(existsSync(middle.files.video) || existsSync(middle.files.thumbnail) || existsSync(middle.files.sidecar)).toBe(false);
    expect(queue.stats()).toMatchObject({ clips: 2, bytes: 2 * 320_000 });
    // Done twice, or for a clip never queued: nothing happens.
    await queue.done(middle.record.clipId);
    await queue.done(randomUUID());
    expect(queue.stats().clips).toBe(2);
    expect(await queue.pendingReports()).toEqual([]);
  });

  it('refuses bad input and changes nothing', async () => {
    const dir = await folder();
    const queue = await open(dir);
    const good = await writeTestClip(dir, { eventAt: T0 });
    await expect(queue.add({ ...good.record, clipId: 'not-a-uuid' }, good.files)).rejects.toThrow(/clipId/);
    await expect(queue.add({ ...good.record, events: [] }, good.files)).rejects.toThrow(/no events/);
    await expect(queue.add({ ...good.record, channelId: 'cam-1' }, good.files)).rejects.toThrow(/channelKey/);
    await expect(queue.add({ ...good.record, bytes: 12 }, good.files)).rejects.toThrow(/300000 bytes, its sidecar says 12/);
    const elsewhere = await writeTestClip(await folder(), { eventAt: T0 });
    await expect(queue.add(elsewhere.record, elsewhere.files)).rejects.toThrow(/is not in the clip queue's folder/);
    await expect(queue.recordFailure({ channelKey: TEST_CHANNEL_KEY, events: [], reason: 'recording_failed', message: 'x', bytes: 0 })).rejects.toThrow(/not valid/);
    expect(queue.stats()).toMatchObject({ clips: 0, bytes: 0, dropped: 0 });
    expect(await queue.pendingReports()).toEqual([]);
    expect(await clipFiles(dir)).toHaveLength(3);
    await expect(ClipQueue.open({ dir, quotaBytes: 0, log: quietLog })).rejects.toThrow(/quotaBytes/);
  });

  it('after a crash: queues a sidecar without a row, drops a row whose files are gone, removes temporaries', async () => {
    const dir = await folder();
    const first = await ClipQueue.open({ dir, quotaBytes: 50_000_000, log: quietLog });
    const kept = await writeTestClip(dir, { eventAt: T0 + 1_000 });
    const lost = await writeTestClip(dir, { eventAt: T0 + 2_000 });
    await first.add(kept.record, kept.files);
    await first.add(lost.record, lost.files);
    await first.close();

    // A power cut between the recorder's rename and the insert; a file lost; temporaries of a write cut short.
    const unindexed = await writeTestClip(dir, { eventAt: T0 + 500 });
    await rm(lost.files.video);
    await writeFile(path.join(dir, '.cam-20250501T120000000Z.mp4.part'), 'half a video');
    await writeFile(path.join(dir, '.cam-20250501T120000000Z.json.part'), '{');
    await writeFile(path.join(dir, '.cam-20250501T120000000Z.ffconcat'), 'ffconcat version 1.0\n');
    await writeFile(path.join(dir, 'cam-20250501T120000000Z.mp4'), 'a video whose sidecar never came');

    const queue = await open(dir);
    expect(queue.stats()).toMatchObject({ clips: 2, oldestEventAt: T0 + 500, dropped: 1 });
    expect(queue.peek()?.clipId).toBe(unindexed.record.clipId);
    const reports = await queue.pendingReports();
    expect(reports).toHaveLength(1);
    expect(reports[0]!.report).toMatchObject({ clipId: lost.record.clipId, channelKey: TEST_CHANNEL_KEY, reason: 'recording_failed', bytes: 320_000, events: lost.record.events });
    expect(reports[0]!.report.message).toMatch(/gone from the disk/);
    const names = (f: { files: { video: string; thumbnail: string; sidecar: string } }): string[] => [f.files.video, f.files.thumbnail, f.files.sidecar].map((p) => path.basename(p));
    expect(await clipFiles(dir)).toEqual([...names(kept), ...names(unindexed)].sort());

    // Opening again changes nothing more: the clip found on disk has its row now.
    await queue.close();
    const again = await open(dir);
    expect(again.stats()).toMatchObject({ clips: 2, dropped: 0 });
    expect(await again.pendingReports()).toHaveLength(1);
  });

  it('keeps under its quota by dropping the oldest clips, reporting each until acknowledged, across a reopen', async () => {
    const dir = await folder();
    const quota = 1_000_000;
    const queue = await ClipQueue.open({ dir, quotaBytes: quota, log: quietLog });
    const dropped: ClipDroppedReport[] = [];
    queue.on('dropped', (r) => dropped.push(r));
    const clips = [];
    for (let i = 0; i < 3; i++) {
      const c = await writeTestClip(dir, { eventAt: T0 + i * 1_000 });
      await queue.add(c.record, c.files);
      clips.push(c);
    }
    expect(dropped).toEqual([]);
    // 3 × 320 kB fit in 1 MB; a fourth does not: the oldest goes, even though the new one came last.
    const fourth = await writeTestClip(dir, { eventAt: T0 + 3_000 });
    await queue.add(fourth.record, fourth.files);
    expect(dropped.map((r) => r.clipId)).toEqual([clips[0]!.record.clipId]);
    expect(dropped[0]).toMatchObject({ reason: 'quota', bytes: 320_000, channelKey: TEST_CHANNEL_KEY });
    expect(existsSync(clips[0]!.files.video)).toBe(false);
    expect(queue.stats()).toMatchObject({ clips: 3, bytes: 960_000, oldestEventAt: T0 + 1_000, dropped: 1 });

    // Bigger than the whole quota: only that clip goes.
    const huge = await writeTestClip(dir, { eventAt: T0 + 4_000, videoBytes: 1_200_000 });
    await queue.add(huge.record, huge.files);
    expect(dropped.map((r) => r.clipId)).toEqual([clips[0]!.record.clipId, huge.record.clipId]);
    expect(dropped[1]!.message).toMatch(/larger than the clip queue's quota/);
    expect(existsSync(huge.files.video) || existsSync(huge.files.sidecar)).toBe(false);
    expect(queue.stats()).toMatchObject({ clips: 3, dropped: 2 });

    await queue.recordFailure({ channelKey: TEST_CHANNEL_KEY, events: [{ type: 'intrusion', at: T0 + 5_000 }], reason: 'recording_failed', message: 'the stream was down', bytes: 0 });
    await queue.close();

    const reopened = await open(dir, quota);
    const pending = await reopened.pendingReports();
    expect(pending.map((p) => p.report.clipId ?? p.report.reason)).toEqual([clips[0]!.record.clipId, huge.record.clipId, 'recording_failed']);
    expect(pending[2]!.report.droppedAt).toBeGreaterThan(0);
    await reopened.ackReport(pending[0]!.id);
    await reopened.ackReport(pending[1]!.id);
    await reopened.close();

    // A smaller quota at the next start: the oldest go until the rest fits.
    const smaller = await open(dir, 700_000);
    expect(smaller.stats()).toMatchObject({ clips: 2, bytes: 640_000, oldestEventAt: T0 + 2_000 });
    expect((await smaller.pendingReports()).map((p) => p.report.clipId ?? p.report.reason)).toEqual(['recording_failed', clips[1]!.record.clipId]);
  });

  it('drops a clip on request: its files go, its report stays', async () => {
    const dir = await folder();
    const queue = await open(dir);
    const c = await writeTestClip(dir, { eventAt: T0 });
    await queue.add(c.record, c.files);
    await queue.drop(c.record.clipId, 'refused', 'CLIP_SERVICE_INACTIVE: expired');
    expect(await clipFiles(dir)).toEqual([]);
    expect(queue.stats()).toMatchObject({ clips: 0, bytes: 0, oldestEventAt: null, dropped: 1 });
    const [report] = await queue.pendingReports();
    expect(report!.report).toMatchObject({ clipId: c.record.clipId, reason: 'refused', message: 'CLIP_SERVICE_INACTIVE: expired' });
  });
});

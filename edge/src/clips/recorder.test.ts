import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { quietLog } from '../test/util.js';
import { startCamera, type Cleanups } from '../media/test/cameras.js';
import { alive } from '../media/test/ingest.js';
import { sha256Of, type ClipRecord } from './assemble.js';
import { ChannelRecorder, type ClipFailure, type ClipFiles } from './recorder.js';
import type { TimedSegment } from './ring.js';
import { next, probeFile, startRecorder, until } from './test/recorders.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const H264 = { video: 'h264', audio: null, width: 320, height: 180, avc1: null } as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Waits until the ring holds at least `seconds` of footage. */
async function footage(recorder: ChannelRecorder, seconds: number): Promise<void> {
  const enough = (): boolean => {
    const s = recorder.segments;
    return s.length > 0 && s.at(-1)!.endAt - s[0]!.startAt >= seconds * 1000;
  };
  while (!enough()) await next<[TimedSegment]>(recorder, 'segment');
}

describe('event clips from a simulated camera with real ffmpeg', () => {
  it('writes a clip of pre + post seconds (MP4, JPEG, sidecar with its sha256), merging an event inside a clip being recorded', async () => {
    const cam = await startCamera(cleanups, { streams: { sub: { audio: true } } });
    const connecting = Date.now();
    const { recorder, dir } = await startRecorder(cleanups, cam, { preSeconds: 2, postSeconds: 2, marginSeconds: 2 });
    await footage(recorder, 3);
    // Footage cannot predate the connection, and a segment is listed only once it has ended.
    expect(recorder.segments[0]!.startAt).toBeGreaterThan(connecting - 500);
    expect(recorder.segments.at(-1)!.endAt).toBeLessThanOrEqual(Date.now());

    const clip = next<[ClipRecord, ClipFiles]>(recorder, 'clip');
    const eventAt = Date.now();
    recorder.trigger(eventAt, { type: 'motion' });
    const [record, files] = await clip;
    expect(record.clipId).toMatch(UUID);
    expect(record).toMatchObject({ channelId: 'cam-1', events: [{ type: 'motion', at: eventAt }], eventTimes: [eventAt], requestedStart: eventAt - 2_000, requestedEnd: eventAt + 2_000, gaps: [], partial: false });
    // Whole segments from key frame to key frame (one a second) around the asked range.
    expect(record.startAt).toBeLessThanOrEqual(eventAt - 2_000 + 500);
    expect(record.startAt).toBeGreaterThan(eventAt - 2_000 - 1_600);
    expect(record.endAt).toBeGreaterThanOrEqual(eventAt + 2_000 - 500);
    const probed = await probeFile(files.video);
    expect(probed.codecs).toEqual(['h264', 'aac']);
    expect(probed.duration).toBeGreaterThan(4 - 1.5);
    expect(probed.duration).toBeLessThan(4 + 1.5);
    expect(Math.abs(probed.duration - record.durationSeconds)).toBeLessThan(0.5);
    expect(probed.frames).toBeGreaterThan(20);
    const thumb = await readFile(files.thumbnail);
    expect([...thumb.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const sidecar = JSON.parse(await readFile(files.sidecar, 'utf8')) as ClipRecord;
    expect(sidecar).toEqual(record);
    expect(sidecar.sha256).toBe(await sha256Of(files.video));
    expect(sidecar.bytes).toBe((await readFile(files.video)).length);
    expect((await readdir(`${dir}/clips`)).sort()).toEqual([record.video, record.thumbnail, files.sidecar.split('/').at(-1)].sort());

    // Two events a second apart: one clip from the first − pre to the second + post, keeping each event's type.
    const clips: ClipRecord[] = [];
    recorder.on('clip', (r) => clips.push(r));
    const merged = next<[ClipRecord, ClipFiles]>(recorder, 'clip');
    const first = Date.now();
    recorder.trigger(first, { type: 'motion' });
    await new Promise((r) => setTimeout(r, 1_000));
    const second = Date.now();
    recorder.trigger(second, { type: 'lineCrossing' });
    const [both, bothFiles] = await merged;
    expect(both.events).toEqual([{ type: 'motion', at: first }, { type: 'lineCrossing', at: second }]);
    expect(both.clipId).toMatch(UUID);
    expect(both.clipId).not.toBe(record.clipId);
    expect(both.requestedEnd).toBe(second + 2_000);
    expect((await probeFile(bothFiles.video)).duration).toBeGreaterThan(5 - 1.5);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(clips).toHaveLength(1);

    // The ring keeps pre + margin seconds (and the segment being written): older files are gone.
    await next(recorder, 'segment');
    expect(Date.now() - recorder.segments[0]!.startAt).toBeLessThan((2 + 2) * 1000 + 2_500);
    await until('old segment files deleted', async () => (await readdir(`${dir}/ring`)).length <= recorder.segments.length + 1);
  }, 40_000);

  it('resumes a dropped stream, writes a clip over the gap that says so, and stops leaving no ffmpeg', async () => {
    const cam = await startCamera(cleanups);
    const { recorder, dir } = await startRecorder(cleanups, cam, { preSeconds: 3, postSeconds: 8 });
    await footage(recorder, 1);
    const firstPid = recorder.pid;
    expect(alive(firstPid)).toBe(true);

    const failed = next<[ClipFailure]>(recorder, 'clipFailed', 30_000).then(([f]) => f.reason);
    const dropped = next(recorder, 'dropped');
    const clip = next<[ClipRecord, ClipFiles]>(recorder, 'clip', 30_000);
    const eventAt = Date.now();
    recorder.trigger(eventAt, { type: 'intrusion' });
    await cam.rtsp.dropStream('/Streaming/Channels/102', 2_500, 'disconnect');
    await dropped;
    const [resumed] = await next<[TimedSegment]>(recorder, 'segment', 20_000, (s) => s.run > 1);
    expect(resumed.startAt).toBeGreaterThan(eventAt);
    expect(recorder.pid).not.toBe(firstPid);

    const [record, files] = await Promise.race([clip, failed.then((reason) => Promise.reject(new Error(reason)))]);
    expect(record.partial).toBe(true);
    expect(record.gaps.length).toBeGreaterThan(0);
    expect(record.gaps[0]!.to - record.gaps[0]!.from).toBeGreaterThan(1_000);
    const probed = await probeFile(files.video);
    expect(probed.codecs).toEqual(['h264']);
    expect(Math.abs(probed.duration - record.durationSeconds)).toBeLessThan(0.5);

    const pid = recorder.pid;
    expect(alive(pid)).toBe(true);
    await recorder.stop();
    expect(alive(pid)).toBe(false);
    expect(recorder.pid).toBe(0);
    expect(existsSync(`${dir}/ring`)).toBe(false);
    expect(existsSync(files.video)).toBe(true);
  }, 40_000);

  it('reports a clip with no footage as failed, writes an open clip on stop, and refuses bad input', async () => {
    const cam = await startCamera(cleanups);
    const { recorder } = await startRecorder(cleanups, cam, { preSeconds: 1, postSeconds: 1 });
    const failed = next<[ClipFailure]>(recorder, 'clipFailed');
    const longAgo = Date.now() - 600_000;
    recorder.trigger(longAgo, { type: 'motion' });
    const [failure] = await failed;
    expect(failure).toMatchObject({ channelId: 'cam-1', events: [{ type: 'motion', at: longAgo }] });
    expect(failure.clipId).toMatch(UUID);
    expect(failure.reason).toMatch(/no footage/);

    // Stopping writes the clips still open with the footage there is. An event that would take its clip past
    // 60 s starts a clip of its own.
    await footage(recorder, 2);
    const clips: ClipRecord[] = [];
    recorder.on('clip', (r) => clips.push(r));
    const eventAt = recorder.segments.at(-1)!.startAt;
    recorder.trigger(eventAt, { type: 'motion', postSeconds: 50 });
    recorder.trigger(eventAt + 100, { type: 'lineCrossing', postSeconds: 10 });
    recorder.trigger(eventAt + 200, { type: 'intrusion', preSeconds: 1, postSeconds: 59 });
    await recorder.stop();
    expect(clips).toHaveLength(2);
    const [long, own] = [...clips].sort((a, b) => a.requestedStart - b.requestedStart) as [ClipRecord, ClipRecord];
    expect(long).toMatchObject({ events: [{ type: 'motion', at: eventAt }, { type: 'lineCrossing', at: eventAt + 100 }], requestedEnd: eventAt + 50_000, partial: true });
    expect(long.gaps.at(-1)!.to).toBe(eventAt + 50_000);
    expect(own).toMatchObject({ events: [{ type: 'intrusion', at: eventAt + 200 }], requestedStart: eventAt - 800, requestedEnd: eventAt + 59_200, partial: true });
    expect(own.clipId).not.toBe(long.clipId);

    expect(() => recorder.trigger(Date.now(), { type: 'motion', preSeconds: 61 })).toThrow(RangeError);
    expect(() => recorder.trigger(Date.now(), { type: 'motion', preSeconds: 40, postSeconds: 30 })).toThrow(/at most 60/);
    expect(() => recorder.trigger(Date.now(), { type: 'motion', postSeconds: -1 })).toThrow(RangeError);
    expect(() => recorder.trigger(Number.NaN, { type: 'motion' })).toThrow(RangeError);
    expect(() => recorder.trigger(Date.now(), { type: 'motion' })).toThrow(/not running/);
    const base = { channelId: 'c', url: 'rtsp://127.0.0.1:1/x', ringDir: '/nonexistent/r', clipsDir: '/nonexistent/c', log: quietLog };
    expect(() => new ChannelRecorder({ ...base, description: H264, preSeconds: 70 })).toThrow(RangeError);
    expect(() => new ChannelRecorder({ ...base, description: { ...H264, video: 'mjpeg' } })).toThrow(/H.264 or H.265/);
  }, 30_000);
});

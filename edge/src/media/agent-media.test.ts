import { readdirSync, readFileSync } from 'node:fs';
import { IpCameraSimulator } from '@vigil/simulators';
import type { MediaOpenResult, MediaSnapshotResult } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../agent.js';
import { callBox } from '../alarms/test/box.js';
import { siblingModule } from '../bus.js';
import { startFakeCloud } from '../test/cloud.js';
import { CODE, Lines, SERIAL, quietLog, tempDir, testConfig } from '../test/util.js';
import { MEDIA_WORKER } from './control.js';
import { alive, binaries, boxTypes, TestIngest } from './test/ingest.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The ffmpeg processes whose parent is `pid`. */
function ffmpegChildrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m?.[1] === 'ffmpeg' && Number(m[2]) === pid) out.push(Number(entry));
    } catch {
      // The process ended while the list was read.
    }
  }
  return out;
}

/** A box running the discovery and media workers, claimed by a fake cloud, with one camera on its "LAN". */
async function startBox() {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  const cam = new IpCameraSimulator({ serial: 'MEDIACAM01', streams: { main: { width: 320, height: 180, fps: 10, bitrateKbps: 128 }, sub: { width: 320, height: 180, fps: 10, bitrateKbps: 128 } } });
  await cam.start();
  cleanups.push(() => cam.stop());
  const cloud = await startFakeCloud(SERIAL, CODE);
  cleanups.push(() => cloud.close());
  cloud.claim();
  const env = {
    VIGIL_EDGE_SERIAL: SERIAL,
    VIGIL_EDGE_VERIFICATION_CODE: CODE,
    VIGIL_CLOUD_URL: 'http://127.0.0.1:1',
    VIGIL_EDGE_DATA_DIR: tmp.dir,
    VIGIL_EDGE_PROBE_TARGETS: `${cam.host}:${cam.endpoints.discovery}`,
    VIGIL_EDGE_DEVICE_PASSWORD: 'admin12345',
    VIGIL_EDGE_DISCOVERY_INTERVAL_MS: '500',
    VIGIL_LOG_LEVEL: 'error',
  };
  const lines = new Lines();
  const agent = await Agent.start(testConfig(tmp.dir, { devicePassword: 'admin12345' }), {
    log: quietLog,
    mqttUrl: cloud.url,
    announce: lines.push,
    backoff: { initialMs: 20, maxMs: 100 },
    workers: [
      { name: 'discovery', ...siblingModule(import.meta.url, '../workers/discovery'), env },
      { name: MEDIA_WORKER, ...siblingModule(import.meta.url, '../workers/media'), env },
    ],
  });
  cleanups.push(() => agent.shutdown('shutdown'));
  await lines.waitFor((l) => l.event === 'ready');
  await lines.waitFor((l) => l.event === 'connected' && l.mode === 'edge');
  const found = await lines.waitFor((l) => l.event === 'device' && l.online === true);
  const ingest = await TestIngest.start();
  cleanups.push(() => ingest.close());
  return { agent, cloud, cam, ingest, deviceKey: found.deviceId as string };
}

describe('media RPCs through the agent and the media worker', () => {
  it('refuses clearly when the media worker is not running, or the camera is unknown', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const cloud = await startFakeCloud(SERIAL, CODE);
    cleanups.push(() => cloud.close());
    cloud.claim();
    const lines = new Lines();
    const agent = await Agent.start(testConfig(tmp.dir), { log: quietLog, mqttUrl: cloud.url, announce: lines.push, workers: [] });
    cleanups.push(() => agent.shutdown('shutdown'));
    await lines.waitFor((l) => l.event === 'connected' && l.mode === 'edge');
    const recorder = { kind: 'recorder', recorder: { serial: 'DVR0001', ip: '127.0.0.1', httpPort: 1, password: 'Abcd1234!' }, channel: 1 };
    expect(await callBox(cloud, 'media.recordings', { source: recorder, from: '2026-12-01T00:00:00Z', to: '2026-12-01T01:00:00Z' })).toMatchObject({
      ok: true,
      result: { ok: false, code: 'MEDIA_FAILED', message: 'the media worker is not running' },
    });
    expect(await callBox(cloud, 'media.snapshot', { source: { kind: 'camera', deviceKey: 'cam-x' }, stream: 'main' })).toMatchObject({
      ok: true,
      result: { ok: false, code: 'MEDIA_DEVICE_NOT_FOUND' },
    });
    expect(await callBox(cloud, 'media.close', { sessionId: '5f0c4f43-7f1c-4d2e-9a53-0e2f7d1f4b11' })).toEqual({ ok: true, result: { closed: false } });
  }, 30_000);

  it('opens a live session of a discovered camera, takes a snapshot, closes, and leaves no ffmpeg when the worker is killed', async () => {
    const { agent, cloud, ingest, deviceKey } = await startBox();
    const source = { kind: 'camera', deviceKey };

    const unknown = await callBox(cloud, 'media.open', ingest.params({ source: { kind: 'camera', deviceKey: 'no-such-camera' } }) as unknown as Record<string, unknown>);
    expect(unknown).toMatchObject({ ok: true, result: { ok: false, code: 'MEDIA_DEVICE_NOT_FOUND' } });

    const p = ingest.params({ source: { kind: 'camera', deviceKey } });
    const opened = await callBox(cloud, 'media.open', p as unknown as Record<string, unknown>);
    expect(opened).toMatchObject({ ok: true, result: { ok: true, shared: false, start: { format: 'fmp4', sourceCodec: 'h264' } } });
    expect((opened as { result: MediaOpenResult }).result.ok).toBe(true);
    const c = await ingest.waitFor('init and a fragment', () => {
      const conn = ingest.connections.get(p.sessionId);
      return binaries(conn).length >= 2 && conn;
    });
    expect(boxTypes(binaries(c)[0]!)).toEqual(['ftyp', 'moov']);

    const snap = await callBox(cloud, 'media.snapshot', { source, stream: 'sub' });
    expect(snap).toMatchObject({ ok: true, result: { ok: true } });
    const jpeg = Buffer.from((snap as { result: Extract<MediaSnapshotResult, { ok: true }> }).result.jpegBase64, 'base64');
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

    expect(await callBox(cloud, 'media.close', { sessionId: p.sessionId })).toEqual({ ok: true, result: { closed: true } });
    await ingest.waitFor('the ingest closed', () => ingest.connections.get(p.sessionId)?.closed);
    expect(await callBox(cloud, 'media.close', { sessionId: p.sessionId })).toEqual({ ok: true, result: { closed: false } });

    // A session running when the worker is killed outright: its ffmpeg goes too (its output pipe breaks).
    const q = ingest.params({ source: { kind: 'camera', deviceKey } });
    expect(await callBox(cloud, 'media.open', q as unknown as Record<string, unknown>)).toMatchObject({ ok: true, result: { ok: true } });
    await ingest.waitFor('a fragment', () => binaries(ingest.connections.get(q.sessionId)).length >= 2);
    const workerPid = agent.workers.info().find((w) => w.name === MEDIA_WORKER)?.pid ?? 0;
    const ffmpeg = ffmpegChildrenOf(workerPid);
    expect(ffmpeg).toHaveLength(1);
    const restarted = new Promise<number>((resolve) => agent.workers.on('ready', (name, pid) => name === MEDIA_WORKER && resolve(pid)));
    process.kill(workerPid, 'SIGKILL');
    await ingest.waitFor('the ingest closed with the worker', () => ingest.connections.get(q.sessionId)?.closed);
    await ingest.waitFor('ffmpeg gone with its worker', () => !alive(ffmpeg[0]!), 15_000);
    expect(await restarted).not.toBe(workerPid);
  }, 90_000);
});

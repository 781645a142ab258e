import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { CLIP_DROPPED_EVENT, ClipUploadRefusal, type ClipDroppedReport, type ClipsStatusResult } from '@vigil/protocol';
import { DeviceHost, type SimDevice } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../agent.js';
import { callBox, eventDetails } from '../alarms/test/box.js';
import { siblingModule } from '../bus.js';
import { SMALL } from '../media/test/cameras.js';
import { startFakeCloud, type FakeCloud } from '../test/cloud.js';
import { CODE, Lines, SERIAL, quietLog, tempDir, testConfig } from '../test/util.js';
import { CLIPS_WORKER } from './control.js';
import { until } from './test/recorders.js';
import { UploadTestServer } from './test/upload-server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const DVR_PASSWORD = 'Dvr-Secret-77';

async function startDvr(): Promise<SimDevice> {
  const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices: [{ class: 'dvr', activated: true, password: DVR_PASSWORD, channelStreams: { main: SMALL, sub: SMALL } }] });
  await host.start();
  cleanups.push(() => host.stop());
  return host.devices[0]!;
}

async function fire(dvr: SimDevice, event: { channel: number; type: string; active?: boolean }): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${dvr.endpoints.httpPort}/__sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event }) });
  expect(res.status).toBe(200);
}

/** A box running only the clips worker on `dataDir`, connected through `mqttUrl` (or trying to). */
async function startAgent(dataDir: string, mqttUrl: string, lines = new Lines()): Promise<Agent> {
  const agent = await Agent.start(testConfig(dataDir), {
    log: quietLog,
    mqttUrl,
    announce: lines.push,
    backoff: { initialMs: 20, maxMs: 200 },
    workers: [
      {
        name: CLIPS_WORKER,
        ...siblingModule(import.meta.url, '../workers/clips'),
        env: { VIGIL_EDGE_SERIAL: SERIAL, VIGIL_EDGE_VERIFICATION_CODE: CODE, VIGIL_CLOUD_URL: 'http://127.0.0.1:1', VIGIL_EDGE_DATA_DIR: dataDir, VIGIL_LOG_LEVEL: 'error' },
      },
    ],
  });
  await lines.waitFor((l) => l.event === 'ready');
  return agent;
}

const status = async (cloud: FakeCloud): Promise<ClipsStatusResult> => {
  const reply = await callBox(cloud, 'clips.status', {});
  if (!reply.ok) throw new Error(`clips.status failed: ${JSON.stringify(reply)}`);
  return reply.result as ClipsStatusResult;
};

describe('clips through the agent and the clips worker', () => {
  it('records and uploads from the settings of clips.configure, keeps them sealed through a restart without the cloud, and reports a refused clip', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const dvr = await startDvr();
    const cloud = await startFakeCloud(SERIAL, CODE);
    cleanups.push(() => cloud.close());
    cloud.claim();
    const server = await UploadTestServer.start({ serial: SERIAL, secret: cloud.secret });
    cleanups.push(() => server.close());

    const lines = new Lines();
    const first = await startAgent(tmp.dir, cloud.url, lines);
    let stopFirst: (() => Promise<void>) | null = () => first.shutdown('shutdown');
    cleanups.push(() => stopFirst?.());
    await lines.waitFor((l) => l.event === 'connected' && l.mode === 'edge');

    const recorder = { serial: dvr.serial, ip: '127.0.0.1', httpPort: dvr.endpoints.httpPort, password: DVR_PASSWORD };
    const channelKey = `${randomUUID()}:1`;
    const settings = {
      uploadUrl: server.url,
      uploadLimitKbps: null,
      channels: [
        {
          channelKey,
          source: { kind: 'recorder', recorder, channel: 1 },
          stream: 'sub',
          triggers: ['motion'],
          schedule: { timeZone: 'Europe/Paris', periods: [{ days: [1, 2, 3, 4, 5, 6, 7], start: 0, end: 1440 }] },
          preSeconds: 1,
          postSeconds: 2,
          activeUntil: Date.now() + 86_400_000,
        },
      ],
    };
    const bad = await callBox(cloud, 'clips.configure', { ...settings, channels: [settings.channels[0], settings.channels[0]] });
    expect(bad).toMatchObject({ ok: false, error: { code: 'RPC_BAD_PARAMS' } });
    expect(JSON.stringify(bad)).toContain('listed twice');
    expect(await callBox(cloud, 'clips.configure', settings)).toEqual({ ok: true, result: { channels: 1 } });
    await until('the channel buffering', async () => (await status(cloud)).channels[0]?.state === 'buffering', 30_000);

    // Stored sealed: the recorder's password is not in the store in the clear.
    const stored = await first.store.getSetting('clips.config');
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain(DVR_PASSWORD);

    // The bandwidth test runs in the worker with the box's login.
    const test = await callBox(cloud, 'clips.bandwidthTest', { uploadUrl: server.url, seconds: 1 });
    expect(test).toMatchObject({ ok: true, result: { ok: true } });
    expect(server.probes.length).toBeGreaterThan(0);

    // A clip the cloud refuses for good becomes a clip.dropped event.
    server.refuse({ status: 403, code: ClipUploadRefusal.serviceInactive });
    await fire(dvr, { channel: 1, type: 'motion', active: true });
    await until('the clip.dropped event', () => eventDetails(cloud, CLIP_DROPPED_EVENT).length > 0, 30_000);
    await fire(dvr, { channel: 1, type: 'motion', active: false });
    const [dropped] = eventDetails<ClipDroppedReport>(cloud, CLIP_DROPPED_EVENT);
    expect(dropped).toMatchObject({ channelKey, reason: 'refused', events: [{ type: 'motion' }] });
    expect(dropped!.message).toContain(ClipUploadRefusal.serviceInactive);
    server.refuse(null);
    await first.shutdown('shutdown');
    stopFirst = null;

    // Restarted with no cloud to reach: it records and uploads from what it kept.
    await cloud.close();
    const second = await startAgent(tmp.dir, 'mqtt://127.0.0.1:1');
    cleanups.push(() => second.shutdown('shutdown'));
    const ring = path.join(tmp.dir, 'clips', 'rings', channelKey.replace(':', '_'));
    await until('the ring holding footage again', async () => (await readdir(ring).catch(() => [])).filter((f) => f.endsWith('.ts')).length >= 2, 30_000);
    // The event subscription is up by then, or soon: the recorder's motion goes on until it is taken.
    const before = Date.now();
    await fire(dvr, { channel: 1, type: 'motion', active: true });
    await until('the clip uploaded', () => server.completed.length > 0, 30_000);
    await fire(dvr, { channel: 1, type: 'motion', active: false });
    const clip = server.clips.get(server.completed[0]!)!;
    expect(clip.create.channelKey).toBe(channelKey);
    expect(clip.create.events[0]!.at).toBeGreaterThanOrEqual(before - 1_000);
  }, 150_000);
});

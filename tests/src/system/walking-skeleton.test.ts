import { afterAll, describe, expect, it } from 'vitest';
import { registerCompany } from '@vigil/cloud/testing';
import { eventually, type Proc } from '../harness/process.js';
import { edgeBox, scenarioDir, startCamera, startCloudProcess, startEdge } from '../harness/system.js';

type Edge = { serial: string; status: string; connected: boolean; provisioned: boolean };
type Device = { id: string; serial: string; model: string; status: string; name: string };

// Long enough for a reboot of the agent on a loaded 2-core machine, which must not count as a loss.
const OFFLINE_DELAY_SEC = 6;
const DEVICE_PASSWORD = 'Cam-pass-2024';
const dir = scenarioDir('skeleton');
const procs: Proc[] = [];
let dropDatabase: () => Promise<void> = async () => {};
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await dropDatabase();
});

describe('the whole system: cloud, edge box and cameras as separate processes', () => {
  it('claims an edge, sees its cameras, tracks its presence, and delivers what was queued while the cloud was down', async () => {
    let cloud = await startCloudProcess(dir);
    procs.push(cloud.proc);
    dropDatabase = cloud.dropDatabase;
    const cams = await Promise.all(['VCAM0001', 'VCAM0002'].map((s) => startCamera(dir, s, DEVICE_PASSWORD)));
    procs.push(...cams.map((c) => c.proc));

    // The installer registers and creates a site; the box is powered on at the customer's.
    const { client } = await registerCompany(`${cloud.url}/api/v1`, 'Skeleton Security');
    const site = await client.post<{ id: string }>('/sites', { name: 'Corner Shop', type: 'personal', timeZone: 'Europe/London', offlineDelaySec: OFFLINE_DELAY_SEC });
    expect(site.status).toBe(201);
    const box = edgeBox(dir, cloud.url, cams.map((c) => c.camera), DEVICE_PASSWORD);
    let edge = await startEdge(dir, box);
    procs.push(edge);
    await edge.waitFor((l) => l.event === 'connected' && l.mode === 'claim', 'claim mode');

    // Wrong code first, then the one on the label.
    const wrong = await client.post<{ code: string }>(`/sites/${site.body.id}/edges`, { serial: box.serial, verificationCode: 'WRONG000' });
    expect(wrong.body.code).toBe('VERIFICATION_CODE_INVALID');
    const added = await client.post<Edge>(`/sites/${site.body.id}/edges`, { serial: box.serial, verificationCode: box.code });
    expect(added.status).toBe(201);
    await edge.waitFor((l) => l.event === 'connected' && l.mode === 'edge', 'edge mode after the claim');

    const edgeState = () => client.get<Edge>(`/edges/${box.serial}`);
    const devices = () => client.get<{ items: Device[] }>(`/sites/${site.body.id}/devices`);
    await eventually(edgeState, (r) => r.body.status === 'online' && r.body.connected, 'the edge online');
    const found = await eventually(devices, (r) => r.body.items.filter((d) => d.status === 'online').length === 2, 'both cameras online');
    expect(found.body.items.map((d) => d.serial).sort()).toEqual(['VCAM0001', 'VCAM0002']);

    // RPC through the tunnel.
    // The tunnel is up before every worker process has finished starting.
    const info = await eventually(
      () => client.get<{ serial: string; workers: { name: string; ready: boolean }[] }>(`/edges/${box.serial}/info`),
      (r) => r.status === 200 && r.body.workers.every((w) => w.ready),
      'every worker of the box ready',
    );
    expect(info.body.serial).toBe(box.serial);
    expect(info.body.workers.map((w) => w.name).sort()).toEqual(['alarms', 'clips', 'discovery', 'lan', 'media']);

    // Reboot of the agent on command: it comes back in a new process, and is never declared offline.
    const firstPid = edge.lines.find((l) => l.event === 'connected' && l.mode === 'edge')!.pid;
    const reboot = await client.post<{ accepted: boolean }>(`/edges/${box.serial}/reboot`);
    expect(reboot.status).toBe(202);
    await edge.waitFor((l) => l.event === 'connected' && l.mode === 'edge' && l.pid !== firstPid, 'the agent back after the reboot');
    await eventually(edgeState, (r) => r.body.connected, 'the edge reconnected after the reboot');
    expect((await client.get<{ items: { state: string }[] }>(`/edges/${box.serial}/history`)).body.items.map((h) => h.state)).toEqual(['online']);
    const log = await client.get<{ items: { content: string }[] }>('/operation-logs');
    expect(log.body.items.map((e) => e.content)).toEqual(expect.arrayContaining(['Reboot Edge Box Succeeded', 'Add Edge Box Succeeded', 'Add Edge Box Failed']));

    // Power cut: offline only once the site's delay has passed.
    const cutAt = Date.now();
    await edge.kill();
    await eventually(edgeState, (r) => !r.body.connected, 'the tunnel closed');
    expect((await edgeState()).body.status).toBe('online');
    await eventually(edgeState, (r) => r.body.status === 'offline', 'the edge declared offline');
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(OFFLINE_DELAY_SEC * 1000);
    expect((await devices()).body.items.every((d) => d.status === 'offline')).toBe(true);

    // Power back: online at once, with its cameras.
    edge = await startEdge(dir, box, 'edge-2');
    procs.push(edge);
    await eventually(edgeState, (r) => r.body.status === 'online', 'the edge online again');
    await eventually(devices, (r) => r.body.items.every((d) => d.status === 'online'), 'cameras online again');

    // The cloud goes down; meanwhile a camera stops answering. The edge queues the change and delivers it later.
    await cloud.proc.stop();
    const control = await fetch(`http://${cams[0]!.camera.host}:${cams[0]!.camera.http}/__sim/control`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reachable: false }),
    });
    expect(control.ok).toBe(true);
    await edge.waitFor((l) => l.event === 'device' && l.deviceId === 'VCAM0001' && l.online === false, 'the edge to see the camera go');
    const cloudBackAt = Date.now();
    cloud = await startCloudProcess(dir, { databaseUrl: cloud.databaseUrl, port: cloud.port });
    procs.push(cloud.proc);
    await eventually(edgeState, (r) => r.body.connected, 'the edge reconnected');
    const after = await eventually(
      devices,
      (r) => r.body.items.find((d) => d.serial === 'VCAM0001')?.status === 'offline',
      'the queued camera loss delivered',
    );
    expect(after.body.items.find((d) => d.serial === 'VCAM0002')?.status).toBe('online');
    const history = await client.get<{ items: { state: string; since: string }[] }>(`/devices/${after.body.items.find((d) => d.serial === 'VCAM0001')!.id}/history`);
    // The loss is dated when the edge saw it, while the cloud was down, not when it arrived.
    expect(history.body.items[0]?.state).toBe('offline');
    expect(Date.parse(history.body.items[0]!.since)).toBeLessThan(cloudBackAt);
  });
});


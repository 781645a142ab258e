import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeEnvelope,
  envelope,
  ONSITE_PROGRESS_EVENT,
  topics,
  type DiscoveredDevice,
  type InitProgress,
  type LanInitializeParams,
} from '@vigil/protocol';
import type { ActivationJob, DeviceDefaults, LiveEvent } from '@vigil/protocol/api';
import { activationJobs, deviceDefaults, deviceEvents } from '../db/schema.js';
import { newSite, registerCompany, startTestCloud, type ApiClient, type TestCloud } from '../testing/cloud.js';
import { answerCommands, EdgePlayers, nonce, publish, until } from '../testing/edge.js';

let cloud: TestCloud;
let players: EdgePlayers;
beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
});
afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

type Answer = { ok: true } | { ok: false; code: string; message: string } | 'silent';

/**
 * An edge box played over MQTT: claimed through the public flow, it listens for commands, records each
 * `lan.initialize` call, answers as told, and publishes LAN snapshots and progress reports.
 */
async function playedEdge(client: ApiClient, siteId: string) {
  const { serial, edge } = await players.claimed(client, siteId);
  const calls: LanInitializeParams[] = [];
  const state = { answer: { ok: true } as Answer };
  await answerCommands<LanInitializeParams>(edge, serial, 'lan.initialize', (params) => {
    calls.push(params);
    const a = state.answer;
    if (a === 'silent') return null;
    return a.ok ? { ok: true, result: { accepted: true } } : { ok: false, error: { code: a.code, message: a.message } };
  });

  return {
    serial,
    edge,
    calls,
    answer(a: Answer) {
      state.answer = a;
    },
    lan: (devices: DiscoveredDevice[], at = Date.now()) => publish(edge, topics.lan(serial), encodeEnvelope(envelope('lan', { at, devices }))),
    progress: (details: InitProgress | Record<string, unknown>, at = Date.now()) =>
      publish(edge, topics.event(serial, ONSITE_PROGRESS_EVENT), encodeEnvelope(envelope('event', { at, details: details as Record<string, unknown> }))),
  };
}

let ipSeq = 10;
const found = (serial: string, over: Partial<DiscoveredDevice> = {}): DiscoveredDevice => ({
  serial, deviceClass: 'nvr', model: 'DS-7608NI-K2/8P', firmware: 'V4.30.005', mac: '44:19:b6:00:00:01',
  network: { dhcp: true, ipv4: `10.0.0.${++ipSeq}`, mask: '255.255.255.0', gateway: '10.0.0.1', dns: '10.0.0.1' },
  httpPort: 80, activated: false, channels: 8, pingMs: 12, via: 'sadp', lastSeenAt: Date.now(), ...over,
});

type Job = ActivationJob;
type Refusal = { code: string; message: string };
const PASSWORD = 'Install-2026';
const CODE = 'VRF2026A';

/** A company with a site whose played edge sees an NVR, two cameras (one activated), a panel and an AC router. */
async function lanSetup(timeZone = 'Europe/Berlin') {
  const company = await registerCompany(cloud.api);
  const siteId = await newSite(company.client, { timeZone });
  const box = await playedEdge(company.client, siteId);
  const s = { nvr: `NVR${nonce()}`, cam: `CAM${nonce()}`, camOn: `CAMA${nonce()}`, panel: `AX${nonce()}`, ac: `AC${nonce()}` };
  await box.lan([
    found(s.nvr),
    found(s.cam, { deviceClass: 'camera', model: 'DS-2CD2143G2-I', httpPort: 8080 }),
    found(s.camOn, { deviceClass: 'camera', activated: true }),
    found(s.panel, { deviceClass: 'alarm_panel', model: 'DS-PWA64-L-WE' }),
    found(s.ac, { deviceClass: 'ac_router', model: 'DS-3WR15X' }),
  ]);
  const jobs = () => company.client.get<{ items: Job[] }>(`/sites/${siteId}/onsite/activations`);
  const start = (body: Record<string, unknown>) => company.client.post<Job & Refusal>(`/sites/${siteId}/onsite/activations`, body);
  const job = (id: string) => company.client.get<Job>(`/sites/${siteId}/onsite/activations/${id}`);
  return { ...company, siteId, box, s, jobs, start, job };
}

describe('activating LAN devices through the edge box', () => {
  it('starts a job on the edge with the password and the site time zone, follows its reports and ends it', async () => {
    const t = await lanSetup('Europe/Berlin');
    const live: LiveEvent[] = [];
    const unsubscribe = cloud.ctx.hub.subscribe(t.companyId, (e) => live.push(e));

    const started = await t.start({ serials: [t.s.nvr, t.s.cam], password: PASSWORD, verificationCode: CODE });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ siteId: t.siteId, edgeSerial: t.box.serial, state: 'running', finishedAt: null });
    expect(started.body.items.map((i) => [i.serial, i.deviceClass, i.result])).toEqual(
      [[t.s.nvr, 'nvr', 'running'], [t.s.cam, 'camera', 'running']].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );
    expect(t.box.calls).toHaveLength(1);
    const call = t.box.calls[0]!;
    expect(call).toMatchObject({ jobId: started.body.id, password: PASSWORD, verificationCode: CODE, timeZone: 'Europe/Berlin' });
    expect(call.devices.map((d) => [d.serial, d.deviceClass, d.httpPort, d.activated])).toEqual([
      [t.s.nvr, 'nvr', 80, false],
      [t.s.cam, 'camera', 8080, false],
    ]);
    expect(call.devices[1]!.ip).toBe(started.body.items.find((i) => i.serial === t.s.cam)!.ip);

    const jobId = started.body.id;
    const now = Date.now();
    await t.box.progress({ jobId, serial: t.s.nvr, step: 'activate', state: 'running', message: 'activating' }, now);
    await t.box.progress({ jobId, serial: t.s.nvr, step: 'activate', state: 'done', message: 'activated' }, now + 1);
    // A late, older report of the same step does not win over the newer one.
    await t.box.progress({ jobId, serial: t.s.nvr, step: 'activate', state: 'running', message: 'stale' }, now - 1000);
    await t.box.progress({ jobId, serial: t.s.nvr, step: 'network', state: 'done', message: 'DHCP turned on' }, now + 2);
    await t.box.progress({ jobId, serial: t.s.nvr, step: 'storage', state: 'done', message: 'disk 2 holds data: not formatted' }, now + 3);
    await t.box.progress({ jobId, serial: t.s.cam, step: 'activate', state: 'done', message: 'activated' }, now + 4);
    await t.box.progress({ jobId, serial: t.s.cam, step: 'camera', state: 'skipped', message: 'no Smart H.265+' }, now + 5);
    // Reports of devices not in the job, or of jobs that do not exist, change nothing.
    await t.box.progress({ jobId, serial: t.s.panel, step: 'activate', state: 'done', message: 'x' });
    await t.box.progress({ jobId: randomUUID(), serial: t.s.nvr, step: 'activate', state: 'failed', message: 'x' });
    await t.box.progress({ jobId: 'not-a-uuid', serial: t.s.nvr, step: 'activate', state: 'failed', message: 'x' });

    const mid = (await t.job(jobId)).body;
    const nvr = mid.items.find((i) => i.serial === t.s.nvr)!;
    expect(mid.state).toBe('running');
    expect(nvr.result).toBe('running');
    expect(nvr.steps.activate).toMatchObject({ state: 'done', message: 'activated', at: new Date(now + 1).toISOString() });
    expect(nvr.steps.network).toMatchObject({ state: 'done', message: 'DHCP turned on' });
    expect(Object.keys(nvr.steps).sort()).toEqual(['activate', 'network', 'storage']);

    await t.box.progress({ jobId, step: 'job.done' });
    const done = (await t.job(jobId)).body;
    expect(done.state).toBe('done');
    expect(done.finishedAt).not.toBeNull();
    expect(done.items.map((i) => i.result)).toEqual(['succeeded', 'succeeded']);
    // Reports after the end change nothing.
    await t.box.progress({ jobId, serial: t.s.cam, step: 'time', state: 'failed', message: 'late' });
    expect((await t.job(jobId)).body.items.every((i) => i.result === 'succeeded')).toBe(true);

    expect(live.filter((e) => e.type === 'onsite.job' && e.jobId === jobId && e.siteId === t.siteId).length).toBeGreaterThanOrEqual(7);
    unsubscribe();
    // Every report is also kept as an event of the site.
    const [stored] = await cloud.ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(deviceEvents)
      .where(eq(deviceEvents.edgeSerial, t.box.serial));
    expect(stored!.n).toBe(12);

    const list = await t.jobs();
    expect(list.body.items.map((j) => j.id)).toEqual([jobId]);
    const logs = await t.client.get<{ items: { content: string; siteId: string; target: string; detail: string }[] }>('/operation-logs');
    expect(logs.body.items.find((l) => l.content.startsWith('Activate Device'))).toMatchObject({
      content: 'Activate Device Succeeded',
      siteId: t.siteId,
      target: `${t.s.nvr}, ${t.s.cam}`,
      detail: `2 device(s) through edge box ${t.box.serial}`,
    });
  });

  it('marks a device failed when a step fails, and one never reported on as failed when the job ends', async () => {
    const t = await lanSetup();
    const started = await t.start({ serials: [t.s.nvr, t.s.cam], password: PASSWORD, verificationCode: CODE });
    const jobId = started.body.id;
    await t.box.progress({ jobId, serial: t.s.nvr, step: 'activate', state: 'done', message: 'activated' });
    await t.box.progress({ jobId, serial: t.s.nvr, step: 'firmware', state: 'failed', message: 'upgrade server unreachable' });
    expect((await t.job(jobId)).body.items.find((i) => i.serial === t.s.nvr)!.result).toBe('failed');
    await t.box.progress({ jobId, serial: t.s.cam, step: 'activate', state: 'running', message: 'activating' });
    await t.box.progress({ jobId, step: 'job.done' });
    const done = (await t.job(jobId)).body;
    expect(done.state).toBe('done');
    const cam = done.items.find((i) => i.serial === t.s.cam)!;
    expect(cam.result).toBe('failed');
    expect(cam.steps.activate).toMatchObject({ state: 'failed', message: expect.stringMatching(/no report/) as string });
    expect(done.items.find((i) => i.serial === t.s.nvr)!.result).toBe('failed');

    // A job whose device got no report at all.
    const second = await t.start({ serials: [t.s.nvr], password: PASSWORD, verificationCode: CODE });
    await t.box.progress({ jobId: second.body.id, step: 'job.done' });
    const quiet = (await t.job(second.body.id)).body;
    expect(quiet.items[0]).toMatchObject({ result: 'failed', steps: { activate: { state: 'failed' } } });
    // Newest first.
    expect((await t.jobs()).body.items.map((j) => j.id)).toEqual([second.body.id, jobId]);
  });

  it('drops and counts progress with malformed details, keeping the edge connected', async () => {
    const t = await lanSetup();
    const started = await t.start({ serials: [t.s.nvr], password: PASSWORD, verificationCode: CODE });
    const malformed = async () => {
      const text = await (await fetch(`${cloud.url}/metrics`)).text();
      return Number(/vigil_mqtt_messages_total\{kind="event",result="malformed"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await malformed();
    await t.box.progress({ jobId: started.body.id, serial: t.s.nvr, step: 'reboot', state: 'done', message: 'x' });
    await t.box.progress({ jobId: started.body.id, serial: t.s.nvr, step: 'activate', state: 'done' });
    expect((await malformed()) - before).toBe(2);
    expect(t.box.edge.connected).toBe(true);
    expect((await t.job(started.body.id)).body.items[0]!.steps).toEqual({});
  });

  it("ignores reports for a job from any edge but the job's own, whatever the company", async () => {
    const t = await lanSetup();
    const started = await t.start({ serials: [t.s.nvr], password: PASSWORD, verificationCode: CODE });
    const jobId = started.body.id;
    const sameCompany = await playedEdge(t.client, t.siteId);
    const other = await registerCompany(cloud.api);
    const foreign = await playedEdge(other.client, await newSite(other.client));
    for (const box of [sameCompany, foreign]) {
      await box.progress({ jobId, serial: t.s.nvr, step: 'activate', state: 'failed', message: 'forged' });
      await box.progress({ jobId, step: 'job.done' });
    }
    const job = (await t.job(jobId)).body;
    expect(job).toMatchObject({ state: 'running', finishedAt: null });
    expect(job.items[0]).toMatchObject({ result: 'running', steps: {} });
    expect((await other.client.get<Refusal>(`/sites/${t.siteId}/onsite/activations/${jobId}`)).body.code).toBe('SITE_NOT_FOUND');
  });

  it('lets an AC router be activated without a verification code', async () => {
    const t = await lanSetup();
    const started = await t.start({ serials: [t.s.ac], password: PASSWORD });
    expect(started.status).toBe(202);
    expect(t.box.calls[0]).toMatchObject({ verificationCode: '', devices: [{ serial: t.s.ac, deviceClass: 'ac_router' }] });
  });
});

describe('refusals, each changing nothing', () => {
  it('refuses unknown serials, alarm panels, activated devices and weak credentials, in that order', async () => {
    const t = await lanSetup();
    const expectRefused = async (body: Record<string, unknown>, status: number, code: string, mention?: string) => {
      const r = await t.start(body);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.code).toBe(code);
      if (mention) expect(r.body.message).toContain(mention);
    };
    const ok = { password: PASSWORD, verificationCode: CODE };
    await expectRefused({ serials: [t.s.nvr, 'NOPE123'], ...ok }, 404, 'LAN_DEVICE_NOT_FOUND', 'NOPE123');
    await expectRefused({ serials: [t.s.nvr, t.s.panel], ...ok }, 422, 'NOT_SADP_INITIALIZABLE', t.s.panel);
    await expectRefused({ serials: [t.s.camOn, t.s.panel], ...ok }, 422, 'NOT_SADP_INITIALIZABLE');
    await expectRefused({ serials: [t.s.nvr, t.s.camOn], ...ok }, 409, 'DEVICE_ALREADY_ACTIVATED', t.s.camOn);
    await expectRefused({ serials: [t.s.camOn], password: 'weak' }, 409, 'DEVICE_ALREADY_ACTIVATED');
    await expectRefused({ serials: [t.s.nvr], password: 'password', verificationCode: CODE }, 400, 'DEVICE_PASSWORD_POLICY');
    await expectRefused({ serials: [t.s.nvr], password: 'Install-2026-too-long', verificationCode: CODE }, 400, 'DEVICE_PASSWORD_POLICY');
    await expectRefused({ serials: [t.s.nvr], password: PASSWORD }, 400, 'VERIFICATION_CODE_POLICY');
    await expectRefused({ serials: [t.s.nvr, t.s.ac], password: PASSWORD, verificationCode: '' }, 400, 'VERIFICATION_CODE_POLICY');
    await expectRefused({ serials: [t.s.nvr], password: PASSWORD, verificationCode: 'ab' }, 400, 'VERIFICATION_CODE_POLICY');
    await expectRefused({ serials: [t.s.nvr] }, 400, 'VALIDATION_FAILED');
    await expectRefused({ serials: [t.s.nvr], useDefaults: true }, 400, 'NO_DEVICE_DEFAULTS');
    await expectRefused({ serials: [t.s.nvr], password: 'weak', useDefaults: true }, 400, 'VALIDATION_FAILED');
    // A weak password offered as the new default is not saved either.
    await expectRefused({ serials: [t.s.nvr], password: 'password', verificationCode: CODE, saveAsDefaults: true }, 400, 'DEVICE_PASSWORD_POLICY');

    expect(t.box.calls).toHaveLength(0);
    expect((await t.jobs()).body.items).toHaveLength(0);
    expect((await t.client.get<DeviceDefaults>('/me/device-defaults')).body.hasPassword).toBe(false);
    const logs = await t.client.get<{ items: { content: string }[] }>('/operation-logs');
    const activations = logs.body.items.filter((l) => l.content.startsWith('Activate Device'));
    expect(activations).toHaveLength(14);
    expect(activations.every((l) => l.content === 'Activate Device Failed')).toBe(true);
  });

  it("refuses another company's site as not found, and needs the device.manage permission", async () => {
    const t = await lanSetup();
    const other = await registerCompany(cloud.api);
    const r = await other.client.post<Refusal>(`/sites/${t.siteId}/onsite/activations`, { serials: [t.s.nvr], password: PASSWORD, verificationCode: CODE });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('SITE_NOT_FOUND');
    expect((await other.client.get<Refusal>(`/sites/${t.siteId}/onsite/activations`)).body.code).toBe('SITE_NOT_FOUND');
    expect(t.box.calls).toHaveLength(0);
    const missing = await t.client.get<Refusal>(`/sites/${t.siteId}/onsite/activations/${randomUUID()}`);
    expect(missing.status).toBe(404);
  });

  it('refuses when the edge box that sees the devices is offline', async () => {
    const t = await lanSetup();
    await t.box.edge.endAsync();
    await until(() => t.client.get<{ connected: boolean }>(`/edges/${t.box.serial}`), (r) => !r.body.connected, 'disconnected');
    const r = await t.start({ serials: [t.s.nvr], password: PASSWORD, verificationCode: CODE });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('EDGE_OFFLINE');
    expect((await t.jobs()).body.items).toHaveLength(0);
  });

  it('refuses devices split across edge boxes, and leaves no job when the edge refuses or does not answer', async () => {
    const t = await lanSetup();
    const second = await playedEdge(t.client, t.siteId);
    const far = `FAR${nonce()}`;
    await second.lan([found(far, { deviceClass: 'camera' })]);
    const split = await t.start({ serials: [t.s.nvr, far], password: PASSWORD, verificationCode: CODE });
    expect(split.status).toBe(400);
    expect(split.body.message).toContain(second.serial);
    expect(t.box.calls.length + second.calls.length).toBe(0);

    t.box.answer({ ok: false, code: 'RPC_FAILED', message: 'busy with another job' });
    const refused = await t.start({ serials: [t.s.nvr], password: PASSWORD, verificationCode: CODE, saveAsDefaults: true });
    expect(refused.status).toBe(502);
    expect(refused.body.message).toContain('busy with another job');
    t.box.answer('silent');
    const silent = await t.start({ serials: [t.s.nvr], password: PASSWORD, verificationCode: CODE });
    expect(silent.status).toBe(504);
    expect(t.box.calls).toHaveLength(2);
    expect((await t.jobs()).body.items).toHaveLength(0);
    expect(await cloud.ctx.db.select().from(activationJobs).where(eq(activationJobs.siteId, t.siteId))).toHaveLength(0);
    expect((await t.client.get<DeviceDefaults>('/me/device-defaults')).body.hasPassword).toBe(false);
  });
});

describe('default device password and verification code', () => {
  it('are saved encrypted per installer, never returned, and used with useDefaults', async () => {
    const t = await lanSetup();
    const other = await registerCompany(cloud.api);
    expect((await t.client.get<DeviceDefaults>('/me/device-defaults')).body).toEqual({ hasPassword: false, verificationCode: null, updatedAt: null });

    const put = (body: unknown, c = t.client) => c.call<DeviceDefaults & Refusal>('PUT', '/me/device-defaults', body);
    expect((await put({ password: 'password', verificationCode: CODE })).body.code).toBe('DEVICE_PASSWORD_POLICY');
    expect((await put({ password: PASSWORD, verificationCode: 'a-b' })).body.code).toBe('VERIFICATION_CODE_POLICY');
    expect((await put({ password: PASSWORD })).status).toBe(400);
    const saved = await put({ password: PASSWORD, verificationCode: CODE });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ hasPassword: true, verificationCode: CODE });
    expect(JSON.stringify(saved.body)).not.toContain(PASSWORD);
    const got = await t.client.get<DeviceDefaults>('/me/device-defaults');
    expect(got.body).toEqual(saved.body);
    expect(JSON.stringify(got.body)).not.toContain(PASSWORD);
    // Another installer has their own (none).
    expect((await other.client.get<DeviceDefaults>('/me/device-defaults')).body.hasPassword).toBe(false);

    // At rest: sealed, not in clear.
    const rows = await cloud.ctx.db.select().from(deviceDefaults);
    const text = JSON.stringify(rows);
    expect(text).toContain('v1.');
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(CODE);
    expect(text).not.toContain(Buffer.from(PASSWORD).toString('base64').slice(0, 12));

    const logs = await t.client.get<{ items: { content: string }[] }>('/operation-logs');
    const edits = logs.body.items.filter((l) => l.content.startsWith('Edit Default Device Password'));
    expect(edits.map((l) => l.content.replace('Edit Default Device Password ', '')).sort()).toEqual(['Failed', 'Failed', 'Failed', 'Succeeded']);
    expect(JSON.stringify(logs.body)).not.toContain(PASSWORD);

    const started = await t.start({ serials: [t.s.nvr], useDefaults: true });
    expect(started.status).toBe(202);
    expect(t.box.calls.at(-1)).toMatchObject({ password: PASSWORD, verificationCode: CODE });

    // An empty default code is allowed and reads back as none; an AC router can then use the defaults.
    expect((await put({ password: 'Other-2027', verificationCode: '' })).body).toMatchObject({ hasPassword: true, verificationCode: null });
    expect((await t.start({ serials: [t.s.nvr], useDefaults: true })).body.code).toBe('VERIFICATION_CODE_POLICY');
    expect((await t.start({ serials: [t.s.ac], useDefaults: true })).status).toBe(202);
    expect(t.box.calls.at(-1)).toMatchObject({ password: 'Other-2027', verificationCode: '' });
  });

  it('are replaced by the ones of an activation that asks to save them, once the edge took the job', async () => {
    const t = await lanSetup();
    const started = await t.start({ serials: [t.s.nvr], password: PASSWORD, verificationCode: CODE, saveAsDefaults: true });
    expect(started.status).toBe(202);
    expect((await t.client.get<DeviceDefaults>('/me/device-defaults')).body).toMatchObject({ hasPassword: true, verificationCode: CODE });
    await t.start({ serials: [t.s.cam], useDefaults: true });
    expect(t.box.calls.at(-1)).toMatchObject({ password: PASSWORD, verificationCode: CODE, devices: [{ serial: t.s.cam }] });
  });
});

import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeEnvelope,
  envelope,
  mqttIdentity,
  RpcMethod,
  topics,
  type ClipsBandwidthTestResult,
  type ClipsConfigureParams,
  type ClipsStatusResult,
  type DiscoveredDevice,
} from '@vigil/protocol';
import type { AddLanDevicesResult, BandwidthTest, CloudStorageChannel, DeviceCloudStorage, Package, StorageUsage } from '@vigil/protocol/api';
import { ConfigError, loadConfig } from '../config.js';
import { clips, cloudStorageChannels, devices } from '../db/schema.js';
import type { ApiClient} from '../testing/cloud.js';
import { authenticateCompany, registerCompany, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { answerCommands, EdgePlayers, nonce, publish, until } from '../testing/edge.js';
import { grantPackage } from './packages.js';

const WAIT = 20_000;
const UPLOAD_LIMIT_KBPS = 2048;

let cloud: TestCloud;
let players: EdgePlayers;

beforeAll(async () => {
  cloud = await startTestCloud({ VIGIL_CLIP_UPLOAD_LIMIT_KBPS: String(UPLOAD_LIMIT_KBPS) });
  players = new EdgePlayers(cloud.mqttUrl);
}, 60_000);
afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

type Refusal = { code: string; message: string };
let ipSeq = 10;
const found = (serial: string, over: Partial<DiscoveredDevice> = {}): DiscoveredDevice => ({
  serial, deviceClass: 'camera', model: 'DS-2CD2143G2-I', firmware: 'V5.7.0', mac: '44:19:b6:00:00:01',
  network: { dhcp: false, ipv4: `10.0.0.${++ipSeq}`, mask: '255.255.255.0', gateway: '10.0.0.1', dns: '10.0.0.1' },
  httpPort: 80, activated: true, channels: 1, pingMs: 12, via: 'sadp', lastSeenAt: Date.now(), ...over,
});

/** The box's side: every `clips.configure` it was sent (latest last), its channel states, and its bandwidth test answer. */
interface Box {
  serial: string;
  edge: MqttClient;
  password: string;
  pushes: ClipsConfigureParams[];
  bandwidth: { params: unknown[]; answer: ClipsBandwidthTestResult | null };
  states: ClipsStatusResult['channels'];
}

async function answeringBox(box: { serial: string; edge: MqttClient; password: string }, into?: Box): Promise<Box> {
  const b: Box = into ?? { ...box, pushes: [], bandwidth: { params: [], answer: null }, states: [] };
  b.edge = box.edge;
  await answerCommands<ClipsConfigureParams>(box.edge, box.serial, RpcMethod.clipsConfigure, (params) => {
    b.pushes.push(params);
    return { ok: true, result: { channels: params.channels.length } };
  });
  await answerCommands(box.edge, box.serial, RpcMethod.clipsStatus, () => ({
    ok: true,
    result: { channels: b.states, queue: { clips: 0, bytes: 0, oldestEventAt: null, dropped: 0, quotaBytes: 1 << 30 } },
  }));
  await answerCommands(box.edge, box.serial, RpcMethod.clipsBandwidthTest, (params) => {
    b.bandwidth.params.push(params);
    return b.bandwidth.answer === null ? null : { ok: true, result: b.bandwidth.answer };
  });
  return b;
}

/**
 * A company with a site (Europe/London) whose played edge box sees a camera, a solar camera, an NVR with 4
 * channels and a switch, all added to the site, and the box answering the clip RPCs.
 */
async function setup() {
  const company = await registerCompany(cloud.api);
  // Cloud storage is a value-added service: bought by authenticated companies only.
  await authenticateCompany(cloud, company.companyId);
  const site = await company.client.post<{ id: string }>('/sites', { name: `Site ${nonce()}`, type: 'personal', timeZone: 'Europe/London', offlineDelaySec: 1 });
  expect(site.status).toBe(201);
  const siteId = site.body.id;
  const claimed = await players.claimed(company.client, siteId);
  const box = await answeringBox(claimed);
  const s = { cam: `CAM${nonce()}`, solar: `SOL${nonce()}`, nvr: `NVR${nonce()}`, sw: `SW${nonce()}` };
  const lan = [
    found(s.cam),
    found(s.solar, { model: 'DS-2XS6A25G0-I/CH20S40' }),
    found(s.nvr, { deviceClass: 'nvr', model: 'DS-7604NI-K1', httpPort: 8080, channels: 4 }),
    found(s.sw, { deviceClass: 'switch', model: 'DS-3E0510P-E', channels: 0 }),
  ];
  await publish(box.edge, topics.lan(box.serial), encodeEnvelope(envelope('lan', { at: Date.now(), devices: lan })));
  await until(() => company.client.get<{ items: unknown[] }>(`/sites/${siteId}/lan`), (r) => r.body.items.length === 4, 'LAN snapshot');
  const added = await company.client.post<AddLanDevicesResult>(`/sites/${siteId}/onsite/add`, { serials: Object.values(s) });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  const id = (serial: string) => added.body.devices.find((d) => d.serial === serial)!.id;
  return { ...company, siteId, box, s, lan, ids: { cam: id(s.cam), solar: id(s.solar), nvr: id(s.nvr), sw: id(s.sw) } };
}

/** An employee of the company with the given permissions. */
const employee = (companyId: string, permissions: string[]) => signInEmployee(cloud, companyId, permissions);

const settings = (over: Record<string, unknown> = {}) => ({
  enabled: true,
  stream: 'sub',
  triggers: { motion: { enabled: true, notifySurveillanceCenter: true } },
  schedule: null,
  preSeconds: 5,
  postSeconds: 10,
  ...over,
});
const put = (client: ApiClient, deviceId: string, channel: number, body: unknown) =>
  client.call<CloudStorageChannel & Refusal>('PUT', `/devices/${deviceId}/cloud-storage/channels/${channel}`, body);
const activate = (client: ApiClient, deviceId: string, channel: number, packageId: string) =>
  client.post<CloudStorageChannel & Refusal>(`/devices/${deviceId}/cloud-storage/channels/${channel}/activate`, { packageId });
const view = (client: ApiClient, deviceId: string) => client.get<DeviceCloudStorage & Refusal>(`/devices/${deviceId}/cloud-storage`);
const packages = async (client: ApiClient) => (await client.get<{ items: Package[] }>('/cloud-storage/packages')).body.items;
const oplog = async (client: ApiClient) => (await client.get<{ items: { content: string }[] }>('/operation-logs')).body.items.map((l) => l.content);
const DAY_MS = 86_400_000;

type Site = Awaited<ReturnType<typeof setup>>;
let site: Site;
let other: Site;
beforeAll(async () => {
  site = await setup();
  other = await setup();
}, 60_000);

describe('packages', () => {
  it('records an order as bought and usable, for the Installer Admin only', async () => {
    expect(await packages(site.client)).toEqual([]);
    const ordered = await site.client.post<Package>('/cloud-storage/packages', { retentionDays: 30, term: 'annual', mode: 'event', channels: 8 });
    expect(ordered.status, JSON.stringify(ordered.body)).toBe(201);
    expect(ordered.body).toMatchObject({ retentionDays: 30, term: 'annual', mode: 'event', origin: 'purchased', channels: 8, used: 0 });
    expect(await packages(site.client)).toEqual([ordered.body]);
    expect(await oplog(site.client)).toContain('Purchase Cloud Storage Package Succeeded');

    const viewer = await employee(site.companyId, ['site.manage_all', 'device.configure']);
    expect((await packages(viewer)).map((p) => p.id)).toEqual([ordered.body.id]);
    const refused = await viewer.post<Refusal>('/cloud-storage/packages', { retentionDays: 30, term: 'annual', mode: 'event', channels: 1 });
    expect(refused.status).toBe(403);
    expect(await packages(site.client)).toHaveLength(1);
    expect(await packages(other.client)).toEqual([]);
  });

  it('refuses an order outside the offer and changes nothing', async () => {
    for (const bad of [
      { retentionDays: 14, term: 'annual', mode: 'event', channels: 1 },
      { retentionDays: 7, term: 'weekly', mode: 'event', channels: 1 },
      { retentionDays: 7, term: 'annual', mode: 'event', channels: 0 },
      { retentionDays: 7, term: 'annual', mode: 'event', channels: 1, price: 0 },
    ]) {
      const res = await other.client.post<Refusal>('/cloud-storage/packages', bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect(await packages(other.client)).toEqual([]);
  });

  it('grants packages, checked like orders', async () => {
    const granted = await grantPackage(cloud.ctx.db, other.companyId, { retentionDays: 7, term: 'monthly', mode: 'continuous', channels: 2 });
    expect(granted).toMatchObject({ origin: 'granted', mode: 'continuous', channels: 2, used: 0 });
    expect((await packages(other.client)).map((p) => p.id)).toEqual([granted.id]);
    await expect(grantPackage(cloud.ctx.db, other.companyId, { retentionDays: 8 as 7, term: 'monthly', mode: 'event', channels: 2 })).rejects.toThrow(/retentionDays/);
    expect(await packages(other.client)).toHaveLength(1);
  });
});

describe('channel settings', () => {
  it('shows defaults for a camera and every channel of an NVR', async () => {
    const cam = await view(site.client, site.ids.cam);
    expect(cam.status, JSON.stringify(cam.body)).toBe(200);
    expect(cam.body).toMatchObject({ deviceId: site.ids.cam, edgeSerial: site.box.serial, needsLogin: false, loginSet: false, lastBandwidthTest: null });
    expect(cam.body.channels).toEqual([
      {
        deviceId: site.ids.cam,
        channel: 1,
        label: expect.any(String),
        settings: {
          enabled: false,
          stream: 'sub',
          triggers: { motion: { enabled: true, notifySurveillanceCenter: true }, intrusion: { enabled: false, notifySurveillanceCenter: false }, lineCrossing: { enabled: false, notifySurveillanceCenter: false } },
          schedule: null,
          preSeconds: 5,
          postSeconds: 10,
        },
        supportedTriggers: ['motion', 'intrusion', 'lineCrossing'],
        service: { state: 'inactive', packageId: null, retentionDays: null, activatedAt: null, expiresAt: null },
        recording: false,
        // The box answered, and records nothing for it.
        boxState: 'idle',
      },
    ]);
    const nvr = await view(site.client, site.ids.nvr);
    expect(nvr.body.needsLogin).toBe(true);
    expect(nvr.body.channels.map((c) => c.channel)).toEqual([1, 2, 3, 4]);
    expect(nvr.body.channels[2]!.label).toMatch(/— channel 3$/);
    expect((await view(site.client, site.ids.solar)).body.channels[0]!.supportedTriggers).toEqual(['motion']);
  });

  it('saves settings, and a solar camera takes motion only', async () => {
    const saved = await put(site.client, site.ids.solar, 1, settings({ stream: 'main', schedule: { periods: [{ days: [1, 2, 3, 4, 5], start: 1080, end: 1440 }] }, preSeconds: 3, postSeconds: 20 }));
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body.settings).toMatchObject({ enabled: true, stream: 'main', schedule: { periods: [{ days: [1, 2, 3, 4, 5], start: 1080, end: 1440 }] }, preSeconds: 3, postSeconds: 20 });
    // Switched on but not activated: nothing is recorded yet.
    expect(saved.body.recording).toBe(false);

    const intrusion = await put(site.client, site.ids.solar, 1, settings({ triggers: { motion: { enabled: true, notifySurveillanceCenter: true }, intrusion: { enabled: true, notifySurveillanceCenter: true } } }));
    expect(intrusion.status).toBe(422);
    expect(intrusion.body.code).toBe('CLOUD_STORAGE_TRIGGER_UNSUPPORTED');
    // Off, the trigger may be sent.
    const offTrigger = settings({ stream: 'main', triggers: { motion: { enabled: true, notifySurveillanceCenter: true }, lineCrossing: { enabled: false, notifySurveillanceCenter: true } } });
    expect((await put(site.client, site.ids.solar, 1, offTrigger)).status).toBe(200);
    expect((await view(site.client, site.ids.solar)).body.channels[0]!.settings.triggers.lineCrossing).toEqual({ enabled: false, notifySurveillanceCenter: true });
    expect(await oplog(site.client)).toContain('Configure Cloud Storage Succeeded');
  });

  it('refuses bad settings and changes nothing', async () => {
    const before = (await view(site.client, site.ids.cam)).body.channels[0];
    const cases: [unknown, number][] = [
      [settings({ preSeconds: 31 }), 400],
      [settings({ postSeconds: 0 }), 400],
      [settings({ preSeconds: 30, postSeconds: 40 }), 400],
      [settings({ stream: 'third' }), 400],
      [settings({ schedule: { periods: [{ days: [1], start: 600, end: 600 }] } }), 400],
      [settings({ schedule: { timeZone: 'UTC', periods: [] } }), 400],
      [settings({ triggers: { motion: { enabled: true } } }), 400],
    ];
    for (const [body, status] of cases) {
      const res = await put(site.client, site.ids.cam, 1, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
    }
    expect((await view(site.client, site.ids.cam)).body.channels[0]).toEqual(before);
  });

  it('finds no channel out of range, and no device of another company', async () => {
    const camera2 = await put(site.client, site.ids.cam, 2, settings());
    expect(camera2.status).toBe(404);
    const nvr5 = await put(site.client, site.ids.nvr, 5, settings({ enabled: false }));
    expect(nvr5.status).toBe(404);
    const foreign = await put(other.client, site.ids.cam, 1, settings());
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('DEVICE_NOT_FOUND');
    expect((await view(other.client, site.ids.cam)).status).toBe(404);
  });

  it('is for video devices reached through an edge box only', async () => {
    const sw = await view(site.client, site.ids.sw);
    expect(sw.status).toBe(409);
    expect(sw.body.code).toBe('CLOUD_STORAGE_DEVICE_UNSUPPORTED');
    const [direct] = await cloud.ctx.db
      .insert(devices)
      .values({
        companyId: site.companyId, siteId: site.siteId, edgeSerial: null, deviceKey: `IPD${nonce()}`, kind: 'camera', protocol: 'isapi', manufacturer: 'Hikvision',
        model: 'DS-2CD2143G2-I', serial: `IPD${nonce()}`, firmware: 'V5', name: 'By address', host: '203.0.113.5', port: 80, accessMode: 'ip_domain', channels: 1,
        reportedOnline: true, reportedAt: new Date(), status: 'online',
      })
      .returning();
    const byAddress = await put(site.client, direct!.id, 1, settings());
    expect(byAddress.status).toBe(409);
    expect(byAddress.body.code).toBe('CLOUD_STORAGE_DEVICE_UNSUPPORTED');
  });

  it('needs device.configure to change anything', async () => {
    const viewer = await employee(site.companyId, ['site.manage_all']);
    expect((await view(viewer, site.ids.cam)).status).toBe(200);
    const refused = await put(viewer, site.ids.cam, 1, settings());
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('PERMISSION_DENIED');
    expect((await viewer.call('PUT', `/devices/${site.ids.nvr}/cloud-storage/login`, { username: 'admin', password: 'x' })).status).toBe(403);
    expect((await viewer.post(`/devices/${site.ids.cam}/cloud-storage/bandwidth-test`)).status).toBe(403);
    expect((await view(site.client, site.ids.cam)).body.channels[0]!.settings.enabled).toBe(false);
  });

  it('switches an NVR channel on only once the login for the box is set, which is never shown', async () => {
    const missing = await put(site.client, site.ids.nvr, 2, settings());
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe('CLOUD_STORAGE_LOGIN_MISSING');
    const camera = await site.client.call<Refusal>('PUT', `/devices/${site.ids.cam}/cloud-storage/login`, { username: 'admin', password: 'Nvr-pass1' });
    expect(camera.status).toBe(409);
    const login = await site.client.call('PUT', `/devices/${site.ids.nvr}/cloud-storage/login`, { username: 'cloud', password: 'Nvr-pass1' });
    expect(login.status).toBe(204);
    const shown = await view(site.client, site.ids.nvr);
    expect(shown.body.loginSet).toBe(true);
    expect(JSON.stringify(shown.body)).not.toContain('Nvr-pass1');
    expect((await put(site.client, site.ids.nvr, 2, settings())).status).toBe(200);
  });
});

describe('activation', () => {
  let pkg: Package;
  beforeAll(async () => {
    pkg = await grantPackage(cloud.ctx.db, site.companyId, { retentionDays: 7, term: 'monthly', mode: 'event', channels: 2 });
  });

  it('consumes a channel of the package for a calendar term, once', async () => {
    const done = await activate(site.client, site.ids.cam, 1, pkg.id);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const service = done.body.service;
    expect(service).toMatchObject({ state: 'active', packageId: pkg.id, retentionDays: 7 });
    const term = Date.parse(service.expiresAt!) - Date.parse(service.activatedAt!);
    expect(term).toBeGreaterThanOrEqual(28 * DAY_MS);
    expect(term).toBeLessThanOrEqual(31 * DAY_MS);
    expect(new Date(service.expiresAt!).getUTCMonth()).toBe((new Date(service.activatedAt!).getUTCMonth() + 1) % 12);
    // Off until switched on: active but not recording.
    expect(done.body.recording).toBe(false);
    expect((await packages(site.client)).find((p) => p.id === pkg.id)!.used).toBe(1);
    expect(await oplog(site.client)).toContain('Activate Cloud Storage Service Succeeded');

    const again = await activate(site.client, site.ids.cam, 1, pkg.id);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CLOUD_STORAGE_ALREADY_ACTIVE');
    expect((await packages(site.client)).find((p) => p.id === pkg.id)!.used).toBe(1);
  });

  it('refuses a 24/7 package, an unknown one and another company’s, changing nothing', async () => {
    const continuous = await grantPackage(cloud.ctx.db, site.companyId, { retentionDays: 30, term: 'annual', mode: 'continuous', channels: 4 });
    const refused = await activate(site.client, site.ids.nvr, 1, continuous.id);
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('CLOUD_STORAGE_MODE_UNSUPPORTED');
    const foreign = await grantPackage(cloud.ctx.db, other.companyId, { retentionDays: 30, term: 'annual', mode: 'event', channels: 4 });
    for (const id of [randomUUID(), foreign.id]) {
      const res = await activate(site.client, site.ids.nvr, 1, id);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('CLOUD_STORAGE_NO_PACKAGE_LEFT');
    }
    expect((await view(site.client, site.ids.nvr)).body.channels[0]!.service.state).toBe('inactive');
    expect((await packages(other.client)).find((p) => p.id === foreign.id)!.used).toBe(0);
  });

  it('gives the last channel of a package to one of two activations at once', async () => {
    const last = await grantPackage(cloud.ctx.db, site.companyId, { retentionDays: 90, term: 'annual', mode: 'event', channels: 1 });
    const [a, b] = await Promise.all([activate(site.client, site.ids.nvr, 3, last.id), activate(site.client, site.ids.nvr, 4, last.id)]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect((a.status === 409 ? a : b).body.code).toBe('CLOUD_STORAGE_NO_PACKAGE_LEFT');
    const winner = a.status === 200 ? a : b;
    const term = Date.parse(winner.body.service.expiresAt!) - Date.parse(winner.body.service.activatedAt!);
    expect(term).toBeGreaterThanOrEqual(365 * DAY_MS);
    expect(term).toBeLessThanOrEqual(366 * DAY_MS);
    const states = (await view(site.client, site.ids.nvr)).body.channels.map((c) => c.service.state);
    expect(states.filter((s) => s === 'active')).toHaveLength(1);
    expect((await packages(site.client)).find((p) => p.id === last.id)!.used).toBe(1);
  });

  it('refuses when the package has no channel left, and takes an expired channel back', async () => {
    expect((await activate(site.client, site.ids.nvr, 2, pkg.id)).status).toBe(200);
    const full = await activate(site.client, site.ids.solar, 1, pkg.id);
    expect(full.status).toBe(409);
    expect(full.body.code).toBe('CLOUD_STORAGE_NO_PACKAGE_LEFT');
    expect((await view(site.client, site.ids.solar)).body.channels[0]!.service.state).toBe('inactive');

    // The NVR channel's month ends: its place in the package is free again, and it may be activated again.
    await cloud.ctx.db
      .update(cloudStorageChannels)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(and(eq(cloudStorageChannels.deviceId, site.ids.nvr), eq(cloudStorageChannels.channel, 2)));
    expect((await view(site.client, site.ids.nvr)).body.channels[1]!.service.state).toBe('expired');
    expect((await packages(site.client)).find((p) => p.id === pkg.id)!.used).toBe(1);
    const renewed = await activate(site.client, site.ids.nvr, 2, pkg.id);
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(200);
    expect(renewed.body.service.state).toBe('active');
    expect((await packages(site.client)).find((p) => p.id === pkg.id)!.used).toBe(2);
  });
});

describe('pushing the recording channels to the box', () => {
  const lastPush = () => site.box.pushes.at(-1);
  const nextPush = (seen: number, ok: (p: ClipsConfigureParams) => boolean, what: string) =>
    until(async () => site.box.pushes.slice(seen), (pushed) => pushed.some(ok), what, WAIT).then(() => lastPush()!);
  const keys = (p: ClipsConfigureParams) => p.channels.map((c) => c.channelKey);

  it('sends exactly the channels that record, each with its source and triggers', async () => {
    // State so far: the camera is active but off, NVR channel 2 on and active, the solar camera on but not active.
    let seen = site.box.pushes.length;
    const camSettings = settings({
      stream: 'main',
      triggers: { motion: { enabled: true, notifySurveillanceCenter: true }, intrusion: { enabled: true, notifySurveillanceCenter: true }, lineCrossing: { enabled: true, notifySurveillanceCenter: false } },
      schedule: { periods: [{ days: [6, 7], start: 0, end: 1440 }] },
      preSeconds: 8,
      postSeconds: 12,
    });
    expect((await put(site.client, site.ids.cam, 1, camSettings)).body.recording).toBe(true);
    const pushed = await nextPush(seen, (p) => p.channels.length === 2, 'the camera and the NVR channel');
    const cam = (await view(site.client, site.ids.cam)).body.channels[0]!;
    const nvr = (await view(site.client, site.ids.nvr)).body.channels[1]!;
    const nvrLan = site.lan.find((d) => d.serial === site.s.nvr)!;
    expect(pushed).toEqual({
      uploadUrl: `${cloud.url}/api/v1/edge/clips`,
      uploadLimitKbps: UPLOAD_LIMIT_KBPS,
      channels: [
        {
          channelKey: `${site.ids.cam}:1`,
          source: { kind: 'camera', deviceKey: site.s.cam },
          stream: 'main',
          triggers: ['motion', 'intrusion'],
          schedule: { timeZone: 'Europe/London', periods: [{ days: [6, 7], start: 0, end: 1440 }] },
          preSeconds: 8,
          postSeconds: 12,
          activeUntil: Date.parse(cam.service.expiresAt!),
        },
        {
          channelKey: `${site.ids.nvr}:2`,
          source: { kind: 'recorder', recorder: { serial: site.s.nvr, ip: nvrLan.network.ipv4, httpPort: 8080, username: 'cloud', password: 'Nvr-pass1' }, channel: 2 },
          stream: 'sub',
          triggers: ['motion'],
          schedule: null,
          preSeconds: 5,
          postSeconds: 10,
          activeUntil: Date.parse(nvr.service.expiresAt!),
        },
      ].sort((a, b) => a.channelKey.localeCompare(b.channelKey)),
    });

    // Without "Notify Surveillance Center" the NVR channel records nothing and leaves the box's list.
    seen = site.box.pushes.length;
    const quiet = await put(site.client, site.ids.nvr, 2, settings({ triggers: { motion: { enabled: true, notifySurveillanceCenter: false } } }));
    expect(quiet.body.recording).toBe(false);
    expect(keys(await nextPush(seen, (p) => p.channels.length === 1, 'the NVR channel gone'))).toEqual([`${site.ids.cam}:1`]);

    // A new login reaches the box.
    seen = site.box.pushes.length;
    expect((await put(site.client, site.ids.nvr, 2, settings())).status).toBe(200);
    await nextPush(seen, (p) => p.channels.length === 2, 'the NVR channel back');
    seen = site.box.pushes.length;
    expect((await site.client.call('PUT', `/devices/${site.ids.nvr}/cloud-storage/login`, { username: 'cloud', password: 'Nvr-pass2' })).status).toBe(204);
    const relogged = await nextPush(seen, (p) => p.channels.some((c) => c.source.kind === 'recorder' && c.source.recorder.password === 'Nvr-pass2'), 'the new login');
    expect(relogged.channels).toHaveLength(2);
  });

  it('shows what the box says of each channel', async () => {
    site.box.states = [{ channelKey: `${site.ids.cam}:1`, state: 'buffering', eventsSubscribed: true, lastEventAt: null, lastClipAt: null }];
    expect((await view(site.client, site.ids.cam)).body.channels[0]!.boxState).toBe('buffering');
  });

  it('stops a channel at its expiry with no other change', async () => {
    const expiresAt = new Date(Date.now() + 3000);
    await cloud.ctx.db
      .update(cloudStorageChannels)
      .set({ expiresAt })
      .where(and(eq(cloudStorageChannels.deviceId, site.ids.cam), eq(cloudStorageChannels.channel, 1)));
    let seen = site.box.pushes.length;
    // Any change pushes the channel with its new end (and schedules the push at its end).
    await site.client.call('PUT', `/devices/${site.ids.nvr}/cloud-storage/login`, { username: 'cloud', password: 'Nvr-pass2' });
    const before = await nextPush(seen, (p) => p.channels.some((c) => c.activeUntil === expiresAt.getTime()), 'the camera with its new end');
    expect(keys(before)).toContain(`${site.ids.cam}:1`);
    seen = site.box.pushes.length;
    const after = await nextPush(seen, (p) => !keys(p).includes(`${site.ids.cam}:1`), 'the camera gone at its expiry');
    expect(keys(after)).toEqual([`${site.ids.nvr}:2`]);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime());
  });

  it('pushes when the box connects again', async () => {
    await site.box.edge.endAsync();
    const seen = site.box.pushes.length;
    const edge = players.connect({ username: mqttIdentity.edgeUsername(site.box.serial), password: site.box.password, clientId: mqttIdentity.edgeClientId(site.box.serial) });
    await new Promise((resolve) => edge.once('connect', resolve));
    await answeringBox({ serial: site.box.serial, edge, password: site.box.password }, site.box);
    const pushed = await nextPush(seen, () => true, 'a push on connect');
    expect(keys(pushed)).toEqual([`${site.ids.nvr}:2`]);
  });
});

describe('the upload limit setting', () => {
  it('is none by default, and refuses what a box cannot take', () => {
    expect(loadConfig({}).clipUploadLimitKbps).toBeNull();
    expect(loadConfig({ VIGIL_CLIP_UPLOAD_LIMIT_KBPS: '4096' }).clipUploadLimitKbps).toBe(4096);
    for (const bad of ['32', '1.5', 'fast']) {
      expect(() => loadConfig({ VIGIL_CLIP_UPLOAD_LIMIT_KBPS: bad })).toThrow(ConfigError);
    }
  });
});

describe('uplink bandwidth test', () => {
  it('runs on the box that reaches the device and recommends channels per stream', async () => {
    site.box.bandwidth.answer = { ok: true, uploadKbps: 10_000, bytes: 6_250_000, ms: 5000 };
    const res = await site.client.post<BandwidthTest & Refusal>(`/devices/${site.ids.cam}/cloud-storage/bandwidth-test`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ uploadKbps: 10_000, recommendedChannels: { main: 1, sub: 15 }, recommendedStream: 'main' });
    expect(site.box.bandwidth.params.at(-1)).toEqual({ uploadUrl: `${cloud.url}/api/v1/edge/clips`, seconds: 5 });
    // The box's uplink is every device's behind it.
    expect((await view(site.client, site.ids.nvr)).body.lastBandwidthTest).toEqual(res.body);
    expect(await oplog(site.client)).toContain('Uplink Bandwidth Test Succeeded');

    site.box.bandwidth.answer = { ok: true, uploadKbps: 3000, bytes: 1_875_000, ms: 5000 };
    const slow = await site.client.post<BandwidthTest>(`/devices/${site.ids.sw}/cloud-storage/bandwidth-test`);
    expect(slow.status).toBe(200);
    expect(slow.body).toMatchObject({ recommendedChannels: { main: 0, sub: 4 }, recommendedStream: 'sub' });
    expect((await view(site.client, site.ids.cam)).body.lastBandwidthTest).toEqual(slow.body);
  });

  it('reports a test the box could not finish, and an offline box', async () => {
    site.box.bandwidth.answer = { ok: false, message: 'connection reset by the cloud' };
    const failed = await site.client.post<Refusal>(`/devices/${site.ids.cam}/cloud-storage/bandwidth-test`);
    expect(failed.status).toBe(502);
    expect(failed.body.code).toBe('BANDWIDTH_TEST_FAILED');
    expect(failed.body.message).toContain('connection reset by the cloud');
    expect((await view(site.client, site.ids.cam)).body.lastBandwidthTest?.uploadKbps).toBe(3000);

    await other.box.edge.endAsync();
    await until(async () => cloud.ctx.tunnel.isConnected(other.box.serial), (c) => !c, 'the other box gone');
    const offline = await other.client.post<Refusal>(`/devices/${other.ids.cam}/cloud-storage/bandwidth-test`);
    expect(offline.status).toBe(409);
    expect(offline.body.code).toBe('EDGE_OFFLINE');
  });
});

describe('storage used', () => {
  it('sums the complete clips of the site per channel', async () => {
    const clip = (deviceId: string, channel: number, videoBytes: number, complete: boolean) => ({
      id: randomUUID(), edgeSerial: site.box.serial, companyId: site.companyId, siteId: site.siteId, deviceId, channel, eventTypes: ['motion'],
      events: [{ type: 'motion', at: Date.now() }], eventAt: new Date(), startAt: new Date(), endAt: new Date(), durationSeconds: 15, partial: false,
      videoBytes, videoSha256: '0'.repeat(64), videoOffset: complete ? videoBytes : 0, thumbnailBytes: 1000, thumbnailSha256: '0'.repeat(64),
      thumbnailOffset: complete ? 1000 : 0, complete, retentionDays: 7, expiresAt: new Date(Date.now() + 7 * DAY_MS),
    });
    await cloud.ctx.db.insert(clips).values([
      clip(site.ids.cam, 1, 100_000, true),
      clip(site.ids.cam, 1, 200_000, true),
      clip(site.ids.nvr, 2, 50_000, true),
      clip(site.ids.nvr, 2, 9_999_999, false),
    ]);
    const usage = await site.client.get<StorageUsage>(`/sites/${site.siteId}/cloud-storage/usage`);
    expect(usage.status).toBe(200);
    expect(usage.body.bytes).toBe(100_000 + 200_000 + 50_000 + 3 * 1000);
    expect(usage.body.clips).toBe(3);
    expect(usage.body.channels).toHaveLength(2);
    expect(usage.body.channels).toEqual(
      expect.arrayContaining([
        { deviceId: site.ids.cam, channel: 1, label: expect.any(String), bytes: 302_000, clips: 2 },
        { deviceId: site.ids.nvr, channel: 2, label: expect.stringMatching(/— channel 2$/), bytes: 51_000, clips: 1 },
      ]),
    );
    expect((await other.client.get<Refusal>(`/sites/${site.siteId}/cloud-storage/usage`)).status).toBe(404);
    expect((await other.client.get<StorageUsage>(`/sites/${other.siteId}/cloud-storage/usage`)).body).toEqual({ bytes: 0, clips: 0, channels: [] });
  });
});

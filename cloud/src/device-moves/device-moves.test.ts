import { randomBytes } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device, DeviceMove, DeviceMovesReply, ErrorReply, MovableDevice, Site } from '@vigil/protocol/api';
import {
  arcPanels,
  cloudStorageChannels,
  cloudStorageDevices,
  deviceMoves,
  devicePermissions,
  devices,
  mailOutbox,
  notifications,
  sharedDevices,
  sharingRecipients,
  sharings,
  sites,
} from '../db/schema.js';
import { EdgePlayers } from '../testing/edge.js';
import type { ApiClient} from '../testing/cloud.js';
import { newSite, registerCompany, signInCustomer, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { detachDevices } from './detach.js';
import { insertDevice } from '../testing/handover.js';

let cloud: TestCloud;
let players: EdgePlayers;
let company: Awaited<ReturnType<typeof registerCompany>>;
let other: Awaited<ReturnType<typeof registerCompany>>;
let owner: Awaited<ReturnType<typeof signInCustomer>>;
let stranger: Awaited<ReturnType<typeof signInCustomer>>;

beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  company = await registerCompany(cloud.api, 'Moving Security');
  other = await registerCompany(cloud.api, 'Other Security');
  owner = await signInCustomer(cloud, { name: 'Site Owner' });
  stranger = await signInCustomer(cloud, { name: 'Someone Else' });
}, 60_000);
afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

type Reply<T> = T & ErrorReply;

/** A site of the company, handed over to `ownerId` (AuthorizedAndMonitoring) when given. */
async function site(fields: { ownerId?: string; status?: string; type?: string } = {}) {
  const id = await newSite(company.client, fields.type ? { type: fields.type } : {});
  if (fields.ownerId || fields.status) {
    await cloud.ctx.db
      .update(sites)
      .set({ ownerAccountId: fields.ownerId ?? null, status: fields.status ?? 'AuthorizedAndMonitoring' })
      .where(eq(sites.id, id));
  }
  return id;
}

/** A device row on a site, as the adding methods leave it (an IP/domain one has an address). */
const deviceOn = (siteId: string, accessMode: 'p2p' | 'ip_domain' = 'p2p', fields: Partial<typeof devices.$inferInsert> = {}) =>
  insertDevice(cloud, company.companyId, siteId, { accessMode, channels: 1, ...(accessMode === 'ip_domain' ? { host: 'cam.example.test', port: 80 } : {}), ...fields });

const move = (client: ApiClient, from: string, deviceIds: string[], target: unknown) =>
  client.post<Reply<DeviceMove>>(`/sites/${from}/device-moves`, { deviceIds, target });
const siteOf = async (deviceId: string) => (await cloud.ctx.db.select({ s: devices.siteId }).from(devices).where(eq(devices.id, deviceId)))[0]!.s;
const moveRows = (siteId: string) => cloud.ctx.db.select().from(deviceMoves).where(eq(deviceMoves.sourceSiteId, siteId));

/** Every kind of configuration a device can hold, written as the features leave it. */
async function configure(deviceId: string, siteId: string) {
  const db = cloud.ctx.db;
  await db.insert(arcPanels).values({ deviceId, arcCompanyId: other.companyId, state: 'accepted', accountNumber: '1234', eventTypes: ['alarm'] });
  await db.insert(cloudStorageDevices).values({ deviceId, bandwidthTest: { uploadKbps: 4000 } });
  await db.insert(cloudStorageChannels).values({
    deviceId,
    channel: 1,
    enabled: true,
    triggers: { motion: { enabled: true, notifySurveillanceCenter: true } },
    preSeconds: 5,
    postSeconds: 10,
    activatedAt: new Date(),
    expiresAt: new Date(Date.now() + 30 * 86_400_000),
  });
  const [sharing] = await db.insert(sharings).values({ siteId, companyId: company.companyId, mode: 'A' }).returning();
  const [recipient] = await db
    .insert(sharingRecipients)
    .values({ sharingId: sharing!.id, siteId, channel: 'email', recipient: 'tenant@example.test', status: 'Accepted', tokenHash: randomBytes(16).toString('hex'), expiresAt: new Date(Date.now() + 86_400_000) })
    .returning();
  await db.insert(sharedDevices).values({ recipientId: recipient!.id, deviceId, permissions: ['LiveView'] });
  await db.insert(devicePermissions).values({ siteId, deviceId, companyId: company.companyId, permission: 'LiveView', validity: 'Permanent', status: 'approved', source: 'application' });
}

async function bindingsOf(deviceId: string) {
  const db = cloud.ctx.db;
  return {
    arc: (await db.select().from(arcPanels).where(eq(arcPanels.deviceId, deviceId))).length,
    storageDevice: (await db.select().from(cloudStorageDevices).where(eq(cloudStorageDevices.deviceId, deviceId))).length,
    storageChannels: (await db.select().from(cloudStorageChannels).where(eq(cloudStorageChannels.deviceId, deviceId))).length,
    shared: (await db.select().from(sharedDevices).where(eq(sharedDevices.deviceId, deviceId))).length,
    permissions: (await db.select().from(devicePermissions).where(eq(devicePermissions.deviceId, deviceId))).length,
  };
}

describe('moving devices between sites (scenario 12)', () => {
  it('refuses a device added by IP or domain name, and moves nothing', async () => {
    const from = await site();
    const to = await site();
    const p2p = await deviceOn(from);
    const ip = await deviceOn(from, 'ip_domain');

    const res = await move(company.client, from, [p2p.id, ip.id], { siteId: to });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('DEVICE_NOT_P2P');
    expect(await siteOf(p2p.id)).toBe(from);
    expect(await siteOf(ip.id)).toBe(from);
    expect(await moveRows(from)).toEqual([]);

    // The move page shows why the device cannot move.
    const listed = await company.client.get<{ items: MovableDevice[] }>(`/sites/${from}/movable-devices`);
    expect(listed.body.items.find((d) => d.id === ip.id)!.refusal).toBe('DEVICE_NOT_P2P');
    expect(listed.body.items.find((d) => d.id === p2p.id)!.refusal).toBeNull();
  });

  it('refuses a target of another Site Owner, a Shared (tenant) site, the same site and another company’s site', async () => {
    const from = await site({ ownerId: owner.accountId });
    const device = await deviceOn(from);
    const cases: [string, string, number, string][] = [
      ['another owner', await site({ ownerId: stranger.accountId }), 422, 'DIFFERENT_OWNER'],
      ['no owner', await site(), 422, 'DIFFERENT_OWNER'],
      ['a Shared site', await site({ status: 'Shared' }), 422, 'TARGET_IS_TENANT_SITE'],
      ['the same site', from, 422, 'SAME_SITE'],
      ['another company’s site', await newSite(other.client), 404, 'SITE_NOT_FOUND'],
    ];
    for (const [what, to, status, code] of cases) {
      const res = await move(company.client, from, [device.id], { siteId: to });
      expect([what, res.status, res.body.code]).toEqual([what, status, code]);
    }
    expect(await siteOf(device.id)).toBe(from);
    expect(await moveRows(from)).toEqual([]);
  });

  it('moves a P2P device at once between sites without an owner, clearing every configuration bound to it', async () => {
    const from = await site();
    const to = await site();
    await players.p2pDevice('M12345678', 'MOVEME', { serial: 'DS-7608NXI-K220240101AACHM12345678', deviceClass: 'nvr', model: 'DS-7608NXI-K2', firmware: 'V4.61.005', name: 'NVR', channels: 8 });
    const added = await company.client.post<Reply<Device>>(`/sites/${from}/devices/by-serial`, { serial: 'M12345678', verificationCode: 'MOVEME' });
    expect(added.status).toBe(201);
    const id = added.body.id;
    await configure(id, from);
    expect(await bindingsOf(id)).toEqual({ arc: 1, storageDevice: 1, storageChannels: 1, shared: 1, permissions: 1 });
    const before = await company.client.get<{ items: MovableDevice[] }>(`/sites/${from}/movable-devices`);
    expect(before.body.items.find((d) => d.id === id)!.configured).toBe(true);

    const res = await move(company.client, from, [id], { siteId: to });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'Approved', sourceSiteId: from, targetSiteId: to, devices: [{ id, name: added.body.name }] });
    expect(res.body.decidedAt).not.toBeNull();

    const onTarget = await company.client.get<{ items: Device[] }>(`/sites/${to}/devices`);
    expect(onTarget.body.items.map((d) => d.id)).toEqual([id]);
    expect((await company.client.get<{ items: Device[] }>(`/sites/${from}/devices`)).body.items).toEqual([]);
    expect(await bindingsOf(id)).toEqual({ arc: 0, storageDevice: 0, storageChannels: 0, shared: 0, permissions: 0 });
    // Both sites list the move.
    expect((await company.client.get<DeviceMovesReply>(`/sites/${to}/device-moves`)).body.items.map((m) => m.id)).toEqual([res.body.id]);
  });

  it('refuses a team target for an AC router, and more than 128 channels on a personal target', async () => {
    const from = await site();
    const router = await deviceOn(from, 'p2p', { kind: 'router', channels: 0 });
    const team = await site({ type: 'team' });
    const routerRes = await move(company.client, from, [router.id], { siteId: team });
    expect(routerRes.status).toBe(422);
    expect(routerRes.body.code).toBe('AC_ROUTER_TEAM_SITE');

    const full = await site();
    await deviceOn(full, 'p2p', { kind: 'nvr', channels: 128 });
    const camera = await deviceOn(from);
    const fullRes = await move(company.client, from, [camera.id], { siteId: full });
    expect(fullRes.status).toBe(422);
    expect(fullRes.body.code).toBe('SITE_CHANNEL_LIMIT');
    expect(await siteOf(camera.id)).toBe(from);
  });
});

describe('a move from a site with an owner', () => {
  it('creates a new site for the same owner, whose time zone cannot change afterwards (scenario 13)', async () => {
    const from = await site({ ownerId: owner.accountId });
    const device = await deviceOn(from);
    const name = `Moved ${randomBytes(3).toString('hex')}`;
    const res = await move(company.client, from, [device.id], { newSite: { name, type: 'personal', timeZone: 'Europe/Paris' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'Pending', targetSiteName: name });
    const [created] = await cloud.ctx.db.select().from(sites).where(eq(sites.id, res.body.targetSiteId));
    expect(created).toMatchObject({ ownerAccountId: owner.accountId, timeZone: 'Europe/Paris', companyId: company.companyId });

    const tz = await company.client.patch<Reply<Site>>(`/sites/${created!.id}`, { timeZone: 'Europe/London' });
    expect(tz.status).toBe(422);
    expect(tz.body.code).toBe('TIME_ZONE_IMMUTABLE');
    expect((await cloud.ctx.db.select({ tz: sites.timeZone }).from(sites).where(eq(sites.id, created!.id)))[0]!.tz).toBe('Europe/Paris');
  });

  it('waits for the owner, who approves or rejects it; nobody else may answer', async () => {
    const from = await site({ ownerId: owner.accountId });
    const to = await site({ ownerId: owner.accountId });
    const first = await deviceOn(from);
    const second = await deviceOn(from);
    await configure(first.id, from);

    const pendingMails = () => cloud.ctx.db.select().from(mailOutbox).where(and(eq(mailOutbox.toAddress, owner.email), eq(mailOutbox.kind, 'device_move.pending')));
    const mailsBefore = (await pendingMails()).length;
    const pending = await move(company.client, from, [first.id], { siteId: to });
    expect(pending.status).toBe(201);
    expect(pending.body.status).toBe('Pending');
    expect(await siteOf(first.id)).toBe(from);
    expect(await bindingsOf(first.id)).toMatchObject({ arc: 1, storageChannels: 1 });
    expect(await pendingMails()).toHaveLength(mailsBefore + 1);
    // A device waiting for its owner is not in a second move.
    const twice = await move(company.client, from, [first.id, second.id], { siteId: to });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('DEVICE_MOVE_PENDING');

    const listed = await owner.client.get<DeviceMovesReply>('/customer/device-moves');
    expect(listed.body.items.map((m) => m.id)).toContain(pending.body.id);
    expect((await stranger.client.get<DeviceMovesReply>('/customer/device-moves')).body.items).toEqual([]);

    const byStranger = await stranger.client.post<ErrorReply>(`/customer/device-moves/${pending.body.id}/approve`);
    expect(byStranger.status).toBe(404);
    expect(byStranger.body.code).toBe('DEVICE_MOVE_NOT_FOUND');
    const byInstaller = await company.client.post<ErrorReply>(`/customer/device-moves/${pending.body.id}/approve`);
    expect(byInstaller.status).toBe(403);
    expect(byInstaller.body.code).toBe('CUSTOMER_ONLY');
    expect(await siteOf(first.id)).toBe(from);

    const approved = await owner.client.post<Reply<DeviceMove>>(`/customer/device-moves/${pending.body.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('Approved');
    expect(await siteOf(first.id)).toBe(to);
    expect(await bindingsOf(first.id)).toEqual({ arc: 0, storageDevice: 0, storageChannels: 0, shared: 0, permissions: 0 });
    const again = await owner.client.post<ErrorReply>(`/customer/device-moves/${pending.body.id}/reject`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DEVICE_MOVE_STATE');

    const rejectedMove = await move(company.client, from, [second.id], { siteId: to });
    const rejected = await owner.client.post<Reply<DeviceMove>>(`/customer/device-moves/${rejectedMove.body.id}/reject`);
    expect(rejected.status).toBe(200);
    expect(rejected.body.status).toBe('Rejected');
    expect(await siteOf(second.id)).toBe(from);

    const adminId = (await cloud.ctx.db.select({ id: deviceMoves.requestedBy }).from(deviceMoves).where(eq(deviceMoves.id, pending.body.id)))[0]!.id!;
    const told = await cloud.ctx.db.select({ kind: notifications.kind }).from(notifications).where(and(eq(notifications.accountId, adminId), inArray(notifications.kind, ['device_move.approved', 'device_move.rejected'])));
    expect(told.map((n) => n.kind).sort()).toEqual(['device_move.approved', 'device_move.rejected']);
  });
});

describe('who may move devices', () => {
  it('hides another company’s sites and refuses customers and installers without device management', async () => {
    const from = await site();
    const to = await site();
    const device = await deviceOn(from);

    const foreign = await move(other.client, from, [device.id], { siteId: to });
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('SITE_NOT_FOUND');
    const noDevices = await signInEmployee(cloud, company.companyId, ['site.manage_all']);
    const customer = await signInCustomer(cloud);
    for (const client of [noDevices, customer.client]) {
      const res = await move(client, from, [device.id], { siteId: to });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('PERMISSION_DENIED');
    }
    const disbanded = await site({ status: 'Disbanded' });
    const gone = await deviceOn(disbanded);
    const fromDisbanded = await move(company.client, disbanded, [gone.id], { siteId: to });
    expect(fromDisbanded.status).toBe(409);
    expect(fromDisbanded.body.code).toBe('SITE_STATUS_FORBIDS');
    const notHere = await move(company.client, to, [device.id], { siteId: from });
    expect(notHere.status).toBe(404);
    expect(notHere.body.code).toBe('DEVICE_NOT_FOUND');
    expect(await siteOf(device.id)).toBe(from);
  });

  it('detachDevices of nothing changes nothing', async () => {
    const result = await cloud.ctx.db.transaction((tx) => detachDevices(tx, []));
    expect(result).toMatchObject({ deviceIds: [], edgeSerials: [] });
  });
});

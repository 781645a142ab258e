import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grant, PendingApplication, SiteAccessReply } from '@vigil/protocol/api';
import { devicePermissions, notifications, sharingRecipients, sharings, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { requireDeviceUse } from '../sites/gate.js';
import { newSite, registerCompany, signInCustomer, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { until } from '../testing/edge.js';
import type { Auth } from '../types.js';
import { insertDevice, handedOverSite, siteStatus } from '../testing/handover.js';

type Refusal = { code: string; message: string };
type Company = Awaited<ReturnType<typeof registerCompany>>;
type Customer = Awaited<ReturnType<typeof signInCustomer>>;

/** "1 hour" lasts 2.5 s here, so a 1-hour grant expires within the test. */
const HOUR_MS = 2500;
let cloud: TestCloud;
let installer: Company;
let other: Company;
let owner: Customer;
let stranger: Customer;

beforeAll(async () => {
  cloud = await startTestCloud({ VIGIL_PERMISSION_HOUR_MS: String(HOUR_MS) });
  installer = await registerCompany(cloud.api, 'Grant Installers');
  other = await registerCompany(cloud.api, 'Other Installers');
  owner = await signInCustomer(cloud, { name: 'Olivia Owner' });
  stranger = await signInCustomer(cloud, { name: 'Sam Stranger' });
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

const handOver = (opts: Parameters<typeof handedOverSite>[3] = {}) => handedOverSite(cloud, installer, owner, opts);
const apply = (siteId: string, items: { deviceId: string; permissions: string[]; validity: string }[], client = installer.client) =>
  client.post<{ items: Grant[] } & Refusal>(`/sites/${siteId}/permission-applications`, { items, remark: 'Yearly maintenance' });
const approve = (id: string, client = owner.client) => client.post<Grant & Refusal>(`/customer/permission-applications/${id}/approve`);

/** What requireDeviceUse answers for the installer company: null when allowed, else the refusal's status and code. */
async function useOf(siteId: string, device: { id: string; name: string }, use: 'Configuration' | 'LiveView' | 'Playback', companyId = installer.companyId) {
  const [site] = await cloud.ctx.db.select().from(sites).where(eq(sites.id, siteId));
  try {
    await requireDeviceUse(cloud.ctx.db, { companyId } as Auth, site!, device, use);
    return null;
  } catch (err) {
    if (err instanceof AppError) return [err.statusCode, err.code];
    throw err;
  }
}

async function grantRows(siteId: string) {
  return cloud.ctx.db.select().from(devicePermissions).where(eq(devicePermissions.siteId, siteId));
}

describe('site authorization (scenario 8)', () => {
  it('is applied for only while HandedOverNotAuthorized; once the owner approves, the site is AuthorizedAndMonitoring', async () => {
    const fresh = await newSite(installer.client);
    const early = await installer.client.post<Refusal>(`/sites/${fresh}/authorization`, {});
    expect([early.status, early.body.code]).toEqual([409, 'SITE_STATUS_FORBIDS']);

    const { siteId } = await handOver();
    expect(await siteStatus(installer.client, siteId)).toBe('HandedOverNotAuthorized');
    const applied = await installer.client.post<Grant & Refusal>(`/sites/${siteId}/authorization`, { remark: 'We monitor the site' });
    expect(applied.status).toBe(201);
    expect(applied.body).toMatchObject({ permission: 'SiteAuthorization', status: 'pending', deviceId: null, remark: 'We monitor the site', companyName: 'Grant Installers' });
    const twice = await installer.client.post<Refusal>(`/sites/${siteId}/authorization`, {});
    expect([twice.status, twice.body.code]).toEqual([409, 'APPLICATION_PENDING']);
    const told = await cloud.ctx.db.select().from(notifications).where(and(eq(notifications.accountId, owner.accountId), eq(notifications.kind, 'grants.application')));
    expect(told.some((n) => n.data.siteId === siteId)).toBe(true);

    // Only customers, and only the site's reviewer, see and decide it.
    const asInstaller = await installer.client.get<Refusal>('/customer/permission-applications');
    expect([asInstaller.status, asInstaller.body.code]).toEqual([403, 'CUSTOMER_ONLY']);
    const installerApproves = await approve(applied.body.id, installer.client);
    expect([installerApproves.status, installerApproves.body.code]).toEqual([403, 'CUSTOMER_ONLY']);
    expect((await stranger.client.get<{ items: PendingApplication[] }>('/customer/permission-applications')).body.items).toEqual([]);
    const strangerApproves = await approve(applied.body.id, stranger.client);
    expect([strangerApproves.status, strangerApproves.body.code]).toEqual([404, 'PERMISSION_NOT_FOUND']);
    expect(await siteStatus(installer.client, siteId)).toBe('HandedOverNotAuthorized');

    const pending = await owner.client.get<{ items: PendingApplication[] }>('/customer/permission-applications');
    expect(pending.body.items.find((g) => g.id === applied.body.id)).toMatchObject({ siteId, permission: 'SiteAuthorization', status: 'pending' });
    const approved = await approve(applied.body.id);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', expiresAt: null });
    expect(await siteStatus(installer.client, siteId)).toBe('AuthorizedAndMonitoring');
    const again = await approve(applied.body.id);
    expect([again.status, again.body.code]).toEqual([409, 'GRANT_STATE']);
    const after = await installer.client.post<Refusal>(`/sites/${siteId}/authorization`, {});
    expect([after.status, after.body.code]).toEqual([409, 'SITE_STATUS_FORBIDS']);
    const news = await cloud.ctx.db.select().from(notifications).where(eq(notifications.kind, 'grants.approved'));
    expect(news.some((n) => n.data.permissionId === applied.body.id)).toBe(true);

    // The owner takes it back: handed over, not authorized again.
    const revoked = await owner.client.post<Grant>(`/customer/sites/${siteId}/access/${applied.body.id}/revoke`);
    expect([revoked.status, revoked.body.status]).toEqual([200, 'released']);
    expect(await siteStatus(installer.client, siteId)).toBe('HandedOverNotAuthorized');
  });

  it('is denied by the owner: nothing changes but the application', async () => {
    const { siteId } = await handOver();
    const applied = await installer.client.post<Grant>(`/sites/${siteId}/authorization`, {});
    const denied = await owner.client.post<Grant>(`/customer/permission-applications/${applied.body.id}/deny`);
    expect([denied.status, denied.body.status]).toEqual([200, 'denied']);
    expect(await siteStatus(installer.client, siteId)).toBe('HandedOverNotAuthorized');
    const news = await cloud.ctx.db.select().from(notifications).where(eq(notifications.kind, 'grants.denied'));
    expect(news.some((n) => n.data.permissionId === applied.body.id)).toBe(true);
  });
});

describe('device permission applications (scenario 9)', () => {
  it('are refused while NotHandedOver or Disbanded', async () => {
    const fresh = await newSite(installer.client);
    const device = await insertDevice(cloud, installer.companyId, fresh);
    const early = await apply(fresh, [{ deviceId: device.id, permissions: ['LiveView'], validity: '1h' }]);
    expect([early.status, early.body.code]).toEqual([409, 'SITE_STATUS_FORBIDS']);
    const { siteId, devices } = await handOver();
    await cloud.ctx.db.update(sites).set({ status: 'Disbanded' }).where(eq(sites.id, siteId));
    const disbanded = await apply(siteId, [{ deviceId: devices[0]!.id, permissions: ['LiveView'], validity: '1h' }]);
    expect([disbanded.status, disbanded.body.code]).toEqual([409, 'SITE_STATUS_FORBIDS']);
    expect(await grantRows(siteId)).toEqual([]);
  });

  it('take the five validities in one batch, refuse any other with 422, and are decided one by one', async () => {
    const { siteId, devices } = await handOver({ count: 5 });
    const validities = ['Permanent', '1h', '2h', '4h', '8h'];

    const threeHours = await apply(siteId, [
      { deviceId: devices[0]!.id, permissions: ['LiveView'], validity: '1h' },
      { deviceId: devices[1]!.id, permissions: ['LiveView'], validity: '3h' },
    ]);
    expect([threeHours.status, threeHours.body.code]).toEqual([422, 'INVALID_VALIDITY']);
    const foreign = await insertDevice(cloud, installer.companyId, await newSite(installer.client));
    const notHere = await apply(siteId, [{ deviceId: foreign.id, permissions: ['LiveView'], validity: '1h' }]);
    expect([notHere.status, notHere.body.code]).toEqual([422, 'DEVICE_NOT_ON_SITE']);
    const twice = await apply(siteId, [
      { deviceId: devices[0]!.id, permissions: ['LiveView'], validity: '1h' },
      { deviceId: devices[0]!.id, permissions: ['Playback'], validity: '1h' },
    ]);
    expect([twice.status, twice.body.code]).toEqual([422, 'DUPLICATE_DEVICE']);
    const badPermission = await apply(siteId, [{ deviceId: devices[0]!.id, permissions: ['SiteAuthorization'], validity: '1h' }]);
    expect([badPermission.status, badPermission.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(await grantRows(siteId)).toEqual([]);

    // Who may apply: site management of the site and device management; never another company or a customer.
    const noDevices = await signInEmployee(cloud, installer.companyId, ['site.manage_all']);
    const item = [{ deviceId: devices[0]!.id, permissions: ['LiveView'], validity: '1h' }];
    const refusals = [
      [await apply(siteId, item, noDevices), 403, 'PERMISSION_DENIED'],
      [await apply(siteId, item, await signInEmployee(cloud, installer.companyId, ['site.manage_assigned', 'device.manage'])), 404, 'SITE_NOT_FOUND'],
      [await apply(siteId, item, other.client), 404, 'SITE_NOT_FOUND'],
      [await apply(siteId, item, owner.client), 403, 'PERMISSION_DENIED'],
    ] as const;
    for (const [res, status, code] of refusals) expect([res.status, res.body.code]).toEqual([status, code]);
    expect(await grantRows(siteId)).toEqual([]);

    const batch = await apply(
      siteId,
      devices.map((d, i) => ({ deviceId: d.id, permissions: i === 0 ? ['Configuration', 'LiveView', 'Playback'] : ['LiveView'], validity: validities[i]! })),
    );
    expect(batch.status).toBe(201);
    expect(batch.body.items).toHaveLength(7);
    expect(batch.body.items.every((g) => g.status === 'pending' && g.source === 'application' && g.remark === 'Yearly maintenance')).toBe(true);
    expect(new Set(batch.body.items.map((g) => g.validity))).toEqual(new Set(validities));
    const again = await apply(siteId, [{ deviceId: devices[1]!.id, permissions: ['LiveView'], validity: '2h' }]);
    expect([again.status, again.body.code]).toEqual([409, 'APPLICATION_PENDING']);

    const oneHour = batch.body.items.find((g) => g.validity === '1h')!;
    expect(await useOf(siteId, devices[1]!, 'LiveView')).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    const before = Date.now();
    const approved = await approve(oneHour.id);
    expect(approved.body.status).toBe('approved');
    const expiresAt = Date.parse(approved.body.expiresAt!);
    expect(expiresAt).toBeGreaterThanOrEqual(before + HOUR_MS);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + HOUR_MS);
    expect(await useOf(siteId, devices[1]!, 'LiveView')).toBeNull();
    const permanent = batch.body.items.find((g) => g.validity === 'Permanent' && g.permission === 'Playback')!;
    expect((await approve(permanent.id)).body).toMatchObject({ status: 'approved', expiresAt: null });
    const eightHours = batch.body.items.find((g) => g.validity === '8h')!;
    expect((await owner.client.post<Grant>(`/customer/permission-applications/${eightHours.id}/deny`)).body.status).toBe('denied');

    // One hour later (1.5 s here) the grant has expired: the very next use is refused.
    await until(() => useOf(siteId, devices[1]!, 'LiveView'), (r) => r !== null, 'the 1-hour grant to expire', 8000);
    expect(await useOf(siteId, devices[1]!, 'LiveView')).toEqual([403, 'DEVICE_PERMISSION_EXPIRED']);
    const list = await installer.client.get<{ items: Grant[] }>(`/sites/${siteId}/permissions`);
    const status = new Map(list.body.items.map((g) => [g.id, g.status]));
    expect([status.get(oneHour.id), status.get(permanent.id), status.get(eightHours.id)]).toEqual(['expired', 'approved', 'denied']);
    expect((await other.client.get(`/sites/${siteId}/permissions`)).status).toBe(404);
  });
});

describe('releasing a permission (scenario 10)', () => {
  it('ends Configuration at once, through the recorder channel route too, until a new application is approved', async () => {
    const { siteId, devices } = await handOver({ count: 1, kind: 'nvr' });
    const nvr = devices[0]!;
    const channels = () => installer.client.get<Refusal>(`/devices/${nvr.id}/channels`);
    expect((await channels()).body.code).toBe('DEVICE_PERMISSION_REQUIRED');
    const [applied] = (await apply(siteId, [{ deviceId: nvr.id, permissions: ['Configuration'], validity: 'Permanent' }])).body.items;
    await approve(applied!.id);
    expect(await useOf(siteId, nvr, 'Configuration')).toBeNull();
    // Past the permission check: what the recorder route answers next is about the recorder, not the grant.
    expect((await channels()).status).not.toBe(403);

    const byOther = await other.client.post<Refusal>(`/sites/${siteId}/permissions/${applied!.id}/release`);
    expect([byOther.status, byOther.body.code]).toEqual([404, 'SITE_NOT_FOUND']);
    const released = await installer.client.post<Grant & Refusal>(`/sites/${siteId}/permissions/${applied!.id}/release`);
    expect([released.status, released.body.status]).toEqual([200, 'released']);
    expect(await useOf(siteId, nvr, 'Configuration')).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    const refused = await channels();
    expect([refused.status, refused.body.code]).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    const twice = await installer.client.post<Refusal>(`/sites/${siteId}/permissions/${applied!.id}/release`);
    expect([twice.status, twice.body.code]).toEqual([409, 'GRANT_STATE']);

    const [reapplied] = (await apply(siteId, [{ deviceId: nvr.id, permissions: ['Configuration'], validity: '2h' }])).body.items;
    expect(await useOf(siteId, nvr, 'Configuration')).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    await approve(reapplied!.id);
    expect(await useOf(siteId, nvr, 'Configuration')).toBeNull();
    expect((await channels()).status).not.toBe(403);
  });
});

describe('who reviews', () => {
  /** A site of the installer shared in `mode` with accepted recipients; the first is the Customer Administrator. */
  async function sharedSite(mode: 'A' | 'B', recipients: Customer[]) {
    const siteId = await newSite(installer.client);
    const device = await insertDevice(cloud, installer.companyId, siteId);
    await cloud.ctx.db.update(sites).set({ status: 'Shared' }).where(eq(sites.id, siteId));
    const [sharing] = await cloud.ctx.db.insert(sharings).values({ siteId, companyId: installer.companyId, mode }).returning();
    await cloud.ctx.db.insert(sharingRecipients).values(
      recipients.map((r, i) => ({
        sharingId: sharing!.id,
        siteId,
        channel: 'email',
        recipient: r.email,
        recipientAccountId: r.accountId,
        isAdmin: mode === 'A' && i === 0,
        status: 'Accepted',
        tokenHash: randomBytes(16).toString('hex'),
        expiresAt: new Date(Date.now() + 86_400_000),
      })),
    );
    return { siteId, device };
  }

  it('is the Customer Administrator of a Mode A sharing, not another tenant; Mode B needs no application', async () => {
    const admin = await signInCustomer(cloud, { name: 'Ada Admin' });
    const tenant = await signInCustomer(cloud, { name: 'Tom Tenant' });
    const { siteId, device } = await sharedSite('A', [admin, tenant]);
    const [applied] = (await apply(siteId, [{ deviceId: device.id, permissions: ['LiveView'], validity: '4h' }])).body.items;

    expect((await tenant.client.get<{ items: PendingApplication[] }>('/customer/permission-applications')).body.items).toEqual([]);
    const byTenant = await approve(applied!.id, tenant.client);
    expect([byTenant.status, byTenant.body.code]).toEqual([403, 'NOT_REVIEWER']);
    const tenantAccess = await tenant.client.get<Refusal>(`/customer/sites/${siteId}/access`);
    expect([tenantAccess.status, tenantAccess.body.code]).toEqual([403, 'NOT_REVIEWER']);
    const strangerAccess = await stranger.client.get<Refusal>(`/customer/sites/${siteId}/access`);
    expect([strangerAccess.status, strangerAccess.body.code]).toEqual([404, 'SITE_NOT_FOUND']);
    expect(await useOf(siteId, device, 'LiveView')).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);

    expect((await admin.client.get<{ items: PendingApplication[] }>('/customer/permission-applications')).body.items.map((g) => g.id)).toEqual([applied!.id]);
    expect((await approve(applied!.id, admin.client)).body.status).toBe('approved');
    expect(await useOf(siteId, device, 'LiveView')).toBeNull();

    const modeB = await sharedSite('B', [tenant]);
    const kept = await apply(modeB.siteId, [{ deviceId: modeB.device.id, permissions: ['LiveView'], validity: '1h' }]);
    expect([kept.status, kept.body.code]).toEqual([409, 'PERMISSIONS_KEPT']);
  });
});

describe('the owner’s view of access', () => {
  it('lists who has what until when, for every company, and revokes a grant at once', async () => {
    const { siteId, devices } = await handOver({ count: 2, name: 'Riverside Bakery', permissions: [{ permission: 'LiveView', devices: [0], validity: '8h' }] });
    const [applied] = (await apply(siteId, [{ deviceId: devices[1]!.id, permissions: ['Playback'], validity: 'Permanent' }])).body.items;
    await approve(applied!.id);

    const asInstaller = await installer.client.get<Refusal>(`/customer/sites/${siteId}/access`);
    expect([asInstaller.status, asInstaller.body.code]).toEqual([403, 'CUSTOMER_ONLY']);
    const access = await owner.client.get<SiteAccessReply>(`/customer/sites/${siteId}/access`);
    expect(access.status).toBe(200);
    expect(access.body.siteName).toBe('Riverside Bakery');
    const live = access.body.items.find((g) => g.permission === 'LiveView')!;
    expect(live).toMatchObject({ deviceId: devices[0]!.id, deviceName: devices[0]!.name, companyName: 'Grant Installers', source: 'handover', status: 'approved', validity: '8h' });
    expect(Date.parse(live.expiresAt!)).toBeGreaterThan(Date.now());
    expect(access.body.items.find((g) => g.id === applied!.id)).toMatchObject({ permission: 'Playback', source: 'application', expiresAt: null });

    const byStranger = await stranger.client.post<Refusal>(`/customer/sites/${siteId}/access/${live.id}/revoke`);
    expect([byStranger.status, byStranger.body.code]).toEqual([404, 'PERMISSION_NOT_FOUND']);
    expect(await useOf(siteId, devices[0]!, 'LiveView')).toBeNull();
    const revoked = await owner.client.post<Grant>(`/customer/sites/${siteId}/access/${live.id}/revoke`);
    expect([revoked.status, revoked.body.status]).toEqual([200, 'released']);
    expect(await useOf(siteId, devices[0]!, 'LiveView')).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    const again = await owner.client.post<Refusal>(`/customer/sites/${siteId}/access/${live.id}/revoke`);
    expect([again.status, again.body.code]).toEqual([409, 'GRANT_STATE']);
    const news = await cloud.ctx.db.select().from(notifications).where(eq(notifications.kind, 'grants.revoked'));
    expect(news.some((n) => n.data.permissionId === live.id)).toBe(true);
  });
});

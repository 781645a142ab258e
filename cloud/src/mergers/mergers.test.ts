import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_PERMISSIONS, type Merger } from '@vigil/protocol/api';
import { accounts, arcProfiles, coBrandings, companies, companyMergers, devices, edges, employeeInvitations, joinRequests, mailOutbox, notifications, operationLogs, regionFeatures, roles, sites } from '../db/schema.js';
import { hashSecret, randomToken, sha256 } from '../security/secrets.js';
import { ApiClient, authenticateCompany, newSite, registerCompany, signInVendorAdmin, startTestCloud, VENDOR_ADMIN, type TestCloud } from '../testing/cloud.js';

let cloud: TestCloud;
let vendor: ApiClient;
type Company = Awaited<ReturnType<typeof registerCompany>>;
type Refusal = { code: string; message: string };
const PASSWORD = 'Employee-pass1';

beforeAll(async () => {
  cloud = await startTestCloud();
  vendor = await signInVendorAdmin(cloud);
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

/** Registers a company of any country or type through the API, signed in as its Installer Admin. */
async function register(name: string, countryCode: string, type = 'installer') {
  const client = new ApiClient(cloud.api);
  const email = `admin.${randomBytes(4).toString('hex')}@example.test`;
  const res = await client.post<{ company: { id: string } }>('/companies', {
    company: { name, type, countryCode },
    admin: { name: 'Admin', email, password: 'Correct-Horse9' },
  });
  expect(res.status).toBe(201);
  return { client, email, password: 'Correct-Horse9', companyId: res.body.company.id };
}

async function employee(companyId: string, fields: { roleId?: string; enabled?: boolean; limited?: boolean } = {}) {
  const email = `emp.${randomBytes(5).toString('hex')}@example.test`;
  const [row] = await cloud.ctx.db
    .insert(accounts)
    .values({ companyId, email, name: 'Employee', passwordHash: await hashSecret(PASSWORD), role: 'installer', roleId: fields.roleId ?? null, enabled: fields.enabled ?? true, limited: fields.limited ?? false })
    .returning();
  return row!;
}

const invite = (from: Company, email: string) => from.client.post<Merger & Refusal>('/company/mergers', { invitedAdminEmail: email });
const mergerRows = async () => cloud.ctx.db.select().from(companyMergers);
const notesOf = async (email: string, kind: string) =>
  cloud.ctx.db
    .select({ id: notifications.id, data: notifications.data })
    .from(notifications)
    .innerJoin(accounts, eq(accounts.id, notifications.accountId))
    .where(and(eq(accounts.email, email), eq(notifications.kind, kind)));

describe('merger preconditions (scenario 20)', () => {
  it('refuses each invited company the manual excludes, with its reason as the code, and stores nothing', async () => {
    const a = await registerCompany(cloud.api, 'Alpha Initiator');
    const before = (await mergerRows()).length;

    const other = await registerCompany(cloud.api, 'Other Co');
    const otherEmployee = await employee(other.companyId);
    const fr = await register('Installateur', 'FR');
    const authenticated = await registerCompany(cloud.api, 'Channel Partner Co');
    await authenticateCompany(cloud, authenticated.companyId);
    const arcType = await register('Central Station', 'GB', 'alarm_receiving_center');
    const arcListed = await registerCompany(cloud.api, 'Listed ARC');
    await cloud.ctx.db.insert(arcProfiles).values({ companyId: arcListed.companyId, arcId: `ARC${randomBytes(3).toString('hex')}`, keyHash: 'x', keyIssuedAt: new Date(), contactEmail: 'arc@example.test', regions: ['GB'] });
    const withDevice = await registerCompany(cloud.api, 'Has Devices');
    const deviceSite = await newSite(withDevice.client);
    await cloud.ctx.db.insert(devices).values({
      companyId: withDevice.companyId, siteId: deviceSite, deviceKey: 'K1', kind: 'camera', protocol: 'isapi', manufacturer: 'hikvision', model: 'DS-2CD',
      serial: `SER${randomBytes(3).toString('hex')}`, firmware: 'V5', name: 'Cam', host: '10.0.0.9', port: 80, reportedOnline: true, reportedAt: new Date(), status: 'online',
    });
    const withEdge = await registerCompany(cloud.api, 'Has Edge');
    await cloud.ctx.db.insert(edges).values({ serial: `EDGE${randomBytes(4).toString('hex')}`, companyId: withEdge.companyId });
    const handedOver = await registerCompany(cloud.api, 'Handed Over');
    await cloud.ctx.db.update(sites).set({ status: 'Shared' }).where(eq(sites.id, await newSite(handedOver.client)));
    const addOn = await registerCompany(cloud.api, 'Bought Slots');
    await cloud.ctx.db.update(companies).set({ purchasedEmployeeSlots: 2 }).where(eq(companies.id, addOn.companyId));
    const coBranded = await registerCompany(cloud.api, 'Co-Branded');
    await cloud.ctx.db.insert(coBrandings).values({ companyId: coBranded.companyId, validUntil: new Date(Date.now() + 86_400_000) });

    const cases: [string, string, string][] = [
      ['unknown email', 'nobody@example.test', 'NOT_ELIGIBLE_ACCOUNT'],
      ['own Installer Admin', a.email, 'NOT_ELIGIBLE_ACCOUNT'],
      ['an employee', otherEmployee.email, 'NOT_ELIGIBLE_ACCOUNT'],
      ['the vendor admin', VENDOR_ADMIN.email, 'NOT_ELIGIBLE_ACCOUNT'],
      ['another country', fr.email, 'REGION_MISMATCH'],
      ['authenticated channel partner', authenticated.email, 'CHANNEL_PARTNER'],
      ['an ARC company', arcType.email, 'IN_ARC_LIST'],
      ['on the ARC list', arcListed.email, 'IN_ARC_LIST'],
      ['devices', withDevice.email, 'HAS_DEVICES'],
      ['edge boxes', withEdge.email, 'HAS_DEVICES'],
      ['handed-over sites', handedOver.email, 'HAS_HANDED_OVER_SITES'],
      ['purchased employee slots', addOn.email, 'ACTIVE_VAS'],
      ['co-branding in its term', coBranded.email, 'ACTIVE_VAS'],
    ];
    for (const [what, email, code] of cases) {
      const res = await invite(a, email);
      expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status: 422, code });
    }
    expect((await mergerRows()).length).toBe(before);

    // Only the Installer Admin, and only where the region has the feature.
    const [role] = await cloud.ctx.db.insert(roles).values({ companyId: a.companyId, name: 'All', permissions: [...ALL_PERMISSIONS] }).returning();
    const emp = await employee(a.companyId, { roleId: role!.id });
    const empClient = new ApiClient(cloud.api);
    expect((await empClient.post('/auth/login', { email: emp.email, password: PASSWORD })).status).toBe(200);
    const byEmployee = await empClient.post<Refusal>('/company/mergers', { invitedAdminEmail: other.email });
    expect([byEmployee.status, byEmployee.body.code]).toEqual([403, 'INSTALLER_ADMIN_ONLY']);
    const de1 = await register('DE One', 'DE');
    const de2 = await register('DE Two', 'DE');
    await cloud.ctx.db.insert(regionFeatures).values({ countryCode: 'DE', feature: 'company_merger', enabled: false });
    const off = await invite(de1, de2.email);
    expect([off.status, off.body.code]).toEqual([403, 'FEATURE_UNAVAILABLE_IN_REGION']);
    expect((await mergerRows()).length).toBe(before);
  });

  it('checks again at acceptance: the merger fails with the reason and nothing moves', async () => {
    const a = await registerCompany(cloud.api, 'Alpha Recheck');
    const b = await registerCompany(cloud.api, 'Beta Recheck');
    const invited = await invite(a, b.email);
    expect([invited.status, invited.body.status, invited.body.initiatorAccepted, invited.body.invitedAccepted]).toEqual([201, 'pending', true, false]);
    const dup = await invite(a, b.email);
    expect([dup.status, dup.body.code]).toEqual([409, 'MERGER_STATE']);
    // Meanwhile B hands a site over.
    await cloud.ctx.db.update(sites).set({ status: 'ToBeAccepted' }).where(eq(sites.id, await newSite(b.client)));
    const accepted = await b.client.post<Refusal>(`/company/mergers/${invited.body.id}/accept`);
    expect([accepted.status, accepted.body.code]).toEqual([422, 'HAS_HANDED_OVER_SITES']);
    const list = await a.client.get<{ items: Merger[] }>('/company/mergers');
    expect(list.body.items.find((m) => m.id === invited.body.id)).toMatchObject({ status: 'failed', failureReason: 'HAS_HANDED_OVER_SITES' });
    expect(await cloud.ctx.db.select({ id: companies.id }).from(companies).where(eq(companies.id, b.companyId))).toHaveLength(1);
    expect((await b.client.get('/me')).status).toBe(200);
  });

  it('lets only the side whose answer is awaited decide; a rejection tells the initiator', async () => {
    const a = await registerCompany(cloud.api, 'Alpha Reject');
    const b = await registerCompany(cloud.api, 'Beta Reject');
    const outsider = await registerCompany(cloud.api, 'Outsider');
    const m = await invite(a, b.email);
    const own = await a.client.post<Refusal>(`/company/mergers/${m.body.id}/accept`);
    expect([own.status, own.body.code]).toEqual([409, 'MERGER_STATE']);
    const ownReject = await a.client.post<Refusal>(`/company/mergers/${m.body.id}/reject`);
    expect([ownReject.status, ownReject.body.code]).toEqual([409, 'MERGER_STATE']);
    for (const path of ['accept', 'reject']) {
      const res = await outsider.client.post<Refusal>(`/company/mergers/${m.body.id}/${path}`);
      expect([res.status, res.body.code]).toEqual([404, 'MERGER_NOT_FOUND']);
    }
    const rejected = await b.client.post<Merger>(`/company/mergers/${m.body.id}/reject`);
    expect([rejected.status, rejected.body.status]).toEqual([200, 'rejected']);
    expect(await notesOf(a.email, 'merger.rejected')).toHaveLength(1);
    const late = await b.client.post<Refusal>(`/company/mergers/${m.body.id}/accept`);
    expect([late.status, late.body.code]).toEqual([409, 'MERGER_STATE']);
  });
});

describe('a merger that completes', () => {
  it('moves the invited company into the initiator as the manual says', async () => {
    const a = await registerCompany(cloud.api, 'Alpha Security');
    const b = await registerCompany(cloud.api, 'Beta Security');
    await cloud.ctx.db.update(companies).set({ rewardPoints: 120 }).where(eq(companies.id, a.companyId));
    await cloud.ctx.db.update(companies).set({ rewardPoints: 35 }).where(eq(companies.id, b.companyId));
    // Same-named roles: A's wins. B's own role moves over.
    const [aViewer] = await cloud.ctx.db.insert(roles).values({ companyId: a.companyId, name: 'Viewer', permissions: ['video.live_view'] }).returning();
    const [bViewer] = await cloud.ctx.db.insert(roles).values({ companyId: b.companyId, name: 'viewer', permissions: [] }).returning();
    const [bTech] = await cloud.ctx.db.insert(roles).values({ companyId: b.companyId, name: 'Technician', permissions: ['site.manage_all', 'device.manage'] }).returning();
    const tech = await employee(b.companyId, { roleId: bTech!.id, limited: false });
    const viewer = await employee(b.companyId, { roleId: bViewer!.id });
    const disabled = await employee(b.companyId, { enabled: false, limited: false });
    const aSite = await newSite(a.client, { name: 'Head Office' });
    const bSite = await newSite(b.client, { name: 'head office' });
    const bOther = await newSite(b.client, { name: 'Depot' });
    const token = randomToken(24);
    await cloud.ctx.db.insert(employeeInvitations).values({ companyId: b.companyId, email: 'not.yet@example.test', tokenHash: sha256(token), expiresAt: new Date(Date.now() + 86_400_000) });
    await cloud.ctx.db.insert(joinRequests).values({ companyId: b.companyId, email: 'joiner@example.test', name: 'Joiner', passwordHash: 'x' });
    const guest = new ApiClient(cloud.api);
    expect((await guest.get(`/invitations/${token}`)).status).toBe(200);
    const techClient = new ApiClient(cloud.api);
    expect((await techClient.post('/auth/login', { email: tech.email, password: PASSWORD })).status).toBe(200);

    const m = await invite(a, b.email);
    expect(m.status).toBe(201);
    expect(m.body).toMatchObject({ initiatedBy: 'company', initiatorCompanyName: 'Alpha Security', initiatorEmail: a.email, invitedCompanyName: 'Beta Security', invitedEmail: b.email });
    const [note] = await notesOf(b.email, 'merger.invitation');
    expect(note?.data).toEqual({ mergerId: m.body.id });
    expect(await cloud.ctx.db.select().from(mailOutbox).where(and(eq(mailOutbox.toAddress, b.email), eq(mailOutbox.kind, 'merger.invitation')))).toHaveLength(1);
    const seen = await b.client.get<{ items: Merger[] }>('/company/mergers');
    expect(seen.body.items.map((x) => x.id)).toEqual([m.body.id]);

    const done = await b.client.post<Merger>(`/company/mergers/${m.body.id}/accept`);
    expect([done.status, done.body.status, done.body.invitedCompanyName]).toEqual([200, 'completed', 'Beta Security']);

    // B is gone; its sessions end at once.
    expect(await cloud.ctx.db.select().from(companies).where(eq(companies.id, b.companyId))).toEqual([]);
    expect((await b.client.get('/me')).status).toBe(401);
    expect((await techClient.get('/me')).status).toBe(401);

    // B's admin: an employee of A with the role "Administrator" (all permissions), limited like every migrated account.
    const [adminRole] = await cloud.ctx.db.select().from(roles).where(and(eq(roles.companyId, a.companyId), eq(roles.name, 'Administrator')));
    expect([...adminRole!.permissions].sort()).toEqual([...ALL_PERMISSIONS].sort());
    const moved = await cloud.ctx.db.select().from(accounts).where(inArray(accounts.email, [b.email, tech.email, viewer.email, disabled.email]));
    const byEmail = Object.fromEntries(moved.map((x) => [x.email, x]));
    expect(byEmail[b.email]).toMatchObject({ companyId: a.companyId, role: 'installer', roleId: adminRole!.id, limited: true, source: 'merger', enabled: true });
    expect(byEmail[tech.email]).toMatchObject({ companyId: a.companyId, limited: true, source: 'merger', enabled: true });
    expect(byEmail[viewer.email]!.roleId).toBe(aViewer!.id);
    expect(byEmail[disabled.email]).toMatchObject({ companyId: a.companyId, enabled: false, limited: true });
    const [techRole] = await cloud.ctx.db.select().from(roles).where(eq(roles.id, byEmail[tech.email]!.roleId!));
    expect([techRole!.companyId, techRole!.name]).toEqual([a.companyId, 'Technician']);

    // B's admin signs in again and is in A.
    const again = new ApiClient(cloud.api);
    expect((await again.post('/auth/login', { email: b.email, password: b.password })).status).toBe(200);
    const me = await again.get<{ company: { id: string; name: string }; account: { role: string; limited: boolean } }>('/me');
    expect([me.body.company.id, me.body.company.name, me.body.account.role, me.body.account.limited]).toEqual([a.companyId, 'Alpha Security', 'installer', true]);

    const [alpha] = await cloud.ctx.db.select().from(companies).where(eq(companies.id, a.companyId));
    expect([alpha!.rewardPoints, alpha!.name]).toEqual([155, 'Alpha Security']);
    const aSites = await cloud.ctx.db.select({ id: sites.id, name: sites.name }).from(sites).where(eq(sites.companyId, a.companyId));
    expect(Object.fromEntries(aSites.map((s) => [s.id, s.name]))).toEqual({ [aSite]: 'Head Office', [bSite]: 'head office (merged)', [bOther]: 'Depot' });

    // B's registration link is dead; its join request is gone.
    const [inv] = await cloud.ctx.db.select().from(employeeInvitations).where(eq(employeeInvitations.tokenHash, sha256(token)));
    expect(inv!.status).toBe('revoked');
    expect((await guest.get(`/invitations/${token}`)).status).toBe(410);
    expect(await cloud.ctx.db.select().from(joinRequests).where(eq(joinRequests.email, 'joiner@example.test'))).toEqual([]);

    // B's operation log is A's now, with the acceptance in it.
    const log = await cloud.ctx.db.select({ companyId: operationLogs.companyId, action: operationLogs.action, email: operationLogs.accountEmail }).from(operationLogs).where(eq(operationLogs.accountEmail, b.email));
    expect(log.every((l) => l.companyId === a.companyId)).toBe(true);
    expect(log.map((l) => l.action)).toEqual(expect.arrayContaining(['Register Company', 'Accept Company Merger']));

    for (const email of [a.email, b.email]) {
      expect(await notesOf(email, 'merger.completed')).toHaveLength(1);
      expect(await cloud.ctx.db.select().from(mailOutbox).where(and(eq(mailOutbox.toAddress, email), eq(mailOutbox.kind, 'merger.completed')))).toHaveLength(1);
    }
    const list = await a.client.get<{ items: Merger[] }>('/company/mergers');
    expect(list.body.items.find((x) => x.id === m.body.id)).toMatchObject({ status: 'completed', invitedCompanyId: null, invitedCompanyName: 'Beta Security' });
  });

  it('platform-initiated: B is asked first, then A; it runs when both have accepted', async () => {
    const a = await registerCompany(cloud.api, 'Alpha Platform');
    const b = await registerCompany(cloud.api, 'Beta Platform');
    const refused = await a.client.post<Refusal>('/vendor/mergers', { initiatorCompanyId: a.companyId, invitedCompanyId: b.companyId });
    expect([refused.status, refused.body.code]).toEqual([403, 'VENDOR_ONLY']);
    const missing = await vendor.post<Refusal>('/vendor/mergers', { initiatorCompanyId: a.companyId, invitedCompanyId: randomUUID() });
    expect([missing.status, missing.body.code]).toEqual([404, 'COMPANY_NOT_FOUND']);

    const m = await vendor.post<Merger>('/vendor/mergers', { initiatorCompanyId: a.companyId, invitedCompanyId: b.companyId });
    expect(m.status).toBe(201);
    expect(m.body).toMatchObject({ initiatedBy: 'platform', initiatorAccepted: false, invitedAccepted: false, status: 'pending', invitedEmail: b.email });
    expect(await notesOf(b.email, 'merger.invitation')).toHaveLength(1);
    expect(await notesOf(a.email, 'merger.invitation')).toHaveLength(0);

    const early = await a.client.post<Refusal>(`/company/mergers/${m.body.id}/accept`);
    expect([early.status, early.body.code]).toEqual([409, 'MERGER_STATE']);
    const bAccepts = await b.client.post<Merger>(`/company/mergers/${m.body.id}/accept`);
    expect([bAccepts.status, bAccepts.body.status, bAccepts.body.invitedAccepted, bAccepts.body.initiatorAccepted]).toEqual([200, 'pending', true, false]);
    expect(await notesOf(a.email, 'merger.invitation')).toHaveLength(1);
    const bAgain = await b.client.post<Refusal>(`/company/mergers/${m.body.id}/accept`);
    expect([bAgain.status, bAgain.body.code]).toEqual([409, 'MERGER_STATE']);

    const aAccepts = await a.client.post<Merger>(`/company/mergers/${m.body.id}/accept`);
    expect([aAccepts.status, aAccepts.body.status]).toEqual([200, 'completed']);
    expect(await cloud.ctx.db.select().from(companies).where(eq(companies.id, b.companyId))).toEqual([]);
    expect((await b.client.get('/me')).status).toBe(401);
    const all = await vendor.get<{ items: Merger[] }>('/vendor/mergers');
    expect(all.body.items.find((x) => x.id === m.body.id)).toMatchObject({ status: 'completed', initiatorCompanyName: 'Alpha Platform', invitedCompanyName: 'Beta Platform' });
    const notVendor = await a.client.get<Refusal>('/vendor/mergers');
    expect([notVendor.status, notVendor.body.code]).toEqual([403, 'VENDOR_ONLY']);
    const vendorLog = await cloud.ctx.db.select({ action: operationLogs.action }).from(operationLogs).where(eq(operationLogs.accountEmail, VENDOR_ADMIN.email));
    expect(vendorLog.map((l) => l.action)).toContain('Start Company Merger');
  });
});

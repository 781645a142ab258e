import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collaboration } from '@vigil/protocol/api';
import { accounts, mailOutbox, notifications, operationLogs, regionFeatures, roles, sites } from '../db/schema.js';
import { hashSecret } from '../security/secrets.js';
import { ApiClient, newSite, registerCompany, signInCustomer, startTestCloud, VENDOR_ADMIN, type TestCloud } from '../testing/cloud.js';
import { endCollaborationsAtHandover } from './collaborations.js';

let cloud: TestCloud;
type Company = Awaited<ReturnType<typeof registerCompany>>;
let owner: Company;
let isp: Company;
let other: Company;

beforeAll(async () => {
  cloud = await startTestCloud();
  owner = await registerCompany(cloud.api, 'Owner Security');
  isp = await registerCompany(cloud.api, 'Partner Installations');
  other = await registerCompany(cloud.api, 'Bystander Ltd');
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

type Refusal = { code: string; message: string };

/** An employee written into the database (role with these permissions), and a client signed in as it. */
async function employee(companyId: string, permissions: string[], opts: { limited?: boolean } = {}) {
  const email = `emp.${randomBytes(5).toString('hex')}@example.test`;
  const password = 'Employee-pass1';
  const [role] = await cloud.ctx.db.insert(roles).values({ companyId, name: `Role ${randomBytes(4).toString('hex')}`, permissions }).returning();
  const [account] = await cloud.ctx.db
    .insert(accounts)
    .values({ companyId, email, name: 'Employee', passwordHash: await hashSecret(password), role: 'installer', roleId: role!.id, limited: opts.limited ?? false })
    .returning();
  const client = new ApiClient(cloud.api);
  expect((await client.post('/auth/login', { email, password })).status).toBe(200);
  return { id: account!.id, email, client };
}

async function siteWithStatus(status: string) {
  const id = await newSite(owner.client);
  await cloud.ctx.db.update(sites).set({ status }).where(eq(sites.id, id));
  return id;
}

const invite = (client: ApiClient, siteId: string, type: 'isp' | 'msp', partnerEmail: string) =>
  client.post<Collaboration & Refusal>(`/sites/${siteId}/collaborations`, { type, partnerEmail });

async function accountId(email: string) {
  const [row] = await cloud.ctx.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.email, email));
  return row!.id;
}

describe('inviting a partner (scenario 20)', () => {
  it('refuses every account the manual excludes, with its code, and creates nothing', async () => {
    const site = await newSite(owner.client);
    const ownEmployee = await employee(owner.companyId, ['site.manage_all']);
    const noSites = await employee(isp.companyId, ['device.manage']);
    const limited = await employee(isp.companyId, ['site.manage_all'], { limited: true });
    const foreign = new ApiClient(cloud.api);
    const fr = await foreign.post<{ account: { email: string } }>('/companies', {
      company: { name: 'Installateur FR', type: 'installer', countryCode: 'FR' },
      admin: { name: 'Admin', email: `fr.${randomBytes(3).toString('hex')}@example.test`, password: 'Correct-Horse9' },
    });
    expect(fr.status).toBe(201);
    const customer = await signInCustomer(cloud);

    const cases: [string, 'isp' | 'msp', string, number, string][] = [
      ['no such account', 'isp', 'nobody@example.test', 422, 'UNKNOWN_ACCOUNT'],
      ['the vendor admin', 'isp', VENDOR_ADMIN.email, 422, 'UNKNOWN_ACCOUNT'],
      ['a customer', 'isp', customer.email, 422, 'UNKNOWN_ACCOUNT'],
      ['own Installer Admin', 'isp', owner.email, 422, 'OWN_COMPANY_ACCOUNT'],
      ['own employee', 'isp', ownEmployee.email, 422, 'OWN_COMPANY_ACCOUNT'],
      ['another country', 'isp', fr.body.account.email, 422, 'REGION_MISMATCH'],
      ['ISP without site permission', 'isp', noSites.email, 422, 'ISP_WITHOUT_SITE_PERMISSION'],
      ['ISP limited account', 'isp', limited.email, 422, 'ISP_WITHOUT_SITE_PERMISSION'],
      ['MSP on a site not handed over', 'msp', isp.email, 409, 'SITE_STATUS_FORBIDS'],
    ];
    for (const [what, type, email, status, code] of cases) {
      const res = await invite(owner.client, site, type, email);
      expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status, code });
    }

    const handedOver = await siteWithStatus('AuthorizedAndMonitoring');
    const mspEmployee = await employee(isp.companyId, ['site.manage_all']);
    const notAdmin = await invite(owner.client, handedOver, 'msp', mspEmployee.email);
    expect([notAdmin.status, notAdmin.body.code]).toEqual([422, 'MSP_NOT_INSTALLER_ADMIN']);
    const ispAfter = await invite(owner.client, handedOver, 'isp', isp.email);
    expect([ispAfter.status, ispAfter.body.code]).toEqual([409, 'SITE_STATUS_FORBIDS']);
    for (const status of ['ToBeAccepted', 'HandedOverNotAuthorized', 'Shared', 'Disbanded']) {
      const s = await siteWithStatus(status);
      for (const type of ['isp', 'msp'] as const) {
        const res = await invite(owner.client, s, type, isp.email);
        expect([status, type, res.status, res.body.code]).toEqual([status, type, 409, 'SITE_STATUS_FORBIDS']);
      }
    }

    const list = await owner.client.get<{ items: Collaboration[] }>(`/sites/${site}/collaborations`);
    expect(list.body.items).toEqual([]);
  });

  it('needs site management of the site, and the region feature', async () => {
    const site = await newSite(owner.client);
    const noManage = await employee(owner.companyId, ['device.manage']);
    const res = await invite(noManage.client, site, 'isp', isp.email);
    expect([res.status, res.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    const outsider = await invite(other.client, site, 'isp', isp.email);
    expect([outsider.status, outsider.body.code]).toEqual([404, 'SITE_NOT_FOUND']);

    // A country without the feature: its companies cannot invite.
    const de = new ApiClient(cloud.api);
    const reg = await de.post('/companies', {
      company: { name: 'Errichter DE', type: 'installer', countryCode: 'DE' },
      admin: { name: 'Admin', email: `de.${randomBytes(3).toString('hex')}@example.test`, password: 'Correct-Horse9' },
    });
    expect(reg.status).toBe(201);
    await cloud.ctx.db.insert(regionFeatures).values({ countryCode: 'DE', feature: 'site_collaboration', enabled: false });
    const deSite = await newSite(de);
    const off = await invite(de, deSite, 'isp', isp.email);
    expect([off.status, off.body.code]).toEqual([403, 'FEATURE_UNAVAILABLE_IN_REGION']);
  });
});

describe('an ISP on a site', () => {
  it('sees the site once it accepts, and loses it the moment the owner cancels', async () => {
    const site = await newSite(owner.client, { name: 'Warehouse North' });
    const ownSite = await newSite(isp.client, { name: 'Partner own site' });
    const invited = await invite(owner.client, site, 'isp', isp.email);
    expect(invited.status).toBe(201);
    expect(invited.body).toMatchObject({ siteId: site, siteName: 'Warehouse North', type: 'isp', status: 'invited', partnerEmail: isp.email, partnerCompanyName: 'Partner Installations', ownerCompanyName: 'Owner Security' });
    const again = await invite(owner.client, site, 'isp', isp.email);
    expect([again.status, again.body.code]).toEqual([422, 'ALREADY_COLLABORATING']);

    const partnerId = await accountId(isp.email);
    const [note] = await cloud.ctx.db.select().from(notifications).where(and(eq(notifications.accountId, partnerId), eq(notifications.kind, 'collaboration.invitation')));
    expect(note?.data).toMatchObject({ collaborationId: invited.body.id, siteId: site });
    const mails = await cloud.ctx.db.select().from(mailOutbox).where(and(eq(mailOutbox.toAddress, isp.email), eq(mailOutbox.kind, 'collaboration.invitation')));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain('Warehouse North');

    // Invited is not yet active: nothing to see.
    expect((await isp.client.get(`/sites/${site}`)).status).toBe(404);
    const mine = await isp.client.get<{ items: Collaboration[] }>('/collaborations');
    expect(mine.body.items.map((c) => [c.id, c.status])).toEqual([[invited.body.id, 'invited']]);

    // Only the invited account answers.
    for (const client of [owner.client, other.client]) {
      const res = await client.post<Refusal>(`/collaborations/${invited.body.id}/accept`);
      expect([res.status, res.body.code]).toEqual([404, 'COLLABORATION_NOT_FOUND']);
    }

    const accepted = await isp.client.post<Collaboration>(`/collaborations/${invited.body.id}/accept`);
    expect([accepted.status, accepted.body.status]).toEqual([200, 'active']);
    const twice = await isp.client.post<Refusal>(`/collaborations/${invited.body.id}/decline`);
    expect([twice.status, twice.body.code]).toEqual([409, 'COLLABORATION_STATE']);
    const ownerId = await accountId(owner.email);
    const told = await cloud.ctx.db.select().from(notifications).where(and(eq(notifications.accountId, ownerId), eq(notifications.kind, 'collaboration.accepted')));
    expect(told).toHaveLength(1);
    expect(await cloud.ctx.db.select().from(mailOutbox).where(and(eq(mailOutbox.toAddress, owner.email), eq(mailOutbox.kind, 'collaboration.accepted')))).toHaveLength(1);

    // The partner works on the site with its own permissions.
    const list = await isp.client.get<{ items: { id: string }[] }>('/sites');
    expect(list.body.items.map((s) => s.id).sort()).toEqual([site, ownSite].sort());
    expect((await isp.client.get<{ name: string }>(`/sites/${site}`)).body.name).toBe('Warehouse North');
    expect((await isp.client.get(`/sites/${site}/devices`)).status).toBe(200);
    // ... but neither manages the site's partners, edits or deletes the site, nor does its own company see the site.
    const manage = await isp.client.get<Refusal>(`/sites/${site}/collaborations`);
    expect([manage.status, manage.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    const edit = await isp.client.patch<Refusal>(`/sites/${site}`, { customerRemark: 'changed by the partner' });
    expect([edit.status, edit.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    const removal = await isp.client.delete<Refusal>(`/sites/${site}`);
    expect([removal.status, removal.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect((await owner.client.get<{ customerRemark: string }>(`/sites/${site}`)).body.customerRemark).toBe('');
    const ispColleague = await employee(isp.companyId, ['site.manage_all']);
    expect((await ispColleague.client.get(`/sites/${site}`)).status).toBe(404);
    const ownerList = await owner.client.get<{ items: { id: string }[] }>('/sites');
    expect(ownerList.body.items.map((s) => s.id)).not.toContain(ownSite);

    const cancelled = await owner.client.delete(`/sites/${site}/collaborations/${invited.body.id}`);
    expect(cancelled.status).toBe(204);
    expect((await isp.client.get(`/sites/${site}`)).status).toBe(404);
    expect((await isp.client.get(`/sites/${site}/devices`)).status).toBe(404);
    const listAfter = await isp.client.get<{ items: { id: string }[] }>('/sites');
    expect(listAfter.body.items.map((s) => s.id)).toEqual([ownSite]);
    const cancelAgain = await owner.client.delete<Refusal>(`/sites/${site}/collaborations/${invited.body.id}`);
    expect([cancelAgain.status, cancelAgain.body.code]).toEqual([409, 'COLLABORATION_STATE']);
    const unknown = await owner.client.delete<Refusal>(`/sites/${site}/collaborations/${crypto.randomUUID()}`);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'COLLABORATION_NOT_FOUND']);

    // Invited again after a cancellation: allowed.
    expect((await invite(owner.client, site, 'isp', isp.email)).status).toBe(201);

    const ownerLog = await cloud.ctx.db.select({ action: operationLogs.action, result: operationLogs.result }).from(operationLogs).where(eq(operationLogs.companyId, owner.companyId));
    expect(ownerLog).toEqual(expect.arrayContaining([{ action: 'Invite Site Collaborator', result: 'succeeded' }, { action: 'Cancel Site Collaboration', result: 'succeeded' }]));
    const ispLog = await cloud.ctx.db.select({ action: operationLogs.action }).from(operationLogs).where(eq(operationLogs.companyId, isp.companyId));
    expect(ispLog.map((l) => l.action)).toContain('Accept Site Collaboration');
  });

  it('an employee with Manage Assigned Sites may be the ISP; a declined invitation gives no access', async () => {
    const site = await newSite(owner.client);
    const assigned = await employee(isp.companyId, ['site.manage_assigned', 'device.manage']);
    const invited = await invite(owner.client, site, 'isp', assigned.email);
    expect(invited.status).toBe(201);
    const declined = await assigned.client.post<Collaboration>(`/collaborations/${invited.body.id}/decline`);
    expect([declined.status, declined.body.status]).toEqual([200, 'declined']);
    expect((await assigned.client.get(`/sites/${site}`)).status).toBe(404);
    const accept = await assigned.client.post<Refusal>(`/collaborations/${invited.body.id}/accept`);
    expect([accept.status, accept.body.code]).toEqual([409, 'COLLABORATION_STATE']);
    const ownerId = await accountId(owner.email);
    expect(await cloud.ctx.db.select().from(notifications).where(and(eq(notifications.accountId, ownerId), eq(notifications.kind, 'collaboration.declined')))).toHaveLength(1);
  });

  it('a handover ends the ISPs of the site but not its MSP', async () => {
    const site = await newSite(owner.client);
    const ispInvite = await invite(owner.client, site, 'isp', isp.email);
    expect((await isp.client.post(`/collaborations/${ispInvite.body.id}/accept`)).status).toBe(200);
    const pendingIsp = await employee(isp.companyId, ['site.manage_all']);
    const pending = await invite(owner.client, site, 'isp', pendingIsp.email);
    expect(pending.status).toBe(201);
    // An MSP from an earlier stage of the site, written directly: the handover must leave it alone.
    await cloud.ctx.db.update(sites).set({ status: 'AuthorizedAndMonitoring' }).where(eq(sites.id, site));
    const msp = await invite(owner.client, site, 'msp', other.email);
    expect(msp.status).toBe(201);
    expect((await other.client.post(`/collaborations/${msp.body.id}/accept`)).status).toBe(200);
    expect((await isp.client.get(`/sites/${site}`)).status).toBe(200);

    const ended = await cloud.ctx.db.transaction((tx) => endCollaborationsAtHandover(tx, site));
    expect(ended.sort()).toEqual([ispInvite.body.id, pending.body.id].sort());
    const after = await owner.client.get<{ items: Collaboration[] }>(`/sites/${site}/collaborations`);
    const statusOf = Object.fromEntries(after.body.items.map((c) => [c.id, c.status]));
    expect(statusOf).toEqual({ [ispInvite.body.id]: 'ended', [pending.body.id]: 'ended', [msp.body.id]: 'active' });
    expect((await isp.client.get(`/sites/${site}`)).status).toBe(404);
    expect((await other.client.get(`/sites/${site}`)).status).toBe(200);
    const lateAccept = await pendingIsp.client.post<Refusal>(`/collaborations/${pending.body.id}/accept`);
    expect([lateAccept.status, lateAccept.body.code]).toEqual([409, 'COLLABORATION_STATE']);
  });
});

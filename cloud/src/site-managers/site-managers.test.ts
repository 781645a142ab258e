import { randomBytes } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorReply, SiteManager, SitesManagersReply } from '@vigil/protocol/api';
import { accounts, notifications, roles, siteManagers, sites } from '../db/schema.js';
import { hashSecret } from '../security/secrets.js';
import { until } from '../testing/edge.js';
import { ApiClient, newSite, registerCompany, signInCustomer, startTestCloud, type TestCloud } from '../testing/cloud.js';

let cloud: TestCloud;
let company: Awaited<ReturnType<typeof registerCompany>>;
let other: Awaited<ReturnType<typeof registerCompany>>;
let adminId: string;

const PASSWORD = 'Employee-pass1';
let passwordHash: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  company = await registerCompany(cloud.api, 'Managers Security');
  other = await registerCompany(cloud.api, 'Other Security');
  passwordHash = await hashSecret(PASSWORD);
  adminId = (await cloud.ctx.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.email, company.email)))[0]!.id;
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

type Reply<T> = T & ErrorReply;

/** Employees of a role with these permissions, written into the database; `signIn` gives a client for the first. */
async function employees(permissions: string[], n = 1, companyId = company.companyId) {
  const [role] = await cloud.ctx.db.insert(roles).values({ companyId, name: `Role ${randomBytes(4).toString('hex')}`, permissions }).returning();
  return cloud.ctx.db
    .insert(accounts)
    .values(
      Array.from({ length: n }, (_, i) => ({
        companyId,
        email: `emp${i}.${randomBytes(5).toString('hex')}@example.test`,
        name: `Employee ${i}`,
        passwordHash,
        role: 'installer',
        roleId: role!.id,
        limited: false,
      })),
    )
    .returning({ id: accounts.id, email: accounts.email });
}

async function signIn(email: string): Promise<ApiClient> {
  const client = new ApiClient(cloud.api);
  expect((await client.post('/auth/login', { email, password: PASSWORD })).status).toBe(200);
  return client;
}

const assign = (client: ApiClient, siteIds: string[], managers: { accountId: string; expiresAt: string | null }[]) =>
  client.post<Reply<SitesManagersReply>>('/site-managers', { siteIds, managers });
const managersOf = async (siteId: string) => (await company.client.get<{ items: SiteManager[] }>(`/sites/${siteId}/managers`)).body.items;
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
const notificationsOf = (accountId: string, kind: string) =>
  cloud.ctx.db.select().from(notifications).where(and(eq(notifications.accountId, accountId), eq(notifications.kind, kind)));

describe('assigning site managers (scenario 15)', () => {
  it('assigns installers with their validity to several sites at once and notifies each of them', async () => {
    const [a, b] = await employees(['site.manage_assigned'], 2);
    const s1 = await newSite(company.client);
    const s2 = await newSite(company.client);
    const until1 = inAnHour();

    const res = await assign(company.client, [s1, s2], [
      { accountId: a!.id, expiresAt: until1 },
      { accountId: b!.id, expiresAt: null },
    ]);
    expect(res.status).toBe(200);
    for (const site of [s1, s2]) {
      const list = await managersOf(site);
      // The creator (the Installer Admin, Manage All Sites) stays Lifetime; Lifetime managers are listed first.
      expect(list.map((m) => [m.accountId, m.expiresAt, m.manageAll])).toEqual([
        [adminId, null, true],
        [b!.id, null, false],
        [a!.id, new Date(until1).toISOString(), false],
      ]);
    }
    expect(await notificationsOf(a!.id, 'site_manager.assigned')).toHaveLength(2);
    expect(await notificationsOf(b!.id, 'site_manager.assigned')).toHaveLength(2);

    // The Site Manager column: several sites in one call.
    const column = await company.client.get<SitesManagersReply>(`/site-managers?siteIds=${s1},${s2}`);
    expect(column.body.items.map((i) => [i.siteId, i.managers.length])).toEqual([
      [s1, 3],
      [s2, 3],
    ]);

    // A change of validity notifies the manager concerned, and only it.
    const changed = await company.client.patch<Reply<SiteManager>>(`/sites/${s1}/managers/${a!.id}`, { expiresAt: null });
    expect(changed.status).toBe(200);
    expect(changed.body.expiresAt).toBeNull();
    expect(await notificationsOf(a!.id, 'site_manager.changed')).toHaveLength(1);
    expect(await notificationsOf(b!.id, 'site_manager.changed')).toHaveLength(0);
  });

  it('refuses the 101st site manager of a site, and changes nothing', async () => {
    const site = await newSite(company.client);
    const many = await employees(['site.manage_assigned'], 100);
    const first99 = many.slice(0, 99).map((e) => ({ accountId: e.id, expiresAt: null }));
    expect((await assign(company.client, [site], first99)).status).toBe(200);
    expect(await managersOf(site)).toHaveLength(100);

    const res = await assign(company.client, [site], [{ accountId: many[99]!.id, expiresAt: null }]);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('SITE_MANAGER_LIMIT');
    expect(await managersOf(site)).toHaveLength(100);
    expect(await notificationsOf(many[99]!.id, 'site_manager.assigned')).toHaveLength(0);
  });

  it('requires a Lifetime manager on every site, and keeps Manage All Sites holders Lifetime', async () => {
    const [creator] = await employees(['site.manage_assigned']);
    const [allSites] = await employees(['site.manage_all']);
    const site = await newSite(await signIn(creator!.email));

    // Its only Lifetime manager, the creator, given an end: refused.
    const noLifetime = await assign(company.client, [site], [{ accountId: creator!.id, expiresAt: inAnHour() }]);
    expect(noLifetime.status).toBe(422);
    expect(noLifetime.body.code).toBe('LIFETIME_MANAGER_REQUIRED');
    const patchLast = await company.client.patch<ErrorReply>(`/sites/${site}/managers/${creator!.id}`, { expiresAt: inAnHour() });
    expect(patchLast.status).toBe(422);
    expect(patchLast.body.code).toBe('LIFETIME_MANAGER_REQUIRED');
    const removeLast = await company.client.delete<ErrorReply>(`/sites/${site}/managers/${creator!.id}`);
    expect(removeLast.status).toBe(422);
    expect(removeLast.body.code).toBe('LIFETIME_MANAGER_REQUIRED');

    const limited = await assign(company.client, [site], [{ accountId: allSites!.id, expiresAt: inAnHour() }]);
    expect(limited.status).toBe(422);
    expect(limited.body.code).toBe('MANAGE_ALL_IS_LIFETIME');
    expect((await assign(company.client, [site], [{ accountId: allSites!.id, expiresAt: null }])).status).toBe(200);
    const edit = await company.client.patch<ErrorReply>(`/sites/${site}/managers/${allSites!.id}`, { expiresAt: inAnHour() });
    expect(edit.status).toBe(422);
    expect(edit.body.code).toBe('MANAGE_ALL_IS_LIFETIME');

    const past = await assign(company.client, [site], [{ accountId: creator!.id, expiresAt: new Date(Date.now() - 1000).toISOString() }]);
    expect(past.status).toBe(422);
    expect(past.body.code).toBe('MANAGER_EXPIRY_PAST');

    const kept = await managersOf(site);
    expect(kept.map((m) => m.accountId).sort()).toEqual([creator!.id, allSites!.id].sort());
    expect(kept.every((m) => m.expiresAt === null)).toBe(true);
    // With another Lifetime manager, the creator may now be given an end.
    expect((await company.client.patch(`/sites/${site}/managers/${creator!.id}`, { expiresAt: inAnHour() })).status).toBe(200);
  });

  it('refuses accounts that cannot manage sites, Disbanded sites and another company’s sites', async () => {
    const site = await newSite(company.client);
    const customer = await signInCustomer(cloud);
    const [foreign] = await employees(['site.manage_all'], 1, other.companyId);
    const [disabled] = await employees(['site.manage_assigned']);
    await cloud.ctx.db.update(accounts).set({ enabled: false }).where(eq(accounts.id, disabled!.id));
    for (const accountId of [customer.accountId, foreign!.id, disabled!.id]) {
      const res = await assign(company.client, [site], [{ accountId, expiresAt: null }]);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('MANAGER_NOT_ELIGIBLE');
    }

    const [emp] = await employees(['site.manage_assigned']);
    const disbanded = await newSite(company.client);
    await cloud.ctx.db.update(sites).set({ status: 'Disbanded' }).where(eq(sites.id, disbanded));
    const gone = await assign(company.client, [site, disbanded], [{ accountId: emp!.id, expiresAt: null }]);
    expect(gone.status).toBe(409);
    expect(gone.body.code).toBe('SITE_STATUS_FORBIDS');

    const theirs = await newSite(other.client);
    const hidden = await assign(company.client, [theirs], [{ accountId: emp!.id, expiresAt: null }]);
    expect(hidden.status).toBe(404);
    expect(hidden.body.code).toBe('SITE_NOT_FOUND');
    const hiddenList = await other.client.get<ErrorReply>(`/sites/${site}/managers`);
    expect(hiddenList.status).toBe(404);
    expect(hiddenList.body.code).toBe('SITE_NOT_FOUND');

    const rows = await cloud.ctx.db.select().from(siteManagers).where(inArray(siteManagers.siteId, [site, disbanded]));
    expect(rows.map((r) => r.accountId)).toEqual([adminId, adminId]);
    const asCustomer = await customer.client.get<ErrorReply>(`/sites/${site}/managers`);
    expect(asCustomer.status).toBe(403);
    expect(asCustomer.body.code).toBe('PERMISSION_DENIED');
  });
});

describe('site managers without Manage All Sites (scenario 16)', () => {
  it('may not assign nor remove others, but may remove itself, and then loses the site', async () => {
    const [me, colleague] = await employees(['site.manage_assigned'], 2);
    const site = await newSite(company.client);
    expect((await assign(company.client, [site], [{ accountId: me!.id, expiresAt: null }, { accountId: colleague!.id, expiresAt: null }])).status).toBe(200);
    const client = await signIn(me!.email);
    expect((await client.get(`/sites/${site}`)).status).toBe(200);

    const assignRes = await assign(client, [site], [{ accountId: me!.id, expiresAt: null }]);
    expect(assignRes.status).toBe(403);
    expect(assignRes.body.code).toBe('PERMISSION_DENIED');
    const editRes = await client.patch<ErrorReply>(`/sites/${site}/managers/${colleague!.id}`, { expiresAt: inAnHour() });
    expect(editRes.status).toBe(403);
    expect(editRes.body.code).toBe('PERMISSION_DENIED');
    const removeOther = await client.delete<ErrorReply>(`/sites/${site}/managers/${colleague!.id}`);
    expect(removeOther.status).toBe(403);
    expect(removeOther.body.code).toBe('PERMISSION_DENIED');
    expect((await managersOf(site)).map((m) => m.accountId)).toContain(colleague!.id);

    const removeSelf = await client.delete(`/sites/${site}/managers/${me!.id}`);
    expect(removeSelf.status).toBe(204);
    expect((await managersOf(site)).map((m) => m.accountId)).not.toContain(me!.id);
    const after = await client.get<ErrorReply>(`/sites/${site}`);
    expect(after.status).toBe(404);
    expect(after.body.code).toBe('SITE_NOT_FOUND');

    // A holder of Manage All Sites removes anyone; the removed manager is told.
    const removed = await company.client.delete(`/sites/${site}/managers/${colleague!.id}`);
    expect(removed.status).toBe(204);
    expect(await notificationsOf(colleague!.id, 'site_manager.removed')).toHaveLength(1);
  });

  it('loses the site the moment its assignment expires', async () => {
    const [temp] = await employees(['site.manage_assigned']);
    const site = await newSite(company.client);
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    expect((await assign(company.client, [site], [{ accountId: temp!.id, expiresAt }])).status).toBe(200);
    const client = await signIn(temp!.email);
    expect((await client.get(`/sites/${site}`)).status).toBe(200);

    const gone = await until(() => client.get<ErrorReply>(`/sites/${site}`), (r) => r.status !== 200, 'the assignment to expire', 5_000);
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('SITE_NOT_FOUND');
    expect(Date.now()).toBeGreaterThanOrEqual(new Date(expiresAt).getTime());
    // Listed as expired for whoever manages the site.
    expect((await managersOf(site)).find((m) => m.accountId === temp!.id)).toMatchObject({ expired: true });
  });
});

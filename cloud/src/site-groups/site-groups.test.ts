import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorReply, Site, SiteGroup, SiteList } from '@vigil/protocol/api';
import { siteGroups, sites } from '../db/schema.js';
import type { ApiClient} from '../testing/cloud.js';
import { newSite, registerCompany, signInCustomer, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';

let cloud: TestCloud;
let company: Awaited<ReturnType<typeof registerCompany>>;
let other: Awaited<ReturnType<typeof registerCompany>>;

beforeAll(async () => {
  cloud = await startTestCloud();
  company = await registerCompany(cloud.api, 'Grouping Security');
  other = await registerCompany(cloud.api, 'Other Security');
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

type Reply<T> = T & ErrorReply;
const put = <T>(client: ApiClient, path: string, body: unknown) => client.call<Reply<T>>('PUT', path, body);
const createGroup = (client: ApiClient, name: string) => client.post<Reply<SiteGroup>>('/site-groups', { name });
const groupOf = async (siteId: string) => (await cloud.ctx.db.select({ g: sites.groupId }).from(sites).where(eq(sites.id, siteId)))[0]!.g;
const groups = async (client: ApiClient) => (await client.get<{ items: SiteGroup[] }>('/site-groups')).body.items;

describe('site groups', () => {
  it('creates groups with names unique in the company, whatever the case, renames and lists them', async () => {
    const created = await createGroup(company.client, ' London ');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'London', siteIds: [] });

    const again = await createGroup(company.client, 'LONDON');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('SITE_GROUP_NAME_TAKEN');
    // Another company may use the same name.
    expect((await createGroup(other.client, 'London')).status).toBe(201);

    const paris = await createGroup(company.client, 'Paris');
    const clash = await company.client.patch<Reply<SiteGroup>>(`/site-groups/${paris.body.id}`, { name: 'london' });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('SITE_GROUP_NAME_TAKEN');
    const renamed = await company.client.patch<Reply<SiteGroup>>(`/site-groups/${paris.body.id}`, { name: 'Paris stores' });
    expect(renamed.status).toBe(200);
    expect((await groups(company.client)).map((g) => g.name)).toEqual(['London', 'Paris stores']);
  });

  it('keeps a personal site in one group at most: joining a second group leaves the first (scenario 14)', async () => {
    const first = await createGroup(company.client, 'Chain A');
    const second = await createGroup(company.client, 'Chain B');
    const site = await newSite(company.client);

    const joined = await put<{ siteId: string; groupId: string }>(company.client, `/sites/${site}/group`, { groupId: first.body.id });
    expect(joined.status).toBe(200);
    expect(joined.body).toEqual({ siteId: site, groupId: first.body.id });

    const batch = await put<SiteGroup>(company.client, `/site-groups/${second.body.id}/sites`, { siteIds: [site] });
    expect(batch.status).toBe(200);
    expect(batch.body.siteIds).toEqual([site]);
    const all = await groups(company.client);
    expect(all.find((g) => g.id === first.body.id)!.siteIds).toEqual([]);
    expect(all.find((g) => g.id === second.body.id)!.siteIds).toEqual([site]);
    expect(await groupOf(site)).toBe(second.body.id);

    // The site list filters by group and shows each site's group.
    const listed = await company.client.get<SiteList>(`/sites?groupId=${second.body.id}`);
    expect(listed.body.items.map((s) => s.id)).toEqual([site]);
    expect(listed.body.items[0]!.groupId).toBe(second.body.id);

    const out = await put<{ groupId: null }>(company.client, `/sites/${site}/group`, { groupId: null });
    expect(out.status).toBe(200);
    expect(await groupOf(site)).toBeNull();
  });

  it('refuses team sites and Disbanded sites, in a batch too, changing nothing', async () => {
    const group = await createGroup(company.client, 'Refusals');
    const personal = await newSite(company.client);
    const team = await newSite(company.client, { type: 'team' });
    const disbanded = await newSite(company.client);
    await cloud.ctx.db.update(sites).set({ status: 'Disbanded' }).where(eq(sites.id, disbanded));

    const teamOne = await put(company.client, `/sites/${team}/group`, { groupId: group.body.id });
    expect(teamOne.status).toBe(422);
    expect(teamOne.body.code).toBe('GROUP_PERSONAL_ONLY');
    const teamBatch = await put(company.client, `/site-groups/${group.body.id}/sites`, { siteIds: [personal, team] });
    expect(teamBatch.status).toBe(422);
    expect(teamBatch.body.code).toBe('GROUP_PERSONAL_ONLY');
    const gone = await put(company.client, `/sites/${disbanded}/group`, { groupId: group.body.id });
    expect(gone.status).toBe(409);
    expect(gone.body.code).toBe('SITE_STATUS_FORBIDS');
    const goneBatch = await put(company.client, `/site-groups/${group.body.id}/sites`, { siteIds: [personal, disbanded] });
    expect(goneBatch.status).toBe(409);
    expect(goneBatch.body.code).toBe('SITE_STATUS_FORBIDS');

    const rows = await cloud.ctx.db.select({ g: sites.groupId }).from(sites).where(inArray(sites.id, [personal, team, disbanded]));
    expect(rows.every((r) => r.g === null)).toBe(true);
  });

  it('groups a personal site as it is added, but not a team site, nor into another company’s group', async () => {
    const group = await createGroup(company.client, 'New stores');
    const added = await company.client.post<Reply<Site>>('/sites', { name: 'Store 12', type: 'personal', timeZone: 'UTC', groupId: group.body.id });
    expect(added.status).toBe(201);
    expect(added.body.groupId).toBe(group.body.id);

    const team = await company.client.post<Reply<Site>>('/sites', { name: 'Store HQ', type: 'team', timeZone: 'UTC', groupId: group.body.id });
    expect(team.status).toBe(422);
    expect(team.body.code).toBe('GROUP_PERSONAL_ONLY');
    const foreignGroup = (await groups(other.client))[0]!;
    const foreign = await company.client.post<Reply<Site>>('/sites', { name: 'Store 13', type: 'personal', timeZone: 'UTC', groupId: foreignGroup.id });
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('SITE_GROUP_NOT_FOUND');
    const made = await cloud.ctx.db.select().from(sites).where(inArray(sites.name, ['Store HQ', 'Store 13']));
    expect(made).toEqual([]);
  });

  it('deleting a group leaves its sites ungrouped', async () => {
    const group = await createGroup(company.client, 'Short-lived');
    const a = await newSite(company.client);
    const b = await newSite(company.client);
    expect((await put(company.client, `/site-groups/${group.body.id}/sites`, { siteIds: [a, b] })).status).toBe(200);

    const deleted = await company.client.delete(`/site-groups/${group.body.id}`);
    expect(deleted.status).toBe(204);
    expect(await groupOf(a)).toBeNull();
    expect(await groupOf(b)).toBeNull();
    expect(await cloud.ctx.db.select().from(siteGroups).where(eq(siteGroups.id, group.body.id))).toEqual([]);
  });

  it('hides another company’s groups and sites, and refuses callers without site management', async () => {
    const mine = await createGroup(company.client, 'Mine');
    const site = await newSite(company.client);
    const theirSite = await newSite(other.client);

    for (const res of [
      await other.client.patch<ErrorReply>(`/site-groups/${mine.body.id}`, { name: 'Taken over' }),
      await other.client.delete<ErrorReply>(`/site-groups/${mine.body.id}`),
      await put(other.client, `/site-groups/${mine.body.id}/sites`, { siteIds: [theirSite] }),
      await put(other.client, `/sites/${theirSite}/group`, { groupId: mine.body.id }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('SITE_GROUP_NOT_FOUND');
    }
    const foreignSite = await put(other.client, `/sites/${site}/group`, { groupId: null });
    expect(foreignSite.status).toBe(404);
    expect(foreignSite.body.code).toBe('SITE_NOT_FOUND');
    expect((await groups(other.client)).some((g) => g.id === mine.body.id)).toBe(false);

    const customer = await signInCustomer(cloud);
    const noSites = await signInEmployee(cloud, company.companyId, ['device.manage']);
    for (const client of [customer.client, noSites]) {
      const res = await client.post<ErrorReply>('/site-groups', { name: 'Not allowed' });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('PERMISSION_DENIED');
    }
    expect((await groups(company.client)).some((g) => g.name === 'Not allowed')).toBe(false);
  });

  it('lets an installer with Manage Assigned Sites group only the sites it manages', async () => {
    const group = await createGroup(company.client, 'Assigned work');
    const notMine = await newSite(company.client);
    const assigned = await signInEmployee(cloud, company.companyId, ['site.manage_assigned']);
    const own = await newSite(assigned);

    const refused = await put(assigned, `/site-groups/${group.body.id}/sites`, { siteIds: [own, notMine] });
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('SITE_NOT_FOUND');
    expect(await groupOf(own)).toBeNull();

    expect((await put(assigned, `/site-groups/${group.body.id}/sites`, { siteIds: [own] })).status).toBe(200);
    expect((await put(company.client, `/site-groups/${group.body.id}/sites`, { siteIds: [notMine] })).status).toBe(200);
    // It sees only its own site in the group, and may not delete a group holding sites it does not manage.
    expect((await groups(assigned)).find((g) => g.id === group.body.id)!.siteIds).toEqual([own]);
    const del = await assigned.delete<ErrorReply>(`/site-groups/${group.body.id}`);
    expect(del.status).toBe(403);
    expect(del.body.code).toBe('PERMISSION_DENIED');
    expect(await groupOf(notMine)).toBe(group.body.id);
  });
});

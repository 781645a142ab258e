import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Employee, MeReply, Role } from '@vigil/protocol/api';
import { accounts, operationLogs, roles, ssoConfigs } from '../db/schema.js';
import { registerCompany, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';

type Refusal = { code: string; message: string };

let cloud: TestCloud;
beforeAll(async () => {
  cloud = await startTestCloud();
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

const rolesOf = async (companyId: string) => cloud.ctx.db.select().from(roles).where(eq(roles.companyId, companyId));

describe('roles', () => {
  it('creates, lists and edits roles; refuses unknown permissions and taken names, changing nothing', async () => {
    const company = await registerCompany(cloud.api);
    const admin = company.client;
    const created = await admin.post<Role>('/roles', { name: ' Technician ', permissions: ['site.manage_assigned', 'device.manage'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Technician', permissions: ['site.manage_assigned', 'device.manage'], holders: 0 });

    const unknown = await admin.post<Refusal>('/roles', { name: 'Root', permissions: ['site.manage_all', 'root.everything'] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('UNKNOWN_PERMISSION');
    expect(unknown.body.message).toContain('root.everything');
    const taken = await admin.post<Refusal>('/roles', { name: 'TECHNICIAN', permissions: [] });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('ROLE_NAME_TAKEN');
    const repeated = await admin.post<Refusal>('/roles', { name: 'Twice', permissions: ['device.manage', 'device.manage'] });
    expect(repeated.status).toBe(400);
    const blank = await admin.post<Refusal>('/roles', { name: '   ', permissions: [] });
    expect(blank.status).toBe(400);
    expect(blank.body.code).toBe('VALIDATION_FAILED');
    expect((await rolesOf(company.companyId)).map((r) => r.name)).toEqual(['Technician']);

    const other = await admin.post<Role>('/roles', { name: 'Viewer', permissions: ['video.live_view'] });
    const rename = await admin.patch<Refusal>(`/roles/${other.body.id}`, { name: 'technician' });
    expect(rename.status).toBe(409);
    expect(rename.body.code).toBe('ROLE_NAME_TAKEN');
    const badEdit = await admin.patch<Refusal>(`/roles/${other.body.id}`, { name: 'Watcher', permissions: ['nope'] });
    expect(badEdit.status).toBe(422);
    expect(badEdit.body.code).toBe('UNKNOWN_PERMISSION');
    const edited = await admin.patch<Role>(`/roles/${other.body.id}`, { name: 'Watcher', permissions: ['video.live_view', 'video.playback'] });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ name: 'Watcher', permissions: ['video.live_view', 'video.playback'] });
    // Parallel creations of one name: one wins, the others are told why.
    const racing = await Promise.all(Array.from({ length: 4 }, () => admin.post<Role | Refusal>('/roles', { name: 'Racer', permissions: [] })));
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    const list = await admin.get<{ items: Role[] }>('/roles');
    expect(list.body.items.map((r) => r.name)).toEqual(['Racer', 'Technician', 'Watcher']);
    const log = await cloud.ctx.db
      .select({ action: operationLogs.action, target: operationLogs.target, result: operationLogs.result })
      .from(operationLogs)
      .where(eq(operationLogs.companyId, company.companyId));
    expect(log).toContainEqual({ action: 'Add Role', target: 'Technician', result: 'succeeded' });
    expect(log).toContainEqual({ action: 'Edit Role', target: 'Viewer', result: 'succeeded' });
    expect(log).toContainEqual({ action: 'Add Role', target: 'Root', result: 'failed' });
  });

  it("changes what the role's holders may do at their next request", async () => {
    const company = await registerCompany(cloud.api);
    const worker = await signInEmployee(cloud, company.companyId, ['site.manage_all']);
    const me = await worker.get<MeReply>('/me');
    const [account] = await cloud.ctx.db.select().from(accounts).where(eq(accounts.id, me.body.account.id));
    expect((await worker.get('/sites')).status).toBe(200);

    expect((await company.client.patch(`/roles/${account!.roleId}`, { permissions: ['video.live_view'] })).status).toBe(200);
    const refused = await worker.get<Refusal>('/sites');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('PERMISSION_DENIED');
    expect((await worker.get<MeReply>('/me')).body.permissions).toEqual(['video.live_view']);

    expect((await company.client.patch(`/roles/${account!.roleId}`, { permissions: ['site.manage_all'] })).status).toBe(200);
    expect((await worker.get('/sites')).status).toBe(200);
  });

  it('refuses deleting a role held by an employee or set as the Azure AD default role', async () => {
    const company = await registerCompany(cloud.api);
    const worker = await signInEmployee(cloud, company.companyId, []);
    const workerId = (await worker.get<MeReply>('/me')).body.account.id;
    const [held] = await cloud.ctx.db.select({ roleId: accounts.roleId }).from(accounts).where(eq(accounts.id, workerId));
    const roleId = held!.roleId!;
    expect((await company.client.get<{ items: Role[] }>('/roles')).body.items.find((r) => r.id === roleId)?.holders).toBe(1);

    const inUse = await company.client.delete<Refusal>(`/roles/${roleId}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.code).toBe('ROLE_IN_USE');
    expect((await company.client.patch<Employee>(`/employees/${workerId}`, { roleId: null })).body.roleId).toBeNull();

    await cloud.ctx.db.insert(ssoConfigs).values({
      companyId: company.companyId,
      idpEntityId: 'https://sts.example.test/tenant/',
      idpSsoUrl: 'https://login.example.test/saml2',
      idpCerts: [],
      idpMetadataXml: '<EntityDescriptor/>',
      tenantId: randomBytes(8).toString('hex'),
      defaultRoleId: roleId,
    });
    const ssoDefault = await company.client.delete<Refusal>(`/roles/${roleId}`);
    expect(ssoDefault.status).toBe(409);
    expect(ssoDefault.body.code).toBe('ROLE_IN_USE');
    expect(ssoDefault.body.message).toContain('Azure AD');

    await cloud.ctx.db.update(ssoConfigs).set({ defaultRoleId: null }).where(eq(ssoConfigs.companyId, company.companyId));
    expect((await company.client.delete(`/roles/${roleId}`)).status).toBe(204);
    const gone = await company.client.delete<Refusal>(`/roles/${roleId}`);
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('ROLE_NOT_FOUND');
  });

  it("keeps another company's roles out of reach (404) and out of the list", async () => {
    const mine = await registerCompany(cloud.api);
    const theirs = await registerCompany(cloud.api);
    const role = await mine.client.post<Role>('/roles', { name: 'Private', permissions: ['device.manage'] });
    for (const res of [await theirs.client.patch<Refusal>(`/roles/${role.body.id}`, { name: 'Stolen' }), await theirs.client.delete<Refusal>(`/roles/${role.body.id}`)]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('ROLE_NOT_FOUND');
    }
    expect((await theirs.client.get<{ items: Role[] }>('/roles')).body.items).toEqual([]);
    const invite = await theirs.client.post<Refusal>('/employees/invitations', { email: `x.${randomBytes(3).toString('hex')}@example.test`, roleId: role.body.id });
    expect(invite.status).toBe(404);
    expect(invite.body.code).toBe('ROLE_NOT_FOUND');
    expect((await rolesOf(mine.companyId)).map((r) => r.name)).toEqual(['Private']);
  });

  it('lets every employee read the roles, and only "manage accounts and roles" change them', async () => {
    const company = await registerCompany(cloud.api);
    const reader = await signInEmployee(cloud, company.companyId, ['site.manage_all']);
    const manager = await signInEmployee(cloud, company.companyId, ['accounts.manage']);
    expect((await reader.get<{ items: Role[] }>('/roles')).body.items).toHaveLength(2);
    const refused = await reader.post<Refusal>('/roles', { name: 'Mine', permissions: ['accounts.manage'] });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('PERMISSION_DENIED');
    expect((await manager.post('/roles', { name: 'Managed', permissions: [] })).status).toBe(201);
  });
});

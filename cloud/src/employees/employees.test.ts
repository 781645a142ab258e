import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailCatcher } from '@vigil/simulators';
import type { AddOnReply, Employee, Invitation, InvitationPreview, JoinRequest, MeReply, SimilarCompany } from '@vigil/protocol/api';
import { accounts, companies, employeeInvitations, joinRequests, notifications, operationLogs, roles } from '../db/schema.js';
import { hashSecret } from '../security/secrets.js';
import { ApiClient, authenticateCompany, registerCompany, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { until } from '../testing/edge.js';

type Refusal = { code: string; message: string };
const PASSWORD = 'Employee-pass1';

let cloud: TestCloud;
let catcher: MailCatcher;

beforeAll(async () => {
  catcher = new MailCatcher();
  const { url } = await catcher.start();
  cloud = await startTestCloud({ VIGIL_SMTP_URL: url });
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
  await catcher?.stop();
});

const newEmail = (tag = 'emp') => `${tag}.${randomBytes(4).toString('hex')}@example.test`;

/** An employee written straight into the database (limited unless told), with its role's permissions. */
async function employee(companyId: string, opts: { limited?: boolean; permissions?: string[]; synced?: boolean } = {}) {
  const email = newEmail();
  const [role] = opts.permissions
    ? await cloud.ctx.db.insert(roles).values({ companyId, name: `R ${randomBytes(4).toString('hex')}`, permissions: opts.permissions }).returning()
    : [undefined];
  const [row] = await cloud.ctx.db
    .insert(accounts)
    .values({ companyId, email, name: 'Staff', passwordHash: await hashSecret(PASSWORD), role: 'installer', roleId: role?.id ?? null, limited: opts.limited ?? true, synced: opts.synced ?? false })
    .returning();
  return { id: row!.id, email };
}

async function signIn(email: string, password = PASSWORD) {
  const client = new ApiClient(cloud.api);
  const res = await client.post<MeReply | Refusal>('/auth/login', { email, password });
  return { client, res };
}

/** Invites through the API and returns the link's token, read from the mail the SMTP server received. */
async function invite(admin: ApiClient, email: string, roleId?: string) {
  const res = await admin.post<Invitation>('/employees/invitations', { email, ...(roleId ? { roleId } : {}) });
  expect(res.status).toBe(201);
  const before = catcher.to(email).length;
  const mail = await until(async () => catcher.to(email), (m) => m.length > before, 'invitation mail');
  const link = /(https?:\/\/\S+\/invitation\/(\S+))/.exec(mail.at(-1)!.text);
  expect(link?.[1]?.startsWith(`${cloud.ctx.publicUrl}/invitation/`)).toBe(true);
  return { invitation: res.body, token: link![2]! };
}

describe('scenario 18: enabled, limited and disabled employees', () => {
  it('lets a limited employee sign in but not manage sites; a full slot pool refuses removing the limit; a disabled one is out at once', async () => {
    const company = await registerCompany(cloud.api);
    const admin = company.client;
    const role = await admin.post<{ id: string }>('/roles', { name: 'Technician', permissions: ['site.manage_all', 'device.manage', 'video.live_view'] });
    expect(role.status).toBe(201);

    // Invited with a role that manages sites, but limited: it signs in and holds none of them.
    const email = newEmail('tech');
    const { token } = await invite(admin, email, role.body.id);
    const tech = new ApiClient(cloud.api);
    const accepted = await tech.post<MeReply>(`/invitations/${token}/accept`, { name: 'Tech One', password: PASSWORD });
    expect(accepted.status).toBe(200);
    expect(accepted.body.account.limited).toBe(true);
    expect(accepted.body.permissions).toEqual([]);
    const login = await signIn(email);
    expect(login.res.status).toBe(200);
    for (const res of [await login.client.get('/sites'), await login.client.post('/sites', { name: 'Nope', type: 'personal', timeZone: 'UTC' })]) {
      expect(res.status).toBe(403);
      expect((res.body as Refusal).code).toBe('PERMISSION_DENIED');
    }

    // The two free slots taken by others, removing its limit is refused and changes nothing.
    const others = [await employee(company.companyId), await employee(company.companyId)];
    for (const o of others) expect((await admin.patch<Employee>(`/employees/${o.id}`, { limited: false })).status).toBe(200);
    const techId = accepted.body.account.id;
    const full = await admin.patch<Refusal>(`/employees/${techId}`, { limited: false, name: 'Renamed' });
    expect(full.status).toBe(422);
    expect(full.body.code).toBe('ADDON_SLOTS_EXHAUSTED');
    const [still] = await cloud.ctx.db.select().from(accounts).where(eq(accounts.id, techId));
    expect(still).toMatchObject({ limited: true, name: 'Tech One' });

    // The add-on: only for an authenticated company; its slots are usable at once.
    const unauthenticated = await admin.post<Refusal>('/company/employee-addon/orders', { quantity: 1 });
    expect(unauthenticated.status).toBe(403);
    expect(unauthenticated.body.code).toBe('COMPANY_NOT_AUTHENTICATED');
    await authenticateCompany(cloud, company.companyId);
    const ordered = await admin.post<AddOnReply>('/company/employee-addon/orders', { quantity: 1 });
    expect(ordered.status).toBe(201);
    expect(ordered.body).toMatchObject({ free: 2, purchased: 1, used: 2 });
    expect(ordered.body.orders.map((o) => o.quantity)).toEqual([1]);
    const freed = await admin.patch<Employee>(`/employees/${techId}`, { limited: false });
    expect(freed.status).toBe(200);
    expect(freed.body).toMatchObject({ limited: false, roleName: 'Technician' });
    expect((await login.client.get('/sites')).status).toBe(200);
    expect((await admin.get<AddOnReply>('/company/employee-addon')).body).toMatchObject({ free: 2, purchased: 1, used: 3 });

    // Disabled: the open event stream ends, the session is refused at its next request, signing in is refused.
    const stream = await fetch(`${cloud.api}/live`, { headers: { cookie: login.client.cookie! } });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    await reader.read(); // the greeting
    const disabled = await admin.patch<Employee>(`/employees/${techId}`, { enabled: false });
    expect(disabled.status).toBe(200);
    expect(disabled.body.enabled).toBe(false);
    const ended = await Promise.race([
      (async () => {
        for (;;) if ((await reader.read()).done) return 'ended';
      })(),
      new Promise((resolve) => setTimeout(() => resolve('still open'), 10_000)),
    ]);
    expect(ended).toBe('ended');
    const after = await login.client.get<Refusal>('/me');
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('UNAUTHENTICATED');
    const refused = await signIn(email);
    expect(refused.res.status).toBe(403);
    expect((refused.res.body as Refusal).code).toBe('ACCOUNT_DISABLED');

    // Enabled again (no slot needed): signing in works.
    expect((await admin.patch(`/employees/${techId}`, { enabled: true })).status).toBe(200);
    expect((await signIn(email)).res.status).toBe(200);

    const log = await cloud.ctx.db
      .select({ action: operationLogs.action, detail: operationLogs.detail, result: operationLogs.result })
      .from(operationLogs)
      .where(and(eq(operationLogs.companyId, company.companyId), eq(operationLogs.action, 'Edit Employee')));
    expect(log).toContainEqual({ action: 'Edit Employee', detail: 'disabled', result: 'succeeded' });
    expect(log).toContainEqual({ action: 'Edit Employee', detail: 'account limit removed', result: 'succeeded' });
    expect(log.filter((l) => l.result === 'failed')).toHaveLength(1);
  });

  it('never lets parallel limit removals take more slots than there are', async () => {
    const company = await registerCompany(cloud.api);
    const staff = await Promise.all(Array.from({ length: 6 }, () => employee(company.companyId)));
    const results = await Promise.all(staff.map((s) => company.client.patch<Employee | Refusal>(`/employees/${s.id}`, { limited: false })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(2);
    const refusals = results.filter((r) => r.status !== 200);
    expect(refusals).toHaveLength(4);
    for (const r of refusals) {
      expect(r.status).toBe(422);
      expect((r.body as Refusal).code).toBe('ADDON_SLOTS_EXHAUSTED');
    }
    const addOn = await company.client.get<AddOnReply>('/company/employee-addon');
    expect(addOn.body).toMatchObject({ free: 2, purchased: 0, used: 2 });
  });
});

describe('employees', () => {
  it('lists the Installer Admin first and refuses changing or removing it', async () => {
    const company = await registerCompany(cloud.api);
    const staff = await employee(company.companyId);
    const list = await company.client.get<{ items: Employee[] }>('/employees');
    expect(list.body.items.map((e) => e.role)).toEqual(['installer_admin', 'installer']);
    expect(list.body.items[1]).toMatchObject({ id: staff.id, limited: true, enabled: true, synced: false, roleId: null });
    const adminId = list.body.items[0]!.id;
    for (const res of [await company.client.patch<Refusal>(`/employees/${adminId}`, { enabled: false }), await company.client.delete<Refusal>(`/employees/${adminId}`)]) {
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('INSTALLER_ADMIN_IMMUTABLE');
    }
    expect((await signIn(company.email, company.password)).res.status).toBe(200);
  });

  it('removes an employee (its sessions end), but not a synced one', async () => {
    const company = await registerCompany(cloud.api);
    const staff = await employee(company.companyId);
    const { client } = await signIn(staff.email);
    expect((await company.client.delete(`/employees/${staff.id}`)).status).toBe(204);
    expect((await client.get<Refusal>('/me')).status).toBe(401);
    expect((await company.client.delete<Refusal>(`/employees/${staff.id}`)).body.code).toBe('EMPLOYEE_NOT_FOUND');

    const synced = await employee(company.companyId, { synced: true });
    const refused = await company.client.delete<Refusal>(`/employees/${synced.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('SYNCED_ACCOUNT');
    // Enabling and roles stay the company's to change.
    const [role] = await cloud.ctx.db.insert(roles).values({ companyId: company.companyId, name: 'Synced staff', permissions: [] }).returning();
    const edited = await company.client.patch<Employee>(`/employees/${synced.id}`, { enabled: false, roleId: role!.id });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ enabled: false, roleName: 'Synced staff', synced: true });
  });

  it("keeps another company's admin away from your employees, invitations, join requests and roles (404)", async () => {
    const mine = await registerCompany(cloud.api);
    const theirs = await registerCompany(cloud.api);
    const staff = await employee(mine.companyId);
    const { invitation } = await invite(mine.client, newEmail());
    const [jr] = await cloud.ctx.db
      .insert(joinRequests)
      .values({ companyId: mine.companyId, email: newEmail(), name: 'Applicant', passwordHash: await hashSecret(PASSWORD) })
      .returning();
    const [theirRole] = await cloud.ctx.db.insert(roles).values({ companyId: theirs.companyId, name: 'Theirs', permissions: [] }).returning();
    const cases: [Promise<{ status: number; body: unknown }>, string][] = [
      [theirs.client.patch(`/employees/${staff.id}`, { enabled: false }), 'EMPLOYEE_NOT_FOUND'],
      [theirs.client.delete(`/employees/${staff.id}`), 'EMPLOYEE_NOT_FOUND'],
      [theirs.client.delete(`/employees/invitations/${invitation.id}`), 'INVITATION_NOT_FOUND'],
      [theirs.client.post(`/employees/join-requests/${jr!.id}/approve`), 'JOIN_REQUEST_NOT_FOUND'],
      [theirs.client.post(`/employees/join-requests/${jr!.id}/reject`), 'JOIN_REQUEST_NOT_FOUND'],
      [mine.client.patch(`/employees/${staff.id}`, { roleId: theirRole!.id }), 'ROLE_NOT_FOUND'],
    ];
    for (const [call, code] of cases) {
      const res = await call;
      expect(res.status).toBe(404);
      expect((res.body as Refusal).code).toBe(code);
    }
    expect((await theirs.client.get<{ items: Employee[] }>('/employees')).body.items.map((e) => e.id)).not.toContain(staff.id);
    expect((await theirs.client.get<{ items: Invitation[] }>('/employees/invitations')).body.items).toEqual([]);
    const [untouched] = await cloud.ctx.db.select().from(accounts).where(eq(accounts.id, staff.id));
    expect(untouched).toMatchObject({ enabled: true, roleId: null });
  });

  it('refuses every employee route to an employee without "manage accounts and roles" (403)', async () => {
    const company = await registerCompany(cloud.api);
    const worker = await signInEmployee(cloud, company.companyId, ['site.manage_all', 'device.manage']);
    const staff = await employee(company.companyId);
    const id = '00000000-0000-4000-8000-000000000000';
    const calls = [
      worker.get('/employees'),
      worker.patch(`/employees/${staff.id}`, { enabled: false }),
      worker.delete(`/employees/${staff.id}`),
      worker.post('/employees/invitations', { email: newEmail() }),
      worker.get('/employees/invitations'),
      worker.delete(`/employees/invitations/${id}`),
      worker.get('/employees/join-requests'),
      worker.post(`/employees/join-requests/${id}/approve`),
      worker.post(`/employees/join-requests/${id}/reject`),
      worker.post('/roles', { name: 'Mine', permissions: [] }),
      worker.patch(`/roles/${id}`, { name: 'Mine' }),
      worker.delete(`/roles/${id}`),
      worker.get('/company/employee-addon'),
      worker.post('/company/employee-addon/orders', { quantity: 1 }),
    ];
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(403);
      expect((res.body as Refusal).code).toBe('PERMISSION_DENIED');
    }
    // Reading the roles is for everyone of the company.
    expect((await worker.get('/roles')).status).toBe(200);
    const [untouched] = await cloud.ctx.db.select().from(accounts).where(eq(accounts.id, staff.id));
    expect(untouched!.enabled).toBe(true);
  });
});

describe('invitations', () => {
  it('mails a link; the invitee previews it, creates the account with the role and is signed in; the link then stops working', async () => {
    const company = await registerCompany(cloud.api, `Invite Works ${randomBytes(3).toString('hex')}`);
    const [role] = await cloud.ctx.db.insert(roles).values({ companyId: company.companyId, name: 'Installer', permissions: ['site.manage_assigned'] }).returning();
    const email = newEmail('invitee');
    const { invitation, token } = await invite(company.client, email, role!.id);
    expect(invitation).toMatchObject({ email, roleId: role!.id, status: 'pending' });
    expect((await company.client.get<{ items: Invitation[] }>('/employees/invitations')).body.items.map((i) => i.id)).toEqual([invitation.id]);

    const guest = new ApiClient(cloud.api);
    const preview = await guest.get<InvitationPreview>(`/invitations/${token}`);
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ companyName: expect.stringMatching(/^Invite Works/), email });

    const weak = await guest.post<Refusal>(`/invitations/${token}/accept`, { name: 'New Hire', password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.code).toBe('PASSWORD_POLICY');
    const accepted = await guest.post<MeReply>(`/invitations/${token}/accept`, { name: 'New Hire', password: PASSWORD });
    expect(accepted.status).toBe(200);
    expect(accepted.body.account).toMatchObject({ email, name: 'New Hire', role: 'installer', limited: true, companyId: company.companyId });
    expect((await guest.get<MeReply>('/me')).body.account.email).toBe(email);
    const [row] = await cloud.ctx.db.select().from(accounts).where(eq(accounts.email, email));
    expect(row).toMatchObject({ source: 'invite', roleId: role!.id, limited: true });

    for (const res of [await guest.get<Refusal>(`/invitations/${token}`), await new ApiClient(cloud.api).post<Refusal>(`/invitations/${token}/accept`, { name: 'Again', password: PASSWORD })]) {
      expect(res.status).toBe(410);
      expect(res.body.code).toBe('INVITATION_INVALID');
    }
    expect((await company.client.get<{ items: Invitation[] }>('/employees/invitations')).body.items).toEqual([]);
    const taken = await company.client.post<Refusal>('/employees/invitations', { email: email.toUpperCase() });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('EMAIL_TAKEN');
    const unknown = await guest.get<Refusal>(`/invitations/${'x'.repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('INVITATION_NOT_FOUND');
  });

  it('makes a new invitation replace the earlier one; a cancelled or expired link is refused with 410', async () => {
    const company = await registerCompany(cloud.api);
    const email = newEmail();
    const first = await invite(company.client, email);
    const second = await invite(company.client, email);
    const guest = new ApiClient(cloud.api);
    expect((await guest.get<Refusal>(`/invitations/${first.token}`)).body.code).toBe('INVITATION_INVALID');
    expect((await guest.get(`/invitations/${second.token}`)).status).toBe(200);
    expect((await company.client.delete(`/employees/invitations/${second.invitation.id}`)).status).toBe(204);
    const cancelled = await guest.post<Refusal>(`/invitations/${second.token}/accept`, { name: 'Late', password: PASSWORD });
    expect(cancelled.status).toBe(410);
    expect(cancelled.body.code).toBe('INVITATION_INVALID');

    const third = await invite(company.client, email);
    await cloud.ctx.db.update(employeeInvitations).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(employeeInvitations.id, third.invitation.id));
    const expired = await guest.post<Refusal>(`/invitations/${third.token}/accept`, { name: 'Late', password: PASSWORD });
    expect(expired.status).toBe(410);
    expect(expired.body.code).toBe('INVITATION_INVALID');
    expect(await cloud.ctx.db.select().from(accounts).where(eq(accounts.email, email))).toEqual([]);
  });
});

describe('join requests', () => {
  it('finds companies by similar names, never the vendor company, and needs 3 characters', async () => {
    const tag = randomBytes(3).toString('hex');
    await registerCompany(cloud.api, `Northwind Security ${tag}`);
    await registerCompany(cloud.api, `Northwind Alarms ${tag}`);
    await registerCompany(cloud.api, `Contoso 100%%_ ${tag}`);
    const guest = new ApiClient(cloud.api);
    const found = await guest.get<{ items: SimilarCompany[] }>(`/companies/similar?name=${encodeURIComponent('northwind security')}`);
    expect(found.status).toBe(200);
    expect(found.body.items.map((c) => c.name)).toEqual([`Northwind Security ${tag}`, `Northwind Alarms ${tag}`]);
    // LIKE's wildcards are only characters here.
    expect((await guest.get<{ items: SimilarCompany[] }>(`/companies/similar?name=${encodeURIComponent('%%_')}`)).body.items.map((c) => c.name)).toEqual([`Contoso 100%%_ ${tag}`]);
    const [vendor] = await cloud.ctx.db.select().from(companies).where(eq(companies.type, 'vendor'));
    const vendorSearch = await guest.get<{ items: SimilarCompany[] }>(`/companies/similar?name=${encodeURIComponent(vendor!.name)}`);
    expect(vendorSearch.body.items.map((c) => c.id)).not.toContain(vendor!.id);
    const short = await guest.get<Refusal>('/companies/similar?name=ab');
    expect(short.status).toBe(400);
    expect(short.body.code).toBe('VALIDATION_FAILED');
    const joinVendor = await guest.post<Refusal>('/join-requests', { companyId: vendor!.id, name: 'Sneaky', email: newEmail(), password: PASSWORD });
    expect(joinVendor.status).toBe(404);
  });

  it('tells the admins, and an approval makes a limited account that signs in; a rejection is mailed', async () => {
    const company = await registerCompany(cloud.api);
    const manager = await signInEmployee(cloud, company.companyId, ['accounts.manage']);
    const managerId = (await manager.get<MeReply>('/me')).body.account.id;
    const bystander = await employee(company.companyId, { permissions: ['site.manage_all'] });
    const guest = new ApiClient(cloud.api);
    const applicant = newEmail('applicant');
    const applied = await guest.post('/join-requests', { companyId: company.companyId, name: 'Applicant', email: applicant, password: PASSWORD });
    expect(applied.status).toBe(202);
    const adminMail = await catcher.waitFor((m) => m.to === company.email.toLowerCase() && m.text.includes(applicant));
    expect(adminMail.subject).toContain('Applicant');
    const told = await cloud.ctx.db.select({ accountId: notifications.accountId }).from(notifications).where(eq(notifications.kind, 'employee.join_request'));
    const [adminRow] = await cloud.ctx.db.select().from(accounts).where(eq(accounts.email, company.email));
    expect(told.map((n) => n.accountId)).toEqual(expect.arrayContaining([adminRow!.id, managerId]));
    expect(told.map((n) => n.accountId)).not.toContain(bystander.id);

    const weak = await guest.post<Refusal>('/join-requests', { companyId: company.companyId, name: 'X', email: newEmail(), password: 'password' });
    expect(weak.body.code).toBe('PASSWORD_POLICY');
    const taken = await guest.post<Refusal>('/join-requests', { companyId: company.companyId, name: 'X', email: company.email, password: PASSWORD });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('EMAIL_TAKEN');

    const pending = await manager.get<{ items: JoinRequest[] }>('/employees/join-requests');
    expect(pending.body.items.map((j) => j.email)).toEqual([applicant]);
    expect((await signIn(applicant)).res.status).toBe(401);
    const approved = await manager.post<Employee>(`/employees/join-requests/${pending.body.items[0]!.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ email: applicant, limited: true, roleId: null, source: 'join_request', enabled: true });
    expect((await signIn(applicant)).res.status).toBe(200);
    await catcher.waitFor((m) => m.to === applicant && m.subject.startsWith('Welcome'));
    const again = await manager.post<Refusal>(`/employees/join-requests/${pending.body.items[0]!.id}/approve`);
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('JOIN_REQUEST_NOT_FOUND');

    const rejectedEmail = newEmail('rejected');
    expect((await guest.post('/join-requests', { companyId: company.companyId, name: 'Other', email: rejectedEmail, password: PASSWORD })).status).toBe(202);
    const [jr] = (await manager.get<{ items: JoinRequest[] }>('/employees/join-requests')).body.items;
    expect((await manager.post(`/employees/join-requests/${jr!.id}/reject`)).status).toBe(204);
    await catcher.waitFor((m) => m.to === rejectedEmail && m.text.includes('did not approve'));
    expect((await signIn(rejectedEmail)).res.status).toBe(401);
    expect((await manager.get<{ items: JoinRequest[] }>('/employees/join-requests')).body.items).toEqual([]);
    const log = await cloud.ctx.db.select({ action: operationLogs.action, email: operationLogs.accountEmail }).from(operationLogs).where(eq(operationLogs.companyId, company.companyId));
    expect(log).toContainEqual({ action: 'Apply to Join Company', email: applicant });
    expect(log.map((l) => l.action)).toEqual(expect.arrayContaining(['Approve Join Request', 'Reject Join Request']));
  });
});

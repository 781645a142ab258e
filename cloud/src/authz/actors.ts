import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { Permission, type Employee, type MeReply, type Role } from '@vigil/protocol/api';
import { mailOutbox } from '../db/schema.js';
import { ApiClient, authenticateCompany, registerCompany, signInVendorAdmin, type TestCloud } from '../testing/cloud.js';
import type { ActorId } from './matrix.js';

/** The two installer companies the actors belong to, each with its Installer Admin signed in. */
export interface World {
  cloud: TestCloud;
  a: { client: ApiClient; companyId: string };
  b: { client: ApiClient; companyId: string };
}

/** Registers companies A and B (in GB, where every feature is offered) and authenticates both, so value-added services are open to them. */
export async function buildWorld(cloud: TestCloud): Promise<World> {
  const a = await registerCompany(cloud.api, 'Matrix A');
  const b = await registerCompany(cloud.api, 'Matrix B');
  await authenticateCompany(cloud, a.companyId);
  await authenticateCompany(cloud, b.companyId);
  return { cloud, a, b };
}

function must<T>(what: string, res: { status: number; body: T }, status: number): T {
  if (res.status !== status) throw new Error(`${what} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** An employee of A as the company makes one: a role, an invitation mailed, the link opened, the account limit removed if asked. */
export async function hireEmployee(w: World, permissions: Permission[], opts: { limited: boolean }) {
  const admin = w.a.client;
  const role = must('creating a role', await admin.post<Role>('/roles', { name: `Matrix role ${randomBytes(4).toString('hex')}`, permissions }), 201);
  const email = `matrix.${randomBytes(5).toString('hex')}@example.test`;
  must('inviting an employee', await admin.post('/employees/invitations', { email, roleId: role.id }), 201);
  // The invitation is queued in the same transaction as the reply, so its mail is there already.
  const [mail] = await w.cloud.ctx.db
    .select({ text: mailOutbox.text })
    .from(mailOutbox)
    .where(and(eq(mailOutbox.toAddress, email), eq(mailOutbox.kind, 'employee.invitation')));
  const token = /\/invitation\/([^\s/]+)/.exec(mail?.text ?? '')?.[1];
  if (!token) throw new Error(`no invitation link mailed to ${email}`);
  const client = new ApiClient(w.cloud.api);
  const me = must('accepting the invitation', await client.post<MeReply>(`/invitations/${token}/accept`, { name: 'Matrix Employee', password: 'Employee-pass1' }), 200);
  if (!opts.limited) must('removing the account limit', await admin.patch<Employee>(`/employees/${me.account.id}`, { limited: false }), 200);
  return { client, accountId: me.account.id, roleId: role.id };
}

const ALL_SITES_ROLE = [Permission.siteManageAll, Permission.deviceManage, Permission.deviceConfigure, Permission.liveView, Permission.playback];

/**
 * How each actor is made and signed in, all through the API. Company A has two add-on-free employee slots: they
 * go to the two employees whose account limit is removed.
 */
export const ACTOR_BUILDERS: Record<ActorId, (w: World) => Promise<ApiClient>> = {
  anonymous: async (w) => new ApiClient(w.cloud.api),
  installerAdmin: async (w) => w.a.client,
  installerAll: async (w) => (await hireEmployee(w, ALL_SITES_ROLE, { limited: false })).client,
  installerAssigned: async (w) => (await hireEmployee(w, [Permission.siteManageAssigned, Permission.deviceManage], { limited: false })).client,
  limitedEmployee: async (w) =>
    (await hireEmployee(w, [Permission.siteManageAll, Permission.deviceManage, Permission.accountsManage], { limited: true })).client,
  disabledEmployee: async (w) => {
    const { client, accountId } = await hireEmployee(w, ALL_SITES_ROLE, { limited: true });
    must('the employee reading its account', await client.get('/me'), 200);
    must('disabling the employee', await w.a.client.patch(`/employees/${accountId}`, { enabled: false }), 200);
    return client;
  },
  otherAdmin: async (w) => w.b.client,
  vendorAdmin: (w) => signInVendorAdmin(w.cloud),
};

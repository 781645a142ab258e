import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { Permission, type Employee, type MeReply, type Role, type SiteSharing } from '@vigil/protocol/api';
import { registerArc } from '../arc/testing.js';
import { mailOutbox } from '../db/schema.js';
import { ApiClient, authenticateCompany, newSite, registerCompany, signInVendorAdmin, type TestCloud } from '../testing/cloud.js';
import type { ActorId, Fixture } from './matrix.js';
import { insertDevice } from '../testing/handover.js';

type Company = { client: ApiClient; companyId: string };

/** The installer companies the actors belong to, each with its Installer Admin signed in, and A's first site. */
export interface World {
  cloud: TestCloud;
  a: Company & { email: string };
  b: Company;
  /** A's site made by its Installer Admin; the site manager is assigned to it. */
  siteA: string;
}

const uid = () => randomBytes(4).toString('hex');

/**
 * Registers companies A and B (in GB, where every feature is offered) and authenticates both, so value-added
 * services are open to them; A buys one employee add-on slot, for the third employee whose account limit is removed.
 */
export async function buildWorld(cloud: TestCloud): Promise<World> {
  const a = await registerCompany(cloud.api, 'Matrix A');
  const b = await registerCompany(cloud.api, 'Matrix B');
  await authenticateCompany(cloud, a.companyId);
  await authenticateCompany(cloud, b.companyId);
  must('ordering an employee slot', await a.client.post('/company/employee-addon/orders', { quantity: 1 }), 201);
  return { cloud, a, b, siteA: await newSite(a.client) };
}

function must<T>(what: string, res: { status: number; body: T }, status: number): T {
  if (res.status !== status) throw new Error(`${what} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** An employee of the company (A unless told) as the company makes one: a role, an invitation mailed, the link opened, the account limit removed if asked. */
export async function hireEmployee(w: World, permissions: Permission[], opts: { limited: boolean; company?: Company }) {
  const admin = (opts.company ?? w.a).client;
  const role = must('creating a role', await admin.post<Role>('/roles', { name: `Matrix role ${uid()}`, permissions }), 201);
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

/** Another installer company in GB, authenticated like A and B. */
async function otherCompany(w: World, name: string): Promise<Company> {
  const c = await registerCompany(w.cloud.api, name);
  await authenticateCompany(w.cloud, c.companyId);
  return c;
}

/** A customer registered on the customer side, signed in by its registration. */
async function registerCustomer(w: World): Promise<ApiClient> {
  const client = new ApiClient(w.cloud.api);
  const body = { name: 'Matrix Customer', email: `customer.${uid()}@example.test`, password: 'Customer-pass1', countryCode: 'GB' };
  must('registering a customer', await client.post('/customer/register', body), 201);
  return client;
}

const ALL_SITES_ROLE = [Permission.siteManageAll, Permission.deviceManage, Permission.deviceConfigure, Permission.liveView, Permission.playback];
export const SITE_MANAGER_ROLE = [Permission.siteManageAssigned, Permission.deviceManage, Permission.liveView, Permission.playback];
export const ISP_ROLE = [Permission.siteManageAll, Permission.deviceManage];

/**
 * How each actor is made and signed in, all through the API. Company A has two add-on-free employee slots and the
 * one it bought: they go to the three employees whose account limit is removed.
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
  siteManager: async (w) => {
    const { client, accountId } = await hireEmployee(w, SITE_MANAGER_ROLE, { limited: false });
    must('assigning the site manager', await w.a.client.post('/site-managers', { siteIds: [w.siteA], managers: [{ accountId, expiresAt: null }] }), 200);
    return client;
  },
  customer: registerCustomer,
  otherCustomer: registerCustomer,
  ispPartner: async (w) => (await hireEmployee(w, ISP_ROLE, { limited: false, company: await otherCompany(w, 'Matrix C (ISP)') })).client,
  mspPartner: async (w) => (await otherCompany(w, 'Matrix C2 (MSP)')).client,
  arcAdmin: async (w) => {
    const arc = await registerArc(w.cloud.api, 'Matrix Receiving Centre');
    await authenticateCompany(w.cloud, arc.companyId);
    return arc.client;
  },
};

/** A device that reaches the cloud by itself (P2P), on a site of A. */
const addP2pDevice = async (w: World, siteId: string): Promise<string> => (await insertDevice(w.cloud, w.a.companyId, siteId)).id;

export type Scene = Omit<Fixture, 'companyA' | 'companyB' | 'siteA' | 'siteB' | 'siteAssigned' | 'employeeA' | 'roleA' | 'notificationA' | 'fresh' | 'caller'>;

/**
 * The sites of issue 8's operations, all brought to their state through the API:
 * - siteIsp: NotHandedOver, the ISP partner active on it, `employeeA` one of its managers (and of siteA);
 * - siteHandedOver: the ISP worked on it until A handed it over by transfer (asking ManageSiteInformation) to the
 *   customer, who accepted: AuthorizedAndMonitoring, the MSP partner active on it; two applications of A wait for
 *   the owner, two device invitations of the owner went to A's Installer Admin (one declined), and a device move
 *   the owner rejected;
 * - siteShared: shared in Mode B with the customer (accepted) and with an address whose sharing A cancelled.
 */
export async function buildScene(w: World, clients: ReadonlyMap<ActorId, ApiClient | Error>, employeeA: string): Promise<Scene> {
  const actor = (id: ActorId) => {
    const c = clients.get(id);
    if (!(c instanceof ApiClient)) throw new Error(`the scene needs the actor ${id}: ${c?.message ?? 'not built'}`);
    return c;
  };
  const emailOf = async (c: ApiClient) => must('reading an account', await c.get<MeReply>('/me'), 200).account.email;
  const admin = w.a.client;
  const [isp, msp, customer] = [actor('ispPartner'), actor('mspPartner'), actor('customer')];
  const [ispEmail, mspEmail, customerEmail] = [await emailOf(isp), await emailOf(msp), await emailOf(customer)];
  const partner = async (siteId: string, type: 'isp' | 'msp', client: ApiClient, email: string) => {
    const invited = must(`inviting the ${type}`, await admin.post<{ id: string }>(`/sites/${siteId}/collaborations`, { type, partnerEmail: email }), 201);
    must(`the ${type} accepting`, await client.post(`/collaborations/${invited.id}/accept`), 200);
  };

  const siteIsp = await newSite(admin);
  await partner(siteIsp, 'isp', isp, ispEmail);
  must('assigning a manager to remove', await admin.post('/site-managers', { siteIds: [siteIsp, w.siteA], managers: [{ accountId: employeeA, expiresAt: null }] }), 200);

  const siteHandedOver = await newSite(admin);
  const deviceHandedOver = await addP2pDevice(w, siteHandedOver);
  await partner(siteHandedOver, 'isp', isp, ispEmail);
  const siteInformation = [{ permission: 'ManageSiteInformation', deviceIds: [], validity: 'Permanent' }];
  must('handing over', await admin.post(`/sites/${siteHandedOver}/handover`, { channel: 'email', recipient: customerEmail, permissions: siteInformation }), 201);
  const offers = must('listing handovers', await customer.get<{ items: { id: string; siteId: string }[] }>('/customer/handovers'), 200);
  const handoverAccepted = offers.items.find((h) => h.siteId === siteHandedOver)!.id;
  must('accepting the handover', await customer.post(`/customer/handovers/${handoverAccepted}/accept`), 200);
  // The offer's link, as mailed (queued in the same transaction as the handover).
  const [offerMail] = await w.cloud.ctx.db
    .select({ text: mailOutbox.text })
    .from(mailOutbox)
    .where(and(eq(mailOutbox.toAddress, customerEmail), eq(mailOutbox.kind, 'handover.offer')));
  const handoverToken = /\/handover\/([A-Za-z0-9_-]+)/.exec(offerMail?.text ?? '')?.[1];
  if (!handoverToken) throw new Error(`no handover link mailed to ${customerEmail}`);
  await partner(siteHandedOver, 'msp', msp, mspEmail);

  const applied = must(
    'applying for permissions',
    await admin.post<{ items: { id: string; permission: string }[] }>(`/sites/${siteHandedOver}/permission-applications`, {
      items: [{ deviceId: deviceHandedOver, permissions: ['LiveView', 'Playback'], validity: '1h' }],
    }),
    201,
  );
  const grants = must('listing grants', await admin.get<{ items: { id: string; permission: string }[] }>(`/sites/${siteHandedOver}/permissions`), 200);
  const invite = async () =>
    must(
      'inviting an installer',
      await customer.post<{ id: string }>('/customer/device-invitations', { inviteeEmail: w.a.email, deviceIds: [deviceHandedOver], siteName: 'Matrix invited', permissions: ['LiveView'] }),
      201,
    ).id;
  const invitationDeclined = await invite();
  must('declining the invitation', await admin.post(`/device-invitations/${invitationDeclined}/decline`), 200);
  const newTarget = { name: `Matrix moved ${uid()}`, type: 'personal', timeZone: 'UTC', offlineDelaySec: 1 };
  const move = must('moving a device', await admin.post<{ id: string }>(`/sites/${siteHandedOver}/device-moves`, { deviceIds: [deviceHandedOver], target: { newSite: newTarget } }), 201);
  must('rejecting the move', await customer.post(`/customer/device-moves/${move.id}/reject`), 200);

  const siteShared = await newSite(admin);
  const deviceShared = await addP2pDevice(w, siteShared);
  const nobody = `nobody.${uid()}@example.test`;
  const sharing = must(
    'sharing',
    await admin.post<SiteSharing>(`/sites/${siteShared}/sharing`, {
      mode: 'B',
      recipients: [
        { channel: 'email', recipient: customerEmail },
        { channel: 'email', recipient: nobody },
      ],
      devices: [{ deviceId: deviceShared, permissions: ['LiveView'], validity: 'Permanent' }],
    }),
    201,
  );
  const recipientCustomer = sharing.recipients.find((r) => r.recipient === customerEmail)!.id;
  const recipientCancelled = sharing.recipients.find((r) => r.recipient === nobody)!.id;
  must('accepting the sharing', await customer.post(`/customer/sharings/${recipientCustomer}/accept`), 200);
  must('cancelling a sharing', await admin.post(`/sites/${siteShared}/sharing/recipients/${recipientCancelled}/cancel`), 200);

  return {
    adminEmailA: w.a.email,
    siteIsp,
    siteHandedOver,
    deviceHandedOver,
    handoverAccepted,
    handoverToken,
    grantSiteInformation: grants.items.find((g) => g.permission === 'ManageSiteInformation')!.id,
    applicationToApprove: applied.items.find((g) => g.permission === 'LiveView')!.id,
    applicationToDeny: applied.items.find((g) => g.permission === 'Playback')!.id,
    invitationDeclined,
    invitationPending: await invite(),
    moveRejected: move.id,
    siteShared,
    deviceShared,
    recipientCustomer,
    recipientCancelled,
  };
}

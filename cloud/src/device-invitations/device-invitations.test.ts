import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailCatcher } from '@vigil/simulators';
import type { DeviceInvitation, Grant, InvitableDevice, Site } from '@vigil/protocol/api';
import { deviceInvitations, devicePermissions, devices, notifications, siteManagers, sites } from '../db/schema.js';
import { insertDevice, handedOverSite } from '../testing/handover.js';
import { registerCompany, signInCustomer, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { until } from '../testing/edge.js';

type Refusal = { code: string; message: string };
type Company = Awaited<ReturnType<typeof registerCompany>>;
type Customer = Awaited<ReturnType<typeof signInCustomer>>;

let cloud: TestCloud;
let catcher: MailCatcher;
/** The installer that handed the site over, and the one the customer invites. */
let previous: Company;
let invitee: Company;
let customer: Customer;

beforeAll(async () => {
  catcher = new MailCatcher();
  const { url } = await catcher.start();
  cloud = await startTestCloud({ VIGIL_SMTP_URL: url });
  previous = await registerCompany(cloud.api, 'Previous Installer');
  invitee = await registerCompany(cloud.api, 'Invited Installer');
  customer = await signInCustomer(cloud, { name: 'Chris Customer' });
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
  await catcher?.stop();
});

const invite = (body: Record<string, unknown>, client = customer.client) => client.post<DeviceInvitation & Refusal>('/customer/device-invitations', body);

describe('inviting an installer to manage devices', () => {
  it('refuses what is not an installer account or not the customer’s device, and installers', async () => {
    const { devices: owned } = await handedOverSite(cloud, previous, customer, { count: 1 });
    const other = await signInCustomer(cloud);
    const notMine = await insertDevice(cloud, previous.companyId, (await handedOverSite(cloud, previous, other, { count: 1 })).siteId);
    const { siteId } = await handedOverSite(cloud, previous, customer, { count: 1 });
    const byAddress = await insertDevice(cloud, previous.companyId, siteId, { accessMode: 'ip_domain', host: 'cam.example.test', port: 80 });
    const base = { inviteeEmail: invitee.email, deviceIds: [owned[0]!.id], siteName: 'Home', permissions: ['LiveView'] };
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['a customer', { ...base, inviteeEmail: other.email }, 422, 'NOT_AN_INSTALLER'],
      ['no account', { ...base, inviteeEmail: 'nobody@example.test' }, 422, 'NOT_AN_INSTALLER'],
      ['another customer’s device', { ...base, deviceIds: [notMine.id] }, 404, 'DEVICE_NOT_FOUND'],
      ['a device added by IP/domain', { ...base, deviceIds: [byAddress.id] }, 422, 'DEVICE_NOT_INVITABLE'],
      ['no permission', { ...base, permissions: [] }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [what, body, status, code] of cases) {
      const res = await invite(body);
      expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status, code });
    }
    const byInstaller = await invite(base, invitee.client);
    expect([byInstaller.status, byInstaller.body.code]).toEqual([403, 'CUSTOMER_ONLY']);
    expect(await cloud.ctx.db.select().from(deviceInvitations).where(eq(deviceInvitations.customerAccountId, customer.accountId))).toEqual([]);

    const listed = await customer.client.get<{ items: InvitableDevice[] }>('/customer/device-invitations/devices');
    expect(listed.body.items.map((d) => d.id).sort()).toEqual(
      [owned[0]!.id, ...(await cloud.ctx.db.select({ id: devices.id }).from(devices).where(and(eq(devices.siteId, siteId), eq(devices.accessMode, 'p2p')))).map((d) => d.id)].sort(),
    );
  });
});

describe('a device management invitation (scenario 11)', () => {
  it('mails the invitee, is accepted only by it within 3 days, and moves the devices to the named site with their grants', async () => {
    const { siteId: oldSite, devices: owned } = await handedOverSite(cloud, previous, customer, { count: 2, permissions: [{ permission: 'LiveView', devices: [0, 1], validity: 'Permanent' }] });
    const sent = await invite({ inviteeEmail: invitee.email.toUpperCase(), deviceIds: owned.map((d) => d.id), siteName: 'Chris Home', permissions: ['Configuration', 'LiveView'] });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ status: 'Pending', inviteeEmail: invitee.email, siteName: 'Chris Home', customerEmail: customer.email, targetSiteId: null });
    expect(Date.parse(sent.body.expiresAt) - Date.parse(sent.body.createdAt)).toBe(72 * 3_600_000);

    const mail = await until(async () => catcher.to(invitee.email), (m) => m.length > 0, 'the invitation mail');
    const text = mail.at(-1)!.text;
    for (const part of [owned[0]!.name, owned[0]!.serial, 'Chris Home', customer.email, '/device-invitations']) expect(text).toContain(part);
    const [note] = await cloud.ctx.db.select().from(notifications).where(and(eq(notifications.kind, 'device_invitation'), sql`${notifications.data}->>'invitationId' = ${sent.body.id}`));
    expect(note!.data).toMatchObject({ category: 'business', siteName: 'Chris Home', customerAccount: customer.email, invitedAt: sent.body.createdAt });
    expect(note!.data.deviceName).toContain(owned[1]!.name);
    expect(note!.data.deviceSerialNo).toContain(owned[1]!.serial);

    expect((await invitee.client.get<{ items: DeviceInvitation[] }>('/device-invitations')).body.items.map((i) => i.id)).toEqual([sent.body.id]);
    const colleague = await signInEmployee(cloud, invitee.companyId, ['site.manage_all', 'device.manage']);
    const byColleague = await colleague.post<Refusal>(`/device-invitations/${sent.body.id}/accept`);
    expect([byColleague.status, byColleague.body.code]).toEqual([403, 'NOT_INVITEE']);
    const byPrevious = await previous.client.post<Refusal>(`/device-invitations/${sent.body.id}/accept`);
    expect([byPrevious.status, byPrevious.body.code]).toEqual([403, 'NOT_INVITEE']);
    const byCustomer = await customer.client.post<Refusal>(`/device-invitations/${sent.body.id}/accept`);
    expect([byCustomer.status, byCustomer.body.code]).toEqual([403, 'PERMISSION_DENIED']);

    const accepted = await invitee.client.post<DeviceInvitation>(`/device-invitations/${sent.body.id}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe('Accepted');
    const target = accepted.body.targetSiteId!;
    const site = await invitee.client.get<Site>(`/sites/${target}`);
    expect(site.body).toMatchObject({ name: 'Chris Home', status: 'AuthorizedAndMonitoring' });
    const [row] = await cloud.ctx.db.select().from(sites).where(eq(sites.id, target));
    expect(row).toMatchObject({ companyId: invitee.companyId, ownerAccountId: customer.accountId });
    const managers = await cloud.ctx.db.select().from(siteManagers).where(eq(siteManagers.siteId, target));
    expect(managers.map((m) => m.expiresAt)).toEqual([null]);
    const onSite = await invitee.client.get<{ items: { id: string }[] }>(`/sites/${target}/devices`);
    expect(onSite.body.items.map((d) => d.id).sort()).toEqual(owned.map((d) => d.id).sort());
    const grants = await invitee.client.get<{ items: Grant[] }>(`/sites/${target}/permissions`);
    const deviceGrants = grants.body.items.filter((g) => g.deviceId !== null);
    expect(deviceGrants).toHaveLength(4);
    expect(deviceGrants.every((g) => g.status === 'approved' && g.validity === 'Permanent' && g.expiresAt === null)).toBe(true);
    expect(new Set(deviceGrants.map((g) => g.permission))).toEqual(new Set(['Configuration', 'LiveView']));
    // The previous installer's grants from the old site ended with the move, and it no longer sees the devices.
    expect(await cloud.ctx.db.select().from(devicePermissions).where(eq(devicePermissions.siteId, oldSite))).toEqual([]);
    expect((await previous.client.get(`/devices/${owned[0]!.id}`)).status).toBe(404);
    const told = await cloud.ctx.db.select().from(notifications).where(and(eq(notifications.accountId, customer.accountId), eq(notifications.kind, 'device_invitation.accepted')));
    expect(told).toHaveLength(1);
    const twice = await invitee.client.post<Refusal>(`/device-invitations/${sent.body.id}/accept`);
    expect([twice.status, twice.body.code]).toEqual([409, 'INVITATION_STATE']);

    // A second invitation naming the same site goes to that site: it is the same customer's.
    const more = await handedOverSite(cloud, previous, customer, { count: 1 });
    const second = await invite({ inviteeEmail: invitee.email, deviceIds: [more.devices[0]!.id], siteName: 'chris home', permissions: ['Playback'] });
    const acceptedToo = await invitee.client.post<DeviceInvitation>(`/device-invitations/${second.body.id}/accept`);
    expect(acceptedToo.body.targetSiteId).toBe(target);
  });

  it('is expired 72 hours and 1 second after it was sent', async () => {
    const { devices: owned } = await handedOverSite(cloud, previous, customer, { count: 1 });
    const sent = await invite({ inviteeEmail: invitee.email, deviceIds: [owned[0]!.id], siteName: 'Late Site', permissions: ['LiveView'] });
    const sentAt = Date.now() - (72 * 3_600_000 + 1000);
    await cloud.ctx.db
      .update(deviceInvitations)
      .set({ createdAt: new Date(sentAt), expiresAt: new Date(sentAt + 72 * 3_600_000) })
      .where(eq(deviceInvitations.id, sent.body.id));
    const late = await invitee.client.post<Refusal>(`/device-invitations/${sent.body.id}/accept`);
    expect([late.status, late.body.code]).toEqual([410, 'INVITATION_EXPIRED']);
    const mine = await invitee.client.get<{ items: DeviceInvitation[] }>('/device-invitations');
    expect(mine.body.items.find((i) => i.id === sent.body.id)!.status).toBe('Expired');
    const [device] = await cloud.ctx.db.select().from(devices).where(eq(devices.id, owned[0]!.id));
    expect(device!.companyId).toBe(previous.companyId);
  });

  it('is declined by the invitee, and the customer is told', async () => {
    const { devices: owned } = await handedOverSite(cloud, previous, customer, { count: 1 });
    const sent = await invite({ inviteeEmail: invitee.email, deviceIds: [owned[0]!.id], siteName: 'Declined Site', permissions: ['LiveView'] });
    const declined = await invitee.client.post<DeviceInvitation>(`/device-invitations/${sent.body.id}/decline`);
    expect([declined.status, declined.body.status]).toEqual([200, 'Declined']);
    const list = await customer.client.get<{ items: DeviceInvitation[] }>('/customer/device-invitations');
    expect(list.body.items.find((i) => i.id === sent.body.id)!.status).toBe('Declined');
    const told = await cloud.ctx.db.select().from(notifications).where(and(eq(notifications.accountId, customer.accountId), eq(notifications.kind, 'device_invitation.declined')));
    expect(told.length).toBeGreaterThan(0);
    const accept = await invitee.client.post<Refusal>(`/device-invitations/${sent.body.id}/accept`);
    expect([accept.status, accept.body.code]).toEqual([409, 'INVITATION_STATE']);
  });

  it('refuses a site name the invitee’s company uses for a site of someone else', async () => {
    const { devices: owned } = await handedOverSite(cloud, previous, customer, { count: 1 });
    const taken = await invitee.client.post<{ id: string }>('/sites', { name: 'Taken Name', type: 'personal', timeZone: 'UTC', offlineDelaySec: 1 });
    expect(taken.status).toBe(201);
    const sent = await invite({ inviteeEmail: invitee.email, deviceIds: [owned[0]!.id], siteName: 'Taken Name', permissions: ['LiveView'] });
    const refused = await invitee.client.post<Refusal>(`/device-invitations/${sent.body.id}/accept`);
    expect([refused.status, refused.body.code]).toEqual([409, 'SITE_NAME_TAKEN']);
    const [device] = await cloud.ctx.db.select().from(devices).where(eq(devices.id, owned[0]!.id));
    expect(device!.companyId).toBe(previous.companyId);
    expect((await customer.client.get<{ items: DeviceInvitation[] }>('/customer/device-invitations')).body.items.find((i) => i.id === sent.body.id)!.status).toBe('Pending');
  });
});

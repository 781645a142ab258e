import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailCatcher } from '@vigil/simulators';
import type { HandoverBody, HandoverOffer, SiteHandover } from '@vigil/protocol/api';
import { accounts, devicePermissions, handovers, notifications, siteCollaborations, siteManagers, sites, smsOutbox } from '../db/schema.js';
import type { AppError } from '../http/errors.js';
import { requireDeviceUse } from '../sites/gate.js';
import { ApiClient, newSite, registerCompany, signInCustomer, signInEmployee, startTestCloud, VENDOR_ADMIN, type TestCloud } from '../testing/cloud.js';
import type { Auth } from '../types.js';
import { untilDefined } from '../testing/edge.js';
import { insertDevice } from '../testing/handover.js';

const HOUR_MS = 1500;
let catcher: MailCatcher;
let cloud: TestCloud;
type Company = Awaited<ReturnType<typeof registerCompany>>;
let owner: Company;
let other: Company;

beforeAll(async () => {
  catcher = new MailCatcher();
  const { url } = await catcher.start();
  cloud = await startTestCloud({ VIGIL_SMTP_URL: url, VIGIL_PERMISSION_HOUR_MS: String(HOUR_MS) });
  owner = await registerCompany(cloud.api, 'Owner Security');
  other = await registerCompany(cloud.api, 'Bystander Ltd');
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
  await catcher?.stop();
});

type Refusal = { code: string; message: string };
type Reply = SiteHandover & Refusal;

const addDevice = async (companyId: string, siteId: string, fields: { name?: string; accessMode?: string } = {}) => (await insertDevice(cloud, companyId, siteId, fields)).id;

/** A site of the company with two cameras. */
async function siteWithDevices(company: { client: ApiClient; companyId: string } = owner) {
  const siteId = await newSite(company.client);
  const cams = [await addDevice(company.companyId, siteId, { name: 'Front door' }), await addDevice(company.companyId, siteId, { name: 'Garden' })];
  return { siteId, cams };
}

const email = () => `cust.${randomBytes(5).toString('hex')}@example.test`;
const handOver = (client: ApiClient, siteId: string, body: Partial<HandoverBody>) =>
  client.post<Reply>(`/sites/${siteId}/handover`, { channel: 'email', permissions: [], ...body });

async function siteStatus(siteId: string) {
  return (await cloud.ctx.db.select({ status: sites.status }).from(sites).where(eq(sites.id, siteId)))[0]!.status;
}

/** The token of the newest handover mail to this address, once the mail has arrived. */
async function tokenMailedTo(to: string, seen = 0) {
  await catcher.waitFor(() => catcher.to(to).length > seen);
  const mails = catcher.to(to);
  const mail = mails[mails.length - 1]!;
  const token = /\/handover\/([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  if (!token) throw new Error(`no handover link in ${mail.text}`);
  return { token, mail };
}


describe('handing over by transfer (scenario 1)', () => {
  it('offers the site to an unknown email: NotRegistered, a mail with the link, the company, the remarks and the permissions', async () => {
    const { siteId, cams } = await siteWithDevices();
    const to = email();
    const res = await handOver(owner.client, siteId, {
      recipient: to.toUpperCase(),
      customerName: 'Mrs Smith',
      remarks: 'Installed on 3 May',
      permissions: [
        { permission: 'ManageSiteInformation', deviceIds: [], validity: 'Permanent' },
        { permission: 'LiveView', deviceIds: [cams[0]!, cams[0]!], validity: '2h' },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ siteId, siteStatus: 'NotRegistered', resendsLeft: 5 });
    expect(res.body.handover).toMatchObject({ status: 'NotRegistered', channel: 'email', recipient: to, customerName: 'Mrs Smith', remarks: 'Installed on 3 May' });
    expect(res.body.handover!.permissions).toEqual([
      { permission: 'ManageSiteInformation', validity: 'Permanent', devices: [] },
      { permission: 'LiveView', validity: '2h', devices: [{ id: cams[0], name: 'Front door' }] },
    ]);
    expect(await siteStatus(siteId)).toBe('NotRegistered');

    const { token, mail } = await tokenMailedTo(to);
    expect(mail.subject).toContain('Owner Security');
    expect(mail.text).toContain('Installed on 3 May');
    expect(mail.text).toContain('Live view (2 Hours): Front door');
    expect(mail.text).toContain('Manage site information (Permanent)');
    expect(mail.text).toContain(`${cloud.url}/handover/${token}`);

    const anonymous = await new ApiClient(cloud.api).get<HandoverOffer>(`/handovers/${token}`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toMatchObject({ siteId, companyName: 'Owner Security', remarks: 'Installed on 3 May', status: 'NotRegistered', forMe: false });
    const unknown = await new ApiClient(cloud.api).get<Refusal>(`/handovers/${randomBytes(24).toString('base64url')}`);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'HANDOVER_NOT_FOUND']);
  });

  it('offers the site to a registered customer: ToBeAccepted, and a message in its Notification Center', async () => {
    const { siteId } = await siteWithDevices();
    const customer = await signInCustomer(cloud);
    const res = await handOver(owner.client, siteId, { recipient: customer.email });
    expect([res.status, res.body.siteStatus, res.body.handover?.status]).toEqual([201, 'ToBeAccepted', 'ToBeAccepted']);
    const [note] = await cloud.ctx.db.select().from(notifications).where(and(eq(notifications.accountId, customer.accountId), eq(notifications.kind, 'handover.offer')));
    expect(note?.body).toContain('Owner Security');
    const waiting = await customer.client.get<{ items: HandoverOffer[] }>('/customer/handovers');
    expect(waiting.body.items.map((h) => [h.siteId, h.forMe])).toEqual([[siteId, true]]);
    const { token } = await tokenMailedTo(customer.email);
    expect((await customer.client.get<HandoverOffer>(`/handovers/${token}`)).body.forMe).toBe(true);
  });

  it('refuses a transfer in every status but Not Handed Over (409), the second handover of a waiting site too', async () => {
    const { siteId: waiting } = await siteWithDevices();
    expect((await handOver(owner.client, waiting, { recipient: email() })).status).toBe(201);
    const again = await handOver(owner.client, waiting, { recipient: email() });
    expect([again.status, again.body.code]).toEqual([409, 'SITE_STATUS_FORBIDS']);
    for (const status of ['Shared', 'Disbanded', 'HandedOverNotAuthorized', 'AuthorizedAndMonitoring']) {
      const { siteId } = await siteWithDevices();
      await cloud.ctx.db.update(sites).set({ status }).where(eq(sites.id, siteId));
      const res = await handOver(owner.client, siteId, { recipient: email() });
      expect([status, res.status, res.body.code]).toEqual([status, 409, 'SITE_STATUS_FORBIDS']);
      expect(await cloud.ctx.db.select().from(handovers).where(eq(handovers.siteId, siteId))).toEqual([]);
      expect(await siteStatus(siteId)).toBe(status);
    }
    expect(await cloud.ctx.db.select().from(handovers).where(eq(handovers.siteId, waiting))).toHaveLength(1);
  });

  it('refuses bad input with its code and changes nothing', async () => {
    const { siteId, cams } = await siteWithDevices();
    const foreign = await siteWithDevices(other);
    const ipOnly = await addDevice(owner.companyId, siteId, { name: 'WAN camera', accessMode: 'ip_domain' });
    const [otherAdmin] = await cloud.ctx.db.select({ email: accounts.email }).from(accounts).where(eq(accounts.companyId, other.companyId));
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['a validity not offered', { recipient: email(), permissions: [{ permission: 'LiveView', deviceIds: [cams[0]], validity: '3h' }] }, 400, 'VALIDATION_FAILED'],
      ['an unknown permission', { recipient: email(), permissions: [{ permission: 'SiteAuthorization', deviceIds: [], validity: '1h' }] }, 400, 'VALIDATION_FAILED'],
      ['not an email', { recipient: 'not-an-email' }, 400, 'INVALID_RECIPIENT'],
      ['not an E.164 number', { channel: 'phone', recipient: '07700 900123' }, 400, 'INVALID_RECIPIENT'],
      ['devices on site information', { recipient: email(), permissions: [{ permission: 'ManageSiteInformation', deviceIds: [cams[0]], validity: '1h' }] }, 422, 'HANDOVER_PERMISSIONS_INVALID'],
      ['no devices on live view', { recipient: email(), permissions: [{ permission: 'LiveView', deviceIds: [], validity: '1h' }] }, 422, 'HANDOVER_PERMISSIONS_INVALID'],
      ['a permission twice', { recipient: email(), permissions: [{ permission: 'Playback', deviceIds: [cams[0]], validity: '1h' }, { permission: 'Playback', deviceIds: [cams[1]], validity: '4h' }] }, 422, 'HANDOVER_PERMISSIONS_INVALID'],
      ["another site's device", { recipient: email(), permissions: [{ permission: 'Configuration', deviceIds: [foreign.cams[0]], validity: '8h' }] }, 422, 'DEVICE_NOT_ON_SITE'],
      ['a device added by IP/domain', { recipient: email(), permissions: [{ permission: 'LiveView', deviceIds: [ipOnly], validity: '8h' }] }, 422, 'DEVICE_NOT_HANDOVER_CAPABLE'],
      ["an installer's account", { recipient: otherAdmin!.email }, 422, 'RECIPIENT_NOT_CUSTOMER'],
      ["the platform operator's account", { recipient: VENDOR_ADMIN.email }, 422, 'RECIPIENT_NOT_CUSTOMER'],
    ];
    for (const [what, body, status, code] of cases) {
      const res = await owner.client.post<Refusal>(`/sites/${siteId}/handover`, { channel: 'email', permissions: [], ...body });
      expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status, code });
    }
    expect(await cloud.ctx.db.select().from(handovers).where(eq(handovers.siteId, siteId))).toEqual([]);
    expect(await siteStatus(siteId)).toBe('NotHandedOver');

    const empty = await newSite(owner.client);
    const none = await handOver(owner.client, empty, { recipient: email() });
    expect([none.status, none.body.code]).toEqual([422, 'SITE_HAS_NO_DEVICES']);
    await addDevice(owner.companyId, empty, { accessMode: 'ip_domain' });
    const wanOnly = await handOver(owner.client, empty, { recipient: email() });
    expect([wanOnly.status, wanOnly.body.code]).toEqual([422, 'SITE_HAS_NO_DEVICES']);

    const outsider = await handOver(other.client, siteId, { recipient: email() });
    expect([outsider.status, outsider.body.code]).toEqual([404, 'SITE_NOT_FOUND']);
  });

  it('sends a handover by phone as a text message with the link', async () => {
    const { siteId } = await siteWithDevices();
    const phone = `+4477009${String(Date.now() % 100000).padStart(5, '0')}`;
    const res = await handOver(owner.client, siteId, { channel: 'phone', recipient: phone, remarks: 'Keys under the mat' });
    expect([res.status, res.body.handover?.status]).toEqual([201, 'NotRegistered']);
    const [sms] = await cloud.ctx.db.select().from(smsOutbox).where(eq(smsOutbox.toNumber, phone));
    expect(sms).toMatchObject({ kind: 'handover.offer' });
    expect(sms!.text).toContain('Owner Security');
    expect(sms!.text).toContain('Keys under the mat');
    const token = /\/handover\/([A-Za-z0-9_-]+)/.exec(sms!.text)?.[1];
    expect((await new ApiClient(cloud.api).get<HandoverOffer>(`/handovers/${token}`)).body.siteId).toBe(siteId);
    expect(catcher.messages.some((m) => m.text.includes(token!))).toBe(false);
  });
});

describe('handing over by QR code', () => {
  it('sends nothing and gives the link once; the first customer who answers with it owns the site, nobody else may', async () => {
    const { siteId, cams } = await siteWithDevices();
    const mailsBefore = catcher.messages.length;
    const res = await handOver(owner.client, siteId, { channel: 'qrcode', permissions: [{ permission: 'LiveView', deviceIds: [cams[0]!], validity: 'Permanent' }] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ siteStatus: 'ToBeAccepted', handover: { channel: 'qrcode', recipient: '', status: 'ToBeAccepted' } });
    const token = /\/handover\/([A-Za-z0-9_-]+)$/.exec(res.body.link ?? '')?.[1];
    expect(token).toBeDefined();
    // The link is not kept: reading the handover again does not show it.
    expect((await owner.client.get<Reply>(`/sites/${siteId}/handover`)).body.link).toBeUndefined();
    const sent = await cloud.ctx.db.select().from(smsOutbox).where(eq(smsOutbox.kind, 'handover.offer'));
    expect(sent.some((s) => s.text.includes(token!))).toBe(false);
    expect(catcher.messages.slice(mailsBefore).some((m) => m.text.includes(token!))).toBe(false);

    const [scanner, bystander] = [await signInCustomer(cloud), await signInCustomer(cloud)];
    const offer = await scanner.client.get<HandoverOffer>(`/handovers/${token}`);
    expect([offer.status, offer.body.forMe]).toEqual([200, true]);
    // Without the link's token nobody is its recipient, not even with the handover's id.
    const guessed = await bystander.client.post<Refusal>(`/customer/handovers/${offer.body.id}/accept`);
    expect([guessed.status, guessed.body.code]).toEqual([403, 'NOT_RECIPIENT']);
    const accepted = await scanner.client.post<HandoverOffer>(`/customer/handovers/${offer.body.id}/accept?token=${token}`);
    expect([accepted.status, accepted.body.status]).toEqual([200, 'Accepted']);
    const [site] = await cloud.ctx.db.select().from(sites).where(eq(sites.id, siteId));
    expect([site!.ownerAccountId, site!.status]).toEqual([scanner.accountId, 'HandedOverNotAuthorized']);
    const late = await bystander.client.post<Refusal>(`/customer/handovers/${offer.body.id}/accept?token=${token}`);
    expect([late.status, late.body.code]).toEqual([403, 'NOT_RECIPIENT']);
  });

  it('refuses a recipient on a QR code and none on an email, and a resend by QR code makes a new link and kills the old one', async () => {
    const { siteId } = await siteWithDevices();
    const withRecipient = await handOver(owner.client, siteId, { channel: 'qrcode', recipient: email() });
    expect([withRecipient.status, withRecipient.body.code]).toEqual([400, 'INVALID_RECIPIENT']);
    const without = await handOver(owner.client, siteId, { channel: 'email' });
    expect([without.status, without.body.code]).toEqual([400, 'INVALID_RECIPIENT']);
    expect(await siteStatus(siteId)).toBe('NotHandedOver');

    const to = email();
    expect((await handOver(owner.client, siteId, { recipient: to })).status).toBe(201);
    const mailed = await tokenMailedTo(to);
    const resent = await owner.client.post<Reply>(`/sites/${siteId}/handover/resend`, { channel: 'qrcode' });
    expect(resent.status).toBe(201);
    expect(resent.body.handover).toMatchObject({ channel: 'qrcode', recipient: '', status: 'ToBeAccepted' });
    const scanned = /\/handover\/([A-Za-z0-9_-]+)$/.exec(resent.body.link ?? '')?.[1];
    expect((await new ApiClient(cloud.api).get<Refusal>(`/handovers/${mailed.token}`)).status).toBe(410);
    expect((await new ApiClient(cloud.api).get<HandoverOffer>(`/handovers/${scanned}`)).body.siteId).toBe(siteId);
  });
});

describe('who may hand over (scenario 2)', () => {
  it('needs Manage All Sites, or Manage Assigned Sites with the site assigned; device permissions need device management', async () => {
    const { siteId, cams } = await siteWithDevices();
    const noSites = await signInEmployee(cloud, owner.companyId, ['device.manage']);
    const res1 = await handOver(noSites, siteId, { recipient: email() });
    expect([res1.status, res1.body.code]).toEqual([403, 'PERMISSION_DENIED']);

    const assigned = await signInEmployee(cloud, owner.companyId, ['site.manage_assigned']);
    const res2 = await handOver(assigned, siteId, { recipient: email() });
    expect([res2.status, res2.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect((await assigned.get<Refusal>(`/sites/${siteId}/handover`)).status).toBe(403);

    const me = (await assigned.get<{ account: { id: string } }>('/me')).body.account.id;
    await cloud.ctx.db.insert(siteManagers).values({ siteId, accountId: me });
    const liveView = [{ permission: 'LiveView' as const, deviceIds: [cams[0]!], validity: '1h' as const }];
    const res3 = await handOver(assigned, siteId, { recipient: email(), permissions: liveView });
    expect([res3.status, res3.body.code]).toEqual([403, 'DEVICE_MANAGEMENT_REQUIRED']);
    expect(await siteStatus(siteId)).toBe('NotHandedOver');
    const res4 = await handOver(assigned, siteId, { recipient: email(), permissions: [{ permission: 'ManageSiteInformation', deviceIds: [], validity: 'Permanent' }] });
    expect([res4.status, res4.body.siteStatus]).toEqual([201, 'NotRegistered']);

    const { siteId: second, cams: secondCams } = await siteWithDevices();
    const allSites = await signInEmployee(cloud, owner.companyId, ['site.manage_all', 'device.manage']);
    const res5 = await handOver(allSites, second, { recipient: email(), permissions: [{ permission: 'Playback', deviceIds: secondCams, validity: '4h' }] });
    expect(res5.status).toBe(201);
  });

  it('keeps customers off installer routes and installers off customer routes', async () => {
    const { siteId } = await siteWithDevices();
    const customer = await signInCustomer(cloud);
    const asCustomer = await handOver(customer.client, siteId, { recipient: email() });
    expect([asCustomer.status, asCustomer.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect((await customer.client.get<Refusal>(`/sites/${siteId}/handover`)).status).toBe(403);
    expect((await customer.client.delete<Refusal>(`/sites/${siteId}/handover`)).status).toBe(403);

    const res = await handOver(owner.client, siteId, { recipient: customer.email });
    const id = res.body.handover!.id;
    for (const [method, path] of [
      ['GET', '/customer/handovers'],
      ['POST', `/customer/handovers/${id}/accept`],
      ['POST', `/customer/handovers/${id}/reject`],
      ['GET', '/customer/sites'],
    ] as const) {
      const r = await owner.client.call<Refusal>(method, path, method === 'POST' ? {} : undefined);
      expect([path, r.status, r.body.code]).toEqual([path, 403, 'CUSTOMER_ONLY']);
    }
    expect(await siteStatus(siteId)).toBe('ToBeAccepted');
    const anonymous = await new ApiClient(cloud.api).post<Refusal>(`/customer/handovers/${id}/accept`);
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });
});

describe('resending and cancelling (scenario 3)', () => {
  it('allows 5 resends a day, refuses the 6th with 429, and each resend invalidates the previous link', async () => {
    const { siteId, cams } = await siteWithDevices();
    const customer = await signInCustomer(cloud);
    const first = await handOver(owner.client, siteId, { recipient: customer.email, permissions: [{ permission: 'Configuration', deviceIds: cams, validity: '8h' }] });
    expect(first.status).toBe(201);
    const tokens = [(await tokenMailedTo(customer.email)).token];
    const ids = [first.body.handover!.id];
    for (let i = 1; i <= 5; i++) {
      const res = await owner.client.post<Reply>(`/sites/${siteId}/handover/resend`, i === 3 ? { remarks: 'Sent again' } : {});
      expect([i, res.status, res.body.resendsLeft, res.body.siteStatus]).toEqual([i, 201, 5 - i, 'ToBeAccepted']);
      expect(res.body.handover!.permissions.map((p) => p.permission)).toEqual(['Configuration']);
      ids.push(res.body.handover!.id);
      tokens.push((await tokenMailedTo(customer.email, i)).token);
    }
    const sixth = await owner.client.post<Refusal>(`/sites/${siteId}/handover/resend`, {});
    expect([sixth.status, sixth.body.code]).toEqual([429, 'HANDOVER_RESEND_LIMIT']);

    const rows = await cloud.ctx.db.select({ id: handovers.id, status: handovers.status, remarks: handovers.remarks }).from(handovers).where(eq(handovers.siteId, siteId));
    expect(rows.filter((r) => r.status === 'Invalidated')).toHaveLength(5);
    expect(rows.filter((r) => r.status === 'ToBeAccepted').map((r) => r.id)).toEqual([ids[5]]);
    expect(rows.find((r) => r.id === ids[5])!.remarks).toBe('Sent again');

    const old = await new ApiClient(cloud.api).get<Refusal>(`/handovers/${tokens[0]}`);
    expect([old.status, old.body.code]).toEqual([410, 'HANDOVER_INVALIDATED']);
    const acceptOld = await customer.client.post<Refusal>(`/customer/handovers/${ids[2]}/accept`);
    expect([acceptOld.status, acceptOld.body.code]).toEqual([410, 'HANDOVER_INVALIDATED']);
    expect(await siteStatus(siteId)).toBe('ToBeAccepted');
    const latest = await customer.client.get<HandoverOffer>(`/handovers/${tokens[5]}`);
    expect([latest.status, latest.body.id]).toEqual([200, ids[5]]);
    expect((await customer.client.post<HandoverOffer>(`/customer/handovers/${ids[5]}/accept`)).status).toBe(200);
  });

  it('resends to a new recipient, only while waiting', async () => {
    const { siteId } = await siteWithDevices();
    const early = await owner.client.post<Refusal>(`/sites/${siteId}/handover/resend`, {});
    expect([early.status, early.body.code]).toEqual([409, 'SITE_STATUS_FORBIDS']);
    const first = email();
    await handOver(owner.client, siteId, { recipient: first });
    const customer = await signInCustomer(cloud);
    const res = await owner.client.post<Reply>(`/sites/${siteId}/handover/resend`, { recipient: customer.email });
    expect([res.status, res.body.siteStatus, res.body.handover?.recipient, res.body.handover?.status]).toEqual([201, 'ToBeAccepted', customer.email, 'ToBeAccepted']);
    await tokenMailedTo(customer.email);
    const bad = await owner.client.post<Refusal>(`/sites/${siteId}/handover/resend`, { channel: 'phone' });
    expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_RECIPIENT']);
  });

  it('cancels a waiting handover: the site is Not Handed Over again and the link leads nowhere', async () => {
    const { siteId } = await siteWithDevices();
    const customer = await signInCustomer(cloud);
    const res = await handOver(owner.client, siteId, { recipient: customer.email });
    const { token } = await tokenMailedTo(customer.email);
    const cancelled = await owner.client.delete<Reply>(`/sites/${siteId}/handover`);
    expect([cancelled.status, cancelled.body.siteStatus, cancelled.body.handover?.status]).toEqual([200, 'NotHandedOver', 'Cancelled']);
    expect((await new ApiClient(cloud.api).get<HandoverOffer>(`/handovers/${token}`)).body.status).toBe('Cancelled');
    const accept = await customer.client.post<Refusal>(`/customer/handovers/${res.body.handover!.id}/accept`);
    expect([accept.status, accept.body.code]).toEqual([409, 'HANDOVER_NOT_PENDING']);
    const again = await owner.client.delete<Refusal>(`/sites/${siteId}/handover`);
    expect([again.status, again.body.code]).toEqual([409, 'HANDOVER_NOT_PENDING']);
    expect((await customer.client.get<{ items: unknown[] }>('/customer/handovers')).body.items).toEqual([]);
    // The site can be handed over anew.
    expect((await handOver(owner.client, siteId, { recipient: customer.email })).status).toBe(201);
  });

  it('an expired handover counts as Expired, and the site returns to Not Handed Over', async () => {
    const { siteId } = await siteWithDevices();
    const customer = await signInCustomer(cloud);
    const res = await handOver(owner.client, siteId, { recipient: customer.email });
    const { token } = await tokenMailedTo(customer.email);
    await cloud.ctx.db.update(handovers).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(handovers.id, res.body.handover!.id));
    const accept = await customer.client.post<Refusal>(`/customer/handovers/${res.body.handover!.id}/accept`);
    expect([accept.status, accept.body.code]).toEqual([410, 'HANDOVER_EXPIRED']);
    const link = await new ApiClient(cloud.api).get<Refusal>(`/handovers/${token}`);
    expect([link.status, link.body.code]).toEqual([410, 'HANDOVER_EXPIRED']);
    const view = await owner.client.get<Reply>(`/sites/${siteId}/handover`);
    expect([view.body.siteStatus, view.body.handover?.status]).toEqual(['NotHandedOver', 'Expired']);
    expect(await siteStatus(siteId)).toBe('NotHandedOver');
  });
});

describe('accepting and rejecting (scenario 4)', () => {
  it('accepting with Live view for 2 hours: the site has an owner, the grant works at once and refuses after 2 (shortened) hours', async () => {
    const { siteId, cams } = await siteWithDevices();
    const customer = await signInCustomer(cloud);
    const res = await handOver(owner.client, siteId, { recipient: customer.email, permissions: [{ permission: 'LiveView', deviceIds: [cams[0]!], validity: '2h' }] });
    const before = Date.now();
    const accepted = await customer.client.post<HandoverOffer>(`/customer/handovers/${res.body.handover!.id}/accept`);
    expect([accepted.status, accepted.body.status]).toEqual([200, 'Accepted']);

    const [site] = await cloud.ctx.db.select().from(sites).where(eq(sites.id, siteId));
    expect([site!.ownerAccountId, site!.status]).toEqual([customer.accountId, 'HandedOverNotAuthorized']);
    const grants = await cloud.ctx.db.select().from(devicePermissions).where(eq(devicePermissions.siteId, siteId));
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ deviceId: cams[0], companyId: owner.companyId, permission: 'LiveView', validity: '2h', status: 'approved', source: 'handover', reviewerAccountId: customer.accountId });
    const expiresAt = grants[0]!.expiresAt!.getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + 2 * HOUR_MS - 50);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 2 * HOUR_MS + 50);

    const installer = { companyId: owner.companyId } as Auth;
    const front = { id: cams[0]!, name: 'Front door' };
    await expect(requireDeviceUse(cloud.ctx.db, installer, site!, front, 'LiveView')).resolves.toBeUndefined();
    const notGranted = await requireDeviceUse(cloud.ctx.db, installer, site!, { id: cams[1]!, name: 'Garden' }, 'LiveView').catch((e: unknown) => e);
    expect([(notGranted as AppError).statusCode, (notGranted as AppError).code]).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    const expired = await untilDefined('the grant to expire', async () => {
      const err = await requireDeviceUse(cloud.ctx.db, installer, site!, front, 'LiveView').then(() => undefined, (e: unknown) => e as AppError);
      return err;
    });
    expect([expired.statusCode, expired.code]).toEqual([403, 'DEVICE_PERMISSION_EXPIRED']);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);

    // The site stays in the installer's list, with its new status.
    const list = await owner.client.get<{ items: { id: string; status: string }[] }>('/sites?pageSize=500');
    expect(list.body.items.find((s) => s.id === siteId)?.status).toBe('HandedOverNotAuthorized');
    // The installers hear it.
    const [admin] = await cloud.ctx.db.select({ id: accounts.id, email: accounts.email }).from(accounts).where(and(eq(accounts.companyId, owner.companyId), eq(accounts.role, 'installer_admin')));
    const told = await cloud.ctx.db.select().from(notifications).where(and(eq(notifications.accountId, admin!.id), eq(notifications.kind, 'handover.accepted')));
    expect(told.some((n) => n.body.includes(site!.name))).toBe(true);
    await catcher.waitFor((m) => m.to === admin!.email.toLowerCase() && m.subject.includes(site!.name) && m.subject.includes('accepted'));
  });

  it('asking for Manage Site Information makes the site Authorized and Monitoring, with a Permanent site-wide grant', async () => {
    const { siteId } = await siteWithDevices();
    const customer = await signInCustomer(cloud);
    const res = await handOver(owner.client, siteId, { recipient: customer.email, permissions: [{ permission: 'ManageSiteInformation', deviceIds: [], validity: 'Permanent' }] });
    expect((await customer.client.post(`/customer/handovers/${res.body.handover!.id}/accept`)).status).toBe(200);
    expect(await siteStatus(siteId)).toBe('AuthorizedAndMonitoring');
    const grants = await cloud.ctx.db.select().from(devicePermissions).where(eq(devicePermissions.siteId, siteId));
    expect(grants.map((g) => [g.permission, g.deviceId, g.expiresAt, g.status])).toEqual([['ManageSiteInformation', null, null, 'approved']]);
  });

  it('only the recipient answers, once', async () => {
    const { siteId } = await siteWithDevices();
    const customer = await signInCustomer(cloud);
    const stranger = await signInCustomer(cloud);
    const res = await handOver(owner.client, siteId, { recipient: customer.email });
    const id = res.body.handover!.id;
    const wrong = await stranger.client.post<Refusal>(`/customer/handovers/${id}/accept`);
    expect([wrong.status, wrong.body.code]).toEqual([403, 'NOT_RECIPIENT']);
    const missing = await customer.client.post<Refusal>(`/customer/handovers/${randomUUID()}/accept`);
    expect([missing.status, missing.body.code]).toEqual([404, 'HANDOVER_NOT_FOUND']);
    expect(await siteStatus(siteId)).toBe('ToBeAccepted');

    const rejected = await customer.client.post<HandoverOffer>(`/customer/handovers/${id}/reject`);
    expect([rejected.status, rejected.body.status]).toEqual([200, 'Rejected']);
    const [site] = await cloud.ctx.db.select().from(sites).where(eq(sites.id, siteId));
    expect([site!.status, site!.ownerAccountId]).toEqual(['NotHandedOver', null]);
    const twice = await customer.client.post<Refusal>(`/customer/handovers/${id}/accept`);
    expect([twice.status, twice.body.code]).toEqual([409, 'HANDOVER_NOT_PENDING']);
    expect(await cloud.ctx.db.select().from(devicePermissions).where(eq(devicePermissions.siteId, siteId))).toEqual([]);
  });

  it("an ISP partner hands the site over in the owner company's name, and its collaboration ends at acceptance", async () => {
    const isp = await registerCompany(cloud.api, 'Partner Installations');
    const { siteId } = await siteWithDevices();
    const [ispAdmin] = await cloud.ctx.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.companyId, isp.companyId));
    await cloud.ctx.db.insert(siteCollaborations).values({ siteId, ownerCompanyId: owner.companyId, partnerCompanyId: isp.companyId, partnerAccountId: ispAdmin!.id, type: 'isp', status: 'active' });

    const customer = await signInCustomer(cloud);
    const res = await handOver(isp.client, siteId, { recipient: customer.email });
    expect(res.status).toBe(201);
    const { mail } = await tokenMailedTo(customer.email);
    expect(mail.subject).toContain('Owner Security');
    expect(mail.text).not.toContain('Partner Installations');

    expect((await customer.client.post(`/customer/handovers/${res.body.handover!.id}/accept`)).status).toBe(200);
    const [collab] = await cloud.ctx.db.select().from(siteCollaborations).where(eq(siteCollaborations.siteId, siteId));
    expect(collab!.status).toBe('ended');
    const gone = await isp.client.get<Refusal>(`/sites/${siteId}/handover`);
    expect([gone.status, gone.body.code]).toEqual([404, 'SITE_NOT_FOUND']);
  });
});

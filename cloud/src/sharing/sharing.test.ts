import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailCatcher } from '@vigil/simulators';
import type { CustomerDevicesReply, CustomerSharingsReply, SharingOffer, SiteSharing } from '@vigil/protocol/api';
import { notifications, sharingRecipients, sharings, siteArcAuthorizations, sites, smsOutbox } from '../db/schema.js';
import { ApiClient, newSite, registerCompany, signInCustomer, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { until } from '../testing/edge.js';
import { insertDevice } from '../testing/handover.js';

type Refusal = { code: string; message: string };
type Company = Awaited<ReturnType<typeof registerCompany>>;

let cloud: TestCloud;
let catcher: MailCatcher;
let owner: Company;
let other: Company;

beforeAll(async () => {
  catcher = new MailCatcher();
  const { url } = await catcher.start();
  cloud = await startTestCloud({ VIGIL_SMTP_URL: url });
  owner = await registerCompany(cloud.api, 'Tenant Security');
  other = await registerCompany(cloud.api, 'Another Installer');
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
  await catcher?.stop();
});

const newEmail = (tag = 'tenant') => `${tag}.${randomBytes(4).toString('hex')}@example.test`;

/** A device of the site written straight into the database (P2P unless told). */
const device = async (siteId: string, name: string, accessMode: 'p2p' | 'ip_domain' = 'p2p') => (await insertDevice(cloud, owner.companyId, siteId, { name, accessMode })).id;

const all = (deviceId: string) => ({ deviceId, permissions: ['LiveView', 'Playback'], validity: 'Permanent' });
const share = (client: ApiClient, siteId: string, body: Record<string, unknown>) => client.post<SiteSharing & Refusal>(`/sites/${siteId}/sharing`, body);
const byEmail = (recipient: string, extra: Record<string, unknown> = {}) => ({ channel: 'email', recipient, ...extra });

async function siteState(siteId: string) {
  const [site] = await cloud.ctx.db.select({ status: sites.status }).from(sites).where(eq(sites.id, siteId));
  const rows = await cloud.ctx.db.select().from(sharings).where(eq(sharings.siteId, siteId));
  return { status: site!.status, sharings: rows.length };
}

const shareMails = (email: string) => catcher.messages.filter((m) => m.to === email && m.text.includes('/share/'));

/** The share link's token from the newest mail to the address, once there are more than `before`. */
async function linkTo(email: string, before = 0): Promise<string> {
  const mails = await until(async () => shareMails(email), (m) => m.length > before, `sharing mail to ${email}`);
  const link = /(https?:\/\/\S+)\/share\/(\S+)/.exec(mails.at(-1)!.text);
  expect(link?.[1]).toBe(cloud.ctx.publicUrl);
  return link![2]!;
}

const recipientOf = (s: SiteSharing, recipient: string) => s.recipients.find((r) => r.recipient === recipient)!;

describe('scenario 5: handing a site over by sharing', () => {
  it('refuses a team site and Mode A without exactly one Customer Administrator; with one it shares, sends the links and the site is Shared', async () => {
    const team = await newSite(owner.client, { type: 'team' });
    const teamRes = await share(owner.client, team, { mode: 'B', recipients: [byEmail(newEmail())], devices: [all(await device(team, 'Team cam'))] });
    expect([teamRes.status, teamRes.body.code]).toEqual([422, 'SHARING_PERSONAL_ONLY']);
    expect(await siteState(team)).toEqual({ status: 'NotHandedOver', sharings: 0 });

    const site = await newSite(owner.client);
    const cam = await device(site, 'Hall camera');
    const ipCam = await device(site, 'WAN camera', 'ip_domain');
    const elsewhere = await device(await newSite(owner.client), 'Other site camera');
    const tenant = await signInCustomer(cloud);
    const newcomer = newEmail('newcomer');
    const phone = `+44770090${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;

    const refusals: [string, Record<string, unknown>, number, string][] = [
      ['two customers, no admin', { mode: 'A', recipients: [byEmail(tenant.email), byEmail(newcomer)], devices: [all(cam)] }, 422, 'CUSTOMER_ADMIN_REQUIRED'],
      ['two admins', { mode: 'A', recipients: [byEmail(tenant.email, { isAdmin: true }), byEmail(newcomer, { isAdmin: true })], devices: [all(cam)] }, 422, 'CUSTOMER_ADMIN_NOT_UNIQUE'],
      ['a device of another site', { mode: 'B', recipients: [byEmail(newcomer)], devices: [all(elsewhere)] }, 422, 'DEVICE_NOT_ON_SITE'],
      ['a device added by IP/domain', { mode: 'B', recipients: [byEmail(newcomer)], devices: [all(ipCam)] }, 422, 'DEVICE_NOT_HANDOVER_CAPABLE'],
      ["an installer's email", { mode: 'B', recipients: [byEmail(other.email)], devices: [all(cam)] }, 422, 'RECIPIENT_NOT_CUSTOMER'],
      ['the same customer twice', { mode: 'B', recipients: [byEmail(newcomer), byEmail(newcomer.toUpperCase())], devices: [all(cam)] }, 422, 'DUPLICATE_RECIPIENT'],
      ['a phone not in E.164', { mode: 'B', recipients: [{ channel: 'phone', recipient: '07700 900123' }], devices: [all(cam)] }, 400, 'INVALID_RECIPIENT'],
      ['an unknown validity', { mode: 'B', recipients: [byEmail(newcomer)], devices: [{ ...all(cam), validity: '3h' }] }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [what, body, status, code] of refusals) {
      const res = await share(owner.client, site, body);
      expect([what, res.status, res.body.code]).toEqual([what, status, code]);
    }
    expect(await siteState(site)).toEqual({ status: 'NotHandedOver', sharings: 0 });

    const res = await share(owner.client, site, {
      mode: 'A',
      recipients: [byEmail(tenant.email, { isAdmin: true, remarks: 'Flat 2' }), byEmail(newcomer), { channel: 'phone', recipient: phone }],
      devices: [{ deviceId: cam, permissions: ['LiveView'], validity: '8h' }],
      remarks: 'Tenancy from May',
    });
    expect(res.status).toBe(201);
    expect(res.body.mode).toBe('A');
    expect(res.body.siteStatus).toBe('Shared');
    expect(recipientOf(res.body, tenant.email)).toMatchObject({ status: 'ToBeAccepted', isAdmin: true, remarks: 'Flat 2', customerName: 'Customer' });
    expect(recipientOf(res.body, newcomer)).toMatchObject({ status: 'NotRegistered', isAdmin: false });
    expect(recipientOf(res.body, phone)).toMatchObject({ status: 'NotRegistered', channel: 'phone' });
    for (const r of res.body.recipients) expect(r.devices).toEqual([{ deviceId: cam, deviceName: 'Hall camera', kind: 'camera', permissions: ['LiveView'], validity: '8h' }]);
    expect(await siteState(site)).toEqual({ status: 'Shared', sharings: 1 });

    // The links: a mail each, a text message for the phone, and a notification for the registered customer.
    const token = await linkTo(tenant.email);
    await linkTo(newcomer);
    const [sms] = await cloud.ctx.db.select().from(smsOutbox).where(eq(smsOutbox.toNumber, phone));
    expect(sms!.text).toContain(`${cloud.ctx.publicUrl}/share/`);
    const notes = await cloud.ctx.db.select().from(notifications).where(eq(notifications.accountId, tenant.accountId));
    expect(notes.map((n) => n.kind)).toEqual(['sharing.offer']);

    // The public offer, then the customer's list and its answer.
    const offer = await new ApiClient(cloud.api).get<SharingOffer>(`/sharings/${token}`);
    expect(offer.status).toBe(200);
    expect(offer.body).toMatchObject({ siteId: site, companyName: 'Tenant Security', mode: 'A', isAdmin: true, status: 'ToBeAccepted', forMe: false });
    expect((await tenant.client.get<SharingOffer>(`/sharings/${token}`)).body.forMe).toBe(true);
    const mine = await tenant.client.get<CustomerSharingsReply>('/customer/sharings');
    expect(mine.body.items.map((i) => i.id)).toEqual([offer.body.id]);
    const accepted = await tenant.client.post<SharingOffer>(`/customer/sharings/${offer.body.id}/accept`);
    expect([accepted.status, accepted.body.status]).toEqual([200, 'Accepted']);
    expect((await tenant.client.get<CustomerSharingsReply>('/customer/sharings')).body.items).toEqual([]);
    await catcher.waitFor((m) => m.to === owner.email.toLowerCase() && m.subject === 'Sharing accepted');

    // Shared once: the status table refuses sharing it again.
    const again = await share(owner.client, site, { mode: 'B', recipients: [byEmail(newEmail())], devices: [all(cam)] });
    expect([again.status, again.body.code]).toEqual([409, 'SITE_STATUS_FORBIDS']);
  });

  it('asks Mode A for both ARC sub-permissions on a site with the ARC service; Mode B needs none', async () => {
    const site = await newSite(owner.client);
    const panel = await device(site, 'Panel');
    await cloud.ctx.db.insert(siteArcAuthorizations).values({ siteId: site, arcCompanyId: other.companyId });
    const body = { mode: 'A', recipients: [byEmail(newEmail())], devices: [all(panel)] };
    const missing = await share(owner.client, site, { ...body, arcPermissions: ['PIRCAM GIF'] });
    expect([missing.status, missing.body.code]).toEqual([422, 'ARC_PERMISSIONS_REQUIRED']);
    expect(await siteState(site)).toEqual({ status: 'NotHandedOver', sharings: 0 });
    const ok = await share(owner.client, site, { ...body, arcPermissions: ['PIRCAM GIF', 'Video Clips'] });
    expect(ok.status).toBe(201);
    expect(ok.body.arcPermissions).toEqual(['PIRCAM GIF', 'Video Clips']);
    expect(ok.body.recipients[0]!.isAdmin).toBe(true);

    const siteB = await newSite(owner.client);
    await cloud.ctx.db.insert(siteArcAuthorizations).values({ siteId: siteB, arcCompanyId: other.companyId });
    const modeB = await share(owner.client, siteB, { mode: 'B', recipients: [byEmail(newEmail())], devices: [all(await device(siteB, 'Panel B'))] });
    expect([modeB.status, modeB.body.arcPermissions]).toEqual([201, []]);
  });
});

describe('scenario 6: at most 10 customers per device', () => {
  it('counts every customer holding a place, refuses the 11th naming the device, and a cancelled or rejected one frees a place', async () => {
    const site = await newSite(owner.client);
    const cam = await device(site, 'Lobby camera');
    const spare = await device(site, 'Garage camera');
    const first = Array.from({ length: 6 }, () => newEmail());
    const created = await share(owner.client, site, { mode: 'B', recipients: first.map((e) => byEmail(e)), devices: [all(cam)] });
    expect(created.status).toBe(201);
    const more = await owner.client.post<SiteSharing>(`/sites/${site}/sharing/recipients`, { recipients: Array.from({ length: 4 }, () => byEmail(newEmail())), devices: [all(cam)] });
    expect([more.status, more.body.recipients.length]).toEqual([201, 10]);

    const eleventh = newEmail('eleventh');
    const refused = await owner.client.post<Refusal>(`/sites/${site}/sharing/recipients`, { recipients: [byEmail(eleventh)], devices: [all(cam)] });
    expect([refused.status, refused.body.code]).toEqual([422, 'DEVICE_SHARE_LIMIT']);
    expect(refused.body.message).toContain('Lobby camera');
    expect((await owner.client.get<SiteSharing>(`/sites/${site}/sharing`)).body.recipients).toHaveLength(10);
    // Another device of the site has room.
    const onSpare = await owner.client.post<SiteSharing>(`/sites/${site}/sharing/recipients`, { recipients: [byEmail(eleventh)], devices: [all(spare)] });
    expect(onSpare.status).toBe(201);
    const onCard = await owner.client.call<Refusal>('PUT', `/sites/${site}/sharing/recipients/${recipientOf(onSpare.body, eleventh).id}/devices`, { devices: [all(spare), all(cam)] });
    expect([onCard.status, onCard.body.code]).toEqual([422, 'DEVICE_SHARE_LIMIT']);

    // Cancelling one frees its place.
    const cancelled = await owner.client.post<SiteSharing>(`/sites/${site}/sharing/recipients/${recipientOf(created.body, first[0]!).id}/cancel`);
    expect(recipientOf(cancelled.body, first[0]!).status).toBe('Cancelled');
    const twelfth = newEmail('twelfth');
    const now = await owner.client.post<SiteSharing>(`/sites/${site}/sharing/recipients`, { recipients: [byEmail(twelfth)], devices: [all(cam)] });
    expect(now.status).toBe(201);

    // A rejection frees one too, and sharing again with the rejecting customer must find a place.
    const rejecter = await signInCustomer(cloud, { email: first[1]! });
    const rejected = await rejecter.client.post<SharingOffer>(`/customer/sharings/${recipientOf(created.body, first[1]!).id}/reject`);
    expect(rejected.body.status).toBe('Rejected');
    const last = await owner.client.post<SiteSharing>(`/sites/${site}/sharing/recipients`, { recipients: [byEmail(newEmail())], devices: [all(cam)] });
    expect(last.status).toBe(201);
    const reshare = await owner.client.post<Refusal>(`/sites/${site}/sharing/recipients/${recipientOf(created.body, first[1]!).id}/reshare`);
    expect([reshare.status, reshare.body.code]).toEqual([422, 'DEVICE_SHARE_LIMIT']);
  });
});

describe('scenario 7: after sharing', () => {
  it('shares again only from Rejected or Expired, cancels only from waiting or Accepted, edits only waiting Mode A customers', async () => {
    const site = await newSite(owner.client);
    const cam = await device(site, 'Door camera');
    const admin = await signInCustomer(cloud);
    const second = await signInCustomer(cloud);
    const third = newEmail('third');
    const created = await share(owner.client, site, {
      mode: 'A',
      recipients: [byEmail(admin.email, { isAdmin: true }), byEmail(second.email), byEmail(third)],
      devices: [all(cam)],
    });
    expect(created.status).toBe(201);
    const id = (email: string) => recipientOf(created.body, email).id;
    const path = (email: string, action = '') => `/sites/${site}/sharing/recipients/${id(email)}${action}`;

    expect((await admin.client.post(`/customer/sharings/${id(admin.email)}/accept`)).status).toBe(200);
    expect((await admin.client.get(`/customer/sites/${site}`)).status).toBe(200);

    // Waiting or accepted: no "share again".
    for (const email of [admin.email, second.email, third]) {
      const res = await owner.client.post<Refusal>(path(email, '/reshare'));
      expect([email, res.status, res.body.code]).toEqual([email, 409, 'RECIPIENT_STATE']);
    }
    // An accepted customer is not edited.
    const editAccepted = await owner.client.patch<Refusal>(path(admin.email), { remarks: 'changed' });
    expect([editAccepted.status, editAccepted.body.code]).toEqual([409, 'RECIPIENT_STATE']);

    // Rejected: not cancelled, but shared again with a new link; the old one is gone.
    const oldToken = await linkTo(second.email);
    expect((await second.client.post(`/customer/sharings/${id(second.email)}/reject`)).status).toBe(200);
    const cancelRejected = await owner.client.post<Refusal>(path(second.email, '/cancel'));
    expect([cancelRejected.status, cancelRejected.body.code]).toEqual([409, 'RECIPIENT_STATE']);
    const mailsBefore = shareMails(second.email).length;
    const reshared = await owner.client.post<SiteSharing>(path(second.email, '/reshare'));
    expect([reshared.status, recipientOf(reshared.body, second.email).status]).toEqual([200, 'ToBeAccepted']);
    const newToken = await linkTo(second.email, mailsBefore);
    expect(newToken).not.toBe(oldToken);
    expect((await second.client.get<Refusal>(`/sharings/${oldToken}`)).body.code).toBe('SHARING_NOT_FOUND');
    expect((await second.client.get<SharingOffer>(`/sharings/${newToken}`)).body.status).toBe('ToBeAccepted');

    // Expired: its customer cannot accept any more (410), it is not cancelled, but it is shared again.
    await cloud.ctx.db.update(sharingRecipients).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(sharingRecipients.id, id(third)));
    const late = await signInCustomer(cloud, { email: third });
    const expired = await late.client.post<Refusal>(`/customer/sharings/${id(third)}/accept`);
    expect([expired.status, expired.body.code]).toEqual([410, 'SHARING_EXPIRED']);
    const cancelExpired = await owner.client.post<Refusal>(path(third, '/cancel'));
    expect([cancelExpired.status, cancelExpired.body.code]).toEqual([409, 'RECIPIENT_STATE']);
    const again = await owner.client.post<SiteSharing>(path(third, '/reshare'));
    // The customer registered in the meantime: the new link waits for its acceptance, bound to it.
    expect(recipientOf(again.body, third)).toMatchObject({ status: 'ToBeAccepted', customerName: 'Customer' });
    expect((await late.client.post<SharingOffer>(`/customer/sharings/${id(third)}/accept`)).body.status).toBe('Accepted');

    // Waiting Mode A customer: edited, and made the administrator (the role moves); a new address gets a new link.
    const moved = newEmail('moved');
    const edited = await owner.client.patch<SiteSharing>(path(second.email), { recipient: moved, isAdmin: true, remarks: 'Now the admin' });
    expect(edited.status).toBe(200);
    expect(recipientOf(edited.body, moved)).toMatchObject({ status: 'NotRegistered', isAdmin: true, remarks: 'Now the admin', customerName: null });
    expect(recipientOf(edited.body, admin.email).isAdmin).toBe(false);
    await linkTo(moved);
    expect((await second.client.get<Refusal>(`/sharings/${newToken}`)).status).toBe(404);

    // Cancel: waiting and accepted ones; then nothing more to cancel.
    const cancelWaiting = await owner.client.post<SiteSharing>(`/sites/${site}/sharing/recipients/${id(second.email)}/cancel`);
    expect(recipientOf(cancelWaiting.body, moved).status).toBe('Cancelled');
    const cancelAccepted = await owner.client.post<SiteSharing>(path(admin.email, '/cancel'));
    expect(recipientOf(cancelAccepted.body, admin.email).status).toBe('Cancelled');
    // The customer loses the site at once.
    const gone = await admin.client.get<Refusal>(`/customer/sites/${site}`);
    expect([gone.status, gone.body.code]).toEqual([404, 'SITE_NOT_FOUND']);
    const cancelTwice = await owner.client.post<Refusal>(path(admin.email, '/cancel'));
    expect([cancelTwice.status, cancelTwice.body.code]).toEqual([409, 'RECIPIENT_STATE']);
    const reshareCancelled = await owner.client.post<Refusal>(path(admin.email, '/reshare'));
    expect([reshareCancelled.status, reshareCancelled.body.code]).toEqual([409, 'RECIPIENT_STATE']);
    const cancelledNote = await cloud.ctx.db.select().from(notifications).where(eq(notifications.accountId, admin.accountId));
    expect(cancelledNote.map((n) => n.kind)).toContain('sharing.cancelled');
  });

  it('shares a device added later with no one until it is assigned on the customer card, without a new acceptance', async () => {
    const site = await newSite(owner.client);
    const cam = await device(site, 'Front camera');
    const tenant = await signInCustomer(cloud);
    const created = await share(owner.client, site, { mode: 'B', recipients: [byEmail(tenant.email)], devices: [all(cam)] });
    const rid = created.body.recipients[0]!.id;
    expect((await tenant.client.post(`/customer/sharings/${rid}/accept`)).status).toBe(200);

    const seen = async () => (await tenant.client.get<CustomerDevicesReply>(`/customer/sites/${site}/devices`)).body.items.map((d) => d.name).sort();
    expect(await seen()).toEqual(['Front camera']);

    const later = await device(site, 'Back camera');
    const before = await owner.client.get<SiteSharing>(`/sites/${site}/sharing`);
    expect(before.body.recipients.flatMap((r) => r.devices.map((d) => d.deviceId))).toEqual([cam]);
    expect(await seen()).toEqual(['Front camera']);

    const assigned = await owner.client.call<SiteSharing>('PUT', `/sites/${site}/sharing/recipients/${rid}/devices`, {
      devices: [all(cam), { deviceId: later, permissions: ['Playback'], validity: '2h' }],
    });
    expect(assigned.status).toBe(200);
    expect(assigned.body.recipients[0]).toMatchObject({ status: 'Accepted' });
    expect(assigned.body.recipients[0]!.devices.map((d) => [d.deviceName, d.permissions, d.validity])).toEqual([
      ['Back camera', ['Playback'], '2h'],
      ['Front camera', ['LiveView', 'Playback'], 'Permanent'],
    ]);
    // Nothing to accept again: the customer sees the device at once.
    expect((await tenant.client.get<CustomerSharingsReply>('/customer/sharings')).body.items).toEqual([]);
    expect(await seen()).toEqual(['Back camera', 'Front camera']);

    // Mode B customers are not edited; the customer card works only while the site is Shared.
    const modeB = await owner.client.patch<Refusal>(`/sites/${site}/sharing/recipients/${rid}`, { remarks: 'x' });
    expect([modeB.status, modeB.body.code]).toEqual([409, 'SHARING_MODE_B']);
    await cloud.ctx.db.update(sites).set({ status: 'Disbanded' }).where(eq(sites.id, site));
    const disbanded = await owner.client.call<Refusal>('PUT', `/sites/${site}/sharing/recipients/${rid}/devices`, { devices: [all(cam)] });
    expect([disbanded.status, disbanded.body.code]).toEqual([409, 'SITE_STATUS_FORBIDS']);
  });
});

describe('who may share and answer', () => {
  it('refuses employees without site management, other companies, customers on installer routes, installers on customer routes, and other customers', async () => {
    const site = await newSite(owner.client);
    const cam = await device(site, 'Camera');
    const body = { mode: 'B', recipients: [byEmail(newEmail())], devices: [all(cam)] };
    const noSites = await signInEmployee(cloud, owner.companyId, ['device.manage']);
    const assignedElsewhere = await signInEmployee(cloud, owner.companyId, ['site.manage_assigned']);
    const customer = await signInCustomer(cloud);

    const denied: [string, ApiClient, number, string][] = [
      ['employee without site management', noSites, 403, 'PERMISSION_DENIED'],
      ['Manage Assigned Sites, not assigned', assignedElsewhere, 404, 'SITE_NOT_FOUND'],
      ['another company', other.client, 404, 'SITE_NOT_FOUND'],
      ['a customer', customer.client, 403, 'PERMISSION_DENIED'],
    ];
    for (const [who, client, status, code] of denied) {
      const post = await share(client, site, body);
      expect([who, post.status, post.body.code]).toEqual([who, status, code]);
    }
    expect(await siteState(site)).toEqual({ status: 'NotHandedOver', sharings: 0 });

    const employee = await signInEmployee(cloud, owner.companyId, ['site.manage_all']);
    const created = await share(employee, site, { ...body, recipients: [byEmail(customer.email)] });
    expect(created.status).toBe(201);
    const rid = created.body.recipients[0]!.id;
    for (const [who, client, status, code] of denied) {
      const get = await client.get<Refusal>(`/sites/${site}/sharing`);
      expect([who, get.status, get.body.code]).toEqual([who, status, code]);
      const cancel = await client.post<Refusal>(`/sites/${site}/sharing/recipients/${rid}/cancel`);
      expect([who, cancel.status, cancel.body.code]).toEqual([who, status, code]);
    }
    const neverShared = await owner.client.get<Refusal>(`/sites/${await newSite(owner.client)}/sharing`);
    expect([neverShared.status, neverShared.body.code]).toEqual([404, 'SHARING_NOT_FOUND']);

    // Installers on the customer's routes.
    for (const [path, method] of [['/customer/sharings', 'GET'], [`/customer/sharings/${rid}/accept`, 'POST'], [`/customer/sharings/${rid}/reject`, 'POST']] as const) {
      const res = await owner.client.call<Refusal>(method, path, method === 'POST' ? {} : undefined);
      expect([path, res.status, res.body.code]).toEqual([path, 403, 'CUSTOMER_ONLY']);
    }
    // Another customer.
    const stranger = await signInCustomer(cloud);
    const notMine = await stranger.client.post<Refusal>(`/customer/sharings/${rid}/accept`);
    expect([notMine.status, notMine.body.code]).toEqual([403, 'NOT_RECIPIENT']);
    const unknown = await stranger.client.post<Refusal>(`/customer/sharings/${randomUUID()}/accept`);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'SHARING_NOT_FOUND']);
    expect((await customer.client.get<CustomerSharingsReply>('/customer/sharings')).body.items.map((i) => i.id)).toEqual([rid]);
    expect((await stranger.client.get<CustomerSharingsReply>('/customer/sharings')).body.items).toEqual([]);
    const [row] = await cloud.ctx.db.select({ status: sharingRecipients.status }).from(sharingRecipients).where(eq(sharingRecipients.id, rid));
    expect(row!.status).toBe('ToBeAccepted');

    // Answered once: no second answer.
    expect((await customer.client.post(`/customer/sharings/${rid}/reject`)).status).toBe(200);
    const twice = await customer.client.post<Refusal>(`/customer/sharings/${rid}/accept`);
    expect([twice.status, twice.body.code]).toEqual([409, 'RECIPIENT_STATE']);
  });

  it('lets a customer who registered after the link was sent answer it, by its email or its phone', async () => {
    const site = await newSite(owner.client);
    const cam = await device(site, 'Camera');
    const email = newEmail('later');
    const phone = `+44770091${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;
    const created = await share(owner.client, site, { mode: 'B', recipients: [byEmail(email), { channel: 'phone', recipient: phone }], devices: [all(cam)] });
    expect(created.body.recipients.map((r) => r.status)).toEqual(['NotRegistered', 'NotRegistered']);

    const byMail = await signInCustomer(cloud, { email });
    const byPhone = await signInCustomer(cloud, { phone });
    for (const [c, recipient] of [[byMail, email], [byPhone, phone]] as const) {
      const waiting = await c.client.get<CustomerSharingsReply>('/customer/sharings');
      expect(waiting.body.items.map((i) => i.id)).toEqual([recipientOf(created.body, recipient).id]);
      const res = await c.client.post<SharingOffer>(`/customer/sharings/${recipientOf(created.body, recipient).id}/accept`);
      expect([res.status, res.body.status, res.body.forMe]).toEqual([200, 'Accepted', true]);
    }
    const after = await owner.client.get<SiteSharing>(`/sites/${site}/sharing`);
    expect(after.body.recipients.map((r) => r.status)).toEqual(['Accepted', 'Accepted']);
  });
});

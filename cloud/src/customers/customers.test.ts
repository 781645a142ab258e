import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerDevice, CustomerSite, HandoverOffer, MeReply, SiteHandover } from '@vigil/protocol/api';
import { accounts, companies, handovers, sharedDevices, sharingRecipients, sharings, sites } from '../db/schema.js';
import { ApiClient, newSite, registerCompany, signInCustomer, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { insertDevice } from '../testing/handover.js';

let cloud: TestCloud;
type Company = Awaited<ReturnType<typeof registerCompany>>;
let installer: Company;

beforeAll(async () => {
  cloud = await startTestCloud();
  installer = await registerCompany(cloud.api, 'Northern Alarms');
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

type Refusal = { code: string; message: string };
const PASSWORD = 'Customer-pass1';
const email = () => `cust.${randomBytes(5).toString('hex')}@example.test`;
let phoneSeq = 0;
const phone = () => `+4479${String(Date.now() % 1_000_000).padStart(6, '0')}${++phoneSeq}`;

const addDevice = async (siteId: string, name: string) => (await insertDevice(cloud, installer.companyId, siteId, { name })).id;

const register = (client: ApiClient, body: Record<string, unknown>) =>
  client.post<MeReply & Refusal>('/customer/register', { name: 'Jane Customer', password: PASSWORD, ...body });

/** A sharing of the site with one recipient, written into the database (the sharing routes are another feature's). */
async function shareWith(siteId: string, to: { channel: 'email' | 'phone'; recipient: string; accountId?: string; status: string }, deviceIds: string[]) {
  const [sharing] = await cloud.ctx.db.insert(sharings).values({ siteId, companyId: installer.companyId, mode: 'B' }).returning();
  const [recipient] = await cloud.ctx.db
    .insert(sharingRecipients)
    .values({
      sharingId: sharing!.id,
      siteId,
      channel: to.channel,
      recipient: to.recipient,
      recipientAccountId: to.accountId ?? null,
      status: to.status,
      tokenHash: randomBytes(16).toString('hex'),
      expiresAt: new Date(Date.now() + 86_400_000),
    })
    .returning();
  if (deviceIds.length > 0) await cloud.ctx.db.insert(sharedDevices).values(deviceIds.map((deviceId) => ({ recipientId: recipient!.id, deviceId, permissions: ['LiveView'], validity: '4h' })));
  await cloud.ctx.db.update(sites).set({ status: 'Shared' }).where(eq(sites.id, siteId));
  return recipient!.id;
}

describe('registering a customer account', () => {
  it('creates a customer of its own company, signed in at once', async () => {
    const client = new ApiClient(cloud.api);
    const to = email();
    const res = await register(client, { email: to.toUpperCase(), phone: phone(), countryCode: 'IE' });
    expect(res.status).toBe(201);
    expect(res.body.account).toMatchObject({ email: to, role: 'customer', name: 'Jane Customer' });
    expect(res.body.company).toMatchObject({ type: 'customer', countryCode: 'IE' });
    expect(res.body.permissions).toEqual([]);
    expect((await client.get<MeReply>('/me')).body.account.email).toBe(to);
    expect((await client.get<{ items: CustomerSite[] }>('/customer/sites')).body.items).toEqual([]);
    // An installer route stays closed to it.
    const installerRoute = await client.get<Refusal>('/sites');
    expect([installerRoute.status, installerRoute.body.code]).toEqual([403, 'PERMISSION_DENIED']);
  });

  it('refuses a weak password, a taken email or phone, a malformed phone, and no country; creates nothing', async () => {
    const taken = await signInCustomer(cloud, { phone: phone() });
    const [{ phone: takenPhone }] = (await cloud.ctx.db.select({ phone: accounts.phone }).from(accounts).where(eq(accounts.id, taken.accountId))) as [{ phone: string }];
    const fresh = email();
    const customerCompanies = async () => (await cloud.ctx.db.select().from(companies).where(eq(companies.type, 'customer'))).length;
    const before = await customerCompanies();
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['weak password', { email: fresh, password: 'password', countryCode: 'GB' }, 400, 'PASSWORD_POLICY'],
      ["a customer's email", { email: taken.email, countryCode: 'GB' }, 409, 'EMAIL_TAKEN'],
      ["an installer's email", { email: installer.email, countryCode: 'GB' }, 409, 'EMAIL_TAKEN'],
      ['a taken phone', { email: fresh, phone: takenPhone, countryCode: 'GB' }, 409, 'PHONE_TAKEN'],
      ['a phone not in E.164', { email: fresh, phone: '07700 900123', countryCode: 'GB' }, 400, 'INVALID_PHONE'],
      ['no country, nothing waiting', { email: fresh }, 400, 'COUNTRY_REQUIRED'],
      ['an unknown field', { email: fresh, countryCode: 'GB', role: 'installer_admin' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [what, body, status, code] of cases) {
      const res = await register(new ApiClient(cloud.api), body);
      expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status, code });
    }
    expect(await cloud.ctx.db.select().from(accounts).where(eq(accounts.email, fresh))).toEqual([]);
    expect(await customerCompanies()).toBe(before);
  });

  it('binds the handover and sharing waiting for its email and phone: Not Registered → To Be Accepted', async () => {
    const to = email();
    const mobile = phone();
    // People write numbers with spaces and dashes; both sides keep them in E.164.
    const written = (sep: string) => `${mobile.slice(0, 3)}${sep}${mobile.slice(3, 7)}${sep}${mobile.slice(7)}`;
    const handedOver = await newSite(installer.client);
    await addDevice(handedOver, 'Hall camera');
    const offered = await installer.client.post<SiteHandover>(`/sites/${handedOver}/handover`, { channel: 'email', recipient: to, permissions: [] });
    expect(offered.body.siteStatus).toBe('NotRegistered');
    const byPhone = await newSite(installer.client);
    await addDevice(byPhone, 'Yard camera');
    expect((await installer.client.post<SiteHandover>(`/sites/${byPhone}/handover`, { channel: 'phone', recipient: written(' '), permissions: [] })).body.siteStatus).toBe('NotRegistered');
    const shared = await newSite(installer.client);
    const sharedCam = await addDevice(shared, 'Shop camera');
    const recipientId = await shareWith(shared, { channel: 'email', recipient: to, status: 'NotRegistered' }, [sharedCam]);

    const client = new ApiClient(cloud.api);
    const res = await register(client, { email: to, phone: written('-') });
    expect(res.status).toBe(201);
    expect((await cloud.ctx.db.select({ phone: accounts.phone }).from(accounts).where(eq(accounts.id, res.body.account.id)))[0]!.phone).toBe(mobile);
    // The country comes from the installer company whose handover brought the customer.
    expect(res.body.company.countryCode).toBe('GB');
    const me = res.body.account.id;

    const rows = await cloud.ctx.db.select().from(handovers).where(eq(handovers.recipientAccountId, me));
    expect(rows.map((r) => [r.siteId, r.status]).sort()).toEqual([[handedOver, 'ToBeAccepted'], [byPhone, 'ToBeAccepted']].sort());
    for (const siteId of [handedOver, byPhone]) expect((await cloud.ctx.db.select().from(sites).where(eq(sites.id, siteId)))[0]!.status).toBe('ToBeAccepted');
    const [recipient] = await cloud.ctx.db.select().from(sharingRecipients).where(eq(sharingRecipients.id, recipientId));
    expect([recipient!.status, recipient!.recipientAccountId]).toEqual(['ToBeAccepted', me]);

    const waiting = await client.get<{ items: HandoverOffer[] }>('/customer/handovers');
    expect(waiting.body.items.map((h) => h.siteId).sort()).toEqual([handedOver, byPhone].sort());
    expect(waiting.body.items.every((h) => h.companyName === 'Northern Alarms' && h.forMe)).toBe(true);
    const accepted = await client.post<HandoverOffer>(`/customer/handovers/${waiting.body.items[0]!.id}/accept`);
    expect([accepted.status, accepted.body.status]).toEqual([200, 'Accepted']);
  });
});

describe("the customer's sites", () => {
  it('lists owned and shared sites with the installer company; an owner sees every device, a recipient only its shared ones', async () => {
    const customer = await signInCustomer(cloud);
    const owned = await newSite(installer.client, { name: `Home ${randomBytes(3).toString('hex')}` });
    const cams = [await addDevice(owned, 'Back door'), await addDevice(owned, 'Attic')];
    await cloud.ctx.db.update(sites).set({ ownerAccountId: customer.accountId, status: 'HandedOverNotAuthorized' }).where(eq(sites.id, owned));
    const shop = await newSite(installer.client, { name: `Shop ${randomBytes(3).toString('hex')}` });
    const [till, stock] = [await addDevice(shop, 'Till'), await addDevice(shop, 'Stock room')];
    await shareWith(shop, { channel: 'email', recipient: customer.email, accountId: customer.accountId, status: 'Accepted' }, [till]);
    const pendingShare = await newSite(installer.client);
    await shareWith(pendingShare, { channel: 'email', recipient: customer.email, accountId: customer.accountId, status: 'ToBeAccepted' }, []);
    await newSite(installer.client);

    const list = await customer.client.get<{ items: CustomerSite[] }>('/customer/sites');
    expect(list.status).toBe(200);
    expect(list.body.items.map((s) => [s.id, s.relation, s.companyName, s.status, s.deviceCount]).sort()).toEqual(
      [
        [owned, 'owner', 'Northern Alarms', 'HandedOverNotAuthorized', 2],
        [shop, 'shared', 'Northern Alarms', 'Shared', 1],
      ].sort(),
    );
    const one = await customer.client.get<CustomerSite>(`/customer/sites/${owned}`);
    expect([one.status, one.body.companyId, one.body.relation]).toEqual([200, installer.companyId, 'owner']);

    const ownedDevices = await customer.client.get<{ items: CustomerDevice[] }>(`/customer/sites/${owned}/devices`);
    expect(ownedDevices.body.items.map((d) => d.id).sort()).toEqual([...cams].sort());
    expect(ownedDevices.body.items[0]).toMatchObject({ permissions: ['Configuration', 'LiveView', 'Playback'], validity: null });
    const shopDevices = await customer.client.get<{ items: CustomerDevice[] }>(`/customer/sites/${shop}/devices`);
    expect(shopDevices.body.items.map((d) => [d.id, d.name, d.permissions, d.validity])).toEqual([[till, 'Till', ['LiveView'], '4h']]);
    expect(shopDevices.body.items.some((d) => d.id === stock)).toBe(false);
  });

  it('any other site is "not found", and installers are refused the customer routes', async () => {
    const customer = await signInCustomer(cloud);
    const stranger = await signInCustomer(cloud);
    const owned = await newSite(installer.client);
    await cloud.ctx.db.update(sites).set({ ownerAccountId: customer.accountId, status: 'HandedOverNotAuthorized' }).where(eq(sites.id, owned));
    const pendingShare = await newSite(installer.client);
    await shareWith(pendingShare, { channel: 'email', recipient: stranger.email, accountId: stranger.accountId, status: 'ToBeAccepted' }, []);
    for (const path of [`/customer/sites/${owned}`, `/customer/sites/${owned}/devices`, `/customer/sites/${pendingShare}`, `/customer/sites/${pendingShare}/devices`]) {
      const res = await stranger.client.get<Refusal>(path);
      expect([path, res.status, res.body.code]).toEqual([path, 404, 'SITE_NOT_FOUND']);
    }
    for (const path of ['/customer/sites', `/customer/sites/${owned}`, `/customer/sites/${owned}/devices`]) {
      const res = await installer.client.get<Refusal>(path);
      expect([path, res.status, res.body.code]).toEqual([path, 403, 'CUSTOMER_ONLY']);
    }
    // The installer company keeps its handed-over site in its own list.
    expect((await installer.client.get<{ id: string }>(`/sites/${owned}`)).status).toBe(200);
  });
});

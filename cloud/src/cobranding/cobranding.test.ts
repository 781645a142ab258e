import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_PERMISSIONS, type CoBranding, type ServiceKey, type SiteBranding } from '@vigil/protocol/api';
import { accounts, coBrandings, companies, jobs, mailOutbox, notifications, operationLogs, regionFeatures, serviceKeys, sites } from '../db/schema.js';
import { remindOfExpiry } from './service.js';
import { untilDefined } from '../testing/edge.js';
import { insertDevice } from '../testing/handover.js';
import {
  authenticateCompany,
  newSite,
  registerCompany,
  signInCustomer,
  signInEmployee,
  signInVendorAdmin,
  startTestCloud,
  type ApiClient,
  type TestCloud,
} from '../testing/cloud.js';

let cloud: TestCloud;
let vendor: ApiClient;
type Company = Awaited<ReturnType<typeof registerCompany>>;
type Refusal = { code: string; message: string };

beforeAll(async () => {
  cloud = await startTestCloud();
  vendor = await signInVendorAdmin(cloud);
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const JPEG_START = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
const DAY_MS = 86_400_000;

const put = <T>(client: ApiClient, path: string, body: unknown) => client.call<T & Refusal>('PUT', path, body);
const status = (client: ApiClient) => client.get<CoBranding & Refusal>('/company/co-branding');
const redeem = (client: ApiClient, keys: string) => client.post<CoBranding & Refusal>('/company/co-branding/service-keys', { keys });
const purchase = (client: ApiClient, months = 12) =>
  client.post<CoBranding & Refusal>('/company/co-branding/orders', { months, vatNumber: 'GB123456789', paymentMethod: 'card', distributorCode: 'DIST-42' });
const uploadLogo = (client: ApiClient, contentType: string, bytes: Buffer) =>
  put<CoBranding>(client, '/company/co-branding/logo', { contentType, data: bytes.toString('base64') });

async function mint(months: 12 | 24 | 36, count = 1): Promise<string[]> {
  const res = await vendor.post<{ items: ServiceKey[] }>('/vendor/service-keys', { serviceType: 'co_branding', months, count });
  expect(res.status).toBe(201);
  return res.body.items.map((k) => k.code);
}

async function keyRow(code: string) {
  const [row] = await cloud.ctx.db.select().from(serviceKeys).where(eq(serviceKeys.code, code));
  return row!;
}

function addMonths(from: Date, months: number): Date {
  const d = new Date(from);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d;
}

/** Within a few days of the expected end: month lengths and clock zones make the calendar arithmetic differ slightly. */
function expectAbout(actual: string | null, expected: Date) {
  expect(actual).not.toBeNull();
  expect(Math.abs(new Date(actual!).getTime() - expected.getTime())).toBeLessThan(3 * DAY_MS);
}

async function authenticated(name: string): Promise<Company> {
  const c = await registerCompany(cloud.api, name);
  await authenticateCompany(cloud, c.companyId);
  return c;
}

/** A site of the company handed over to a fresh customer, who owns it now. */
async function customerWithSite(company: Company) {
  const siteId = await newSite(company.client);
  const customer = await signInCustomer(cloud);
  await cloud.ctx.db.update(sites).set({ ownerAccountId: customer.accountId, status: 'AuthorizedAndMonitoring' }).where(eq(sites.id, siteId));
  return { siteId, customer };
}

const setValidUntil = (companyId: string, validUntil: Date) => cloud.ctx.db.update(coBrandings).set({ validUntil }).where(eq(coBrandings.companyId, companyId));

describe('getting the service (scenario 17)', () => {
  it('refuses a purchase and a service key from an unauthenticated company, and changes nothing', async () => {
    const company = await registerCompany(cloud.api, 'Unverified Alarms');
    const [key] = await mint(12);

    const bought = await purchase(company.client);
    expect(bought.status).toBe(403);
    expect(bought.body.code).toBe('COMPANY_NOT_AUTHENTICATED');
    const keyed = await redeem(company.client, key!);
    expect(keyed.status).toBe(403);
    expect(keyed.body.code).toBe('COMPANY_NOT_AUTHENTICATED');

    const after = await status(company.client);
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ validUntil: null, active: false, enabled: false, companyAuthenticated: false, orders: [] });
    expect((await keyRow(key!)).redeemedAt).toBeNull();
  });

  it('after authentication, extends validUntil by each of several comma-separated keys, then by a purchase from the end of validity', async () => {
    const company = await authenticated('Keyed Security');
    const [a, b] = await mint(12, 2);
    const [c] = await mint(24);
    const before = new Date();

    // Spaces around the keys, lower case and a trailing comma are all forgiven.
    const res = await redeem(company.client, `${a}, ${b!.toLowerCase()} ,${c},`);
    expect(res.status).toBe(200);
    expectAbout(res.body.validUntil, addMonths(before, 48));
    expect(res.body.orders.map((o) => [o.source, o.months, o.details.serviceKey]).sort()).toEqual(
      [
        ['service_key', 12, a],
        ['service_key', 12, b],
        ['service_key', 24, c],
      ].sort(),
    );
    for (const code of [a!, b!, c!]) expect((await keyRow(code)).redeemedByCompanyId).toBe(company.companyId);
    const listed = await vendor.get<{ items: ServiceKey[] }>('/vendor/service-keys');
    expect(listed.body.items.find((k) => k.code === a)).toMatchObject({ redeemedByCompanyId: company.companyId, redeemedByCompanyName: 'Keyed Security' });

    // An extension starts from the end of validity, not from now.
    const bought = await purchase(company.client, 12);
    expect(bought.status).toBe(201);
    expectAbout(bought.body.validUntil, addMonths(new Date(res.body.validUntil!), 12));
    expect(bought.body.orders[0]).toMatchObject({ source: 'purchase', months: 12, details: { channel: 'portal', vatNumber: 'GB123456789', paymentMethod: 'card', distributorCode: 'DIST-42' } });

    // An expired service starts again from now.
    await setValidUntil(company.companyId, new Date(Date.now() - 30 * DAY_MS));
    const [d] = await mint(12);
    const renewed = await redeem(company.client, d!);
    expect(renewed.status).toBe(200);
    expectAbout(renewed.body.validUntil, addMonths(new Date(), 12));
  });

  it('refuses a whole submission with one used, unknown or repeated key, and redeems none of its keys', async () => {
    const company = await authenticated('Careful Installers');
    const [used, fresh] = await mint(12, 2);
    expect((await redeem(company.client, used!)).status).toBe(200);
    const validUntil = (await status(company.client)).body.validUntil;

    const cases: [string, string, number, string][] = [
      ['a used key', `${fresh}, ${used}`, 409, 'SERVICE_KEY_USED'],
      ['an unknown key', `${fresh}, ABCD-EFGH-JKMN-PQRS`, 404, 'SERVICE_KEY_UNKNOWN'],
      ['something that is no key', `${fresh}, hello`, 404, 'SERVICE_KEY_UNKNOWN'],
      ['a key given twice', `${fresh}, ${fresh!.toLowerCase()}`, 422, 'SERVICE_KEYS_INVALID'],
      ['only commas', ' , ,', 422, 'SERVICE_KEYS_INVALID'],
      ['too many keys', Array.from({ length: 21 }, () => fresh).join(','), 422, 'SERVICE_KEYS_INVALID'],
    ];
    for (const [what, keys, code, error] of cases) {
      const res = await redeem(company.client, keys);
      expect(res.status, what).toBe(code);
      expect(res.body.code, what).toBe(error);
    }
    expect((await keyRow(fresh!)).redeemedAt).toBeNull();
    const after = await status(company.client);
    expect(after.body.validUntil).toBe(validUntil);
    expect(after.body.orders).toHaveLength(1);

    // Another company cannot redeem the key either.
    const other = await authenticated('Latecomer Ltd');
    const late = await redeem(other.client, used!);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('SERVICE_KEY_USED');
    expect((await keyRow(used!)).redeemedByCompanyId).toBe(company.companyId);
  });

  it('lets only one of two companies redeeming the same key at once have it', async () => {
    const first = await authenticated('Racer One');
    const second = await authenticated('Racer Two');
    const [key] = await mint(36);
    const results = await Promise.all([redeem(first.client, key!), redeem(second.client, key!)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = results[0]!.status === 200 ? first : second;
    const loser = winner === first ? second : first;
    expect((await keyRow(key!)).redeemedByCompanyId).toBe(winner.companyId);
    expect((await status(loser.client)).body.validUntil).toBeNull();
  });

  it('redeems reward points at POINTS_PER_MONTH a month, and refuses when the company has too few', async () => {
    const company = await registerCompany(cloud.api, 'Points Collectors');
    const poor = await company.client.post<Refusal>('/company/co-branding/redeem-points', { months: 1 });
    expect(poor.status).toBe(422);
    expect(poor.body.code).toBe('NOT_ENOUGH_POINTS');

    await cloud.ctx.db.update(companies).set({ rewardPoints: 250 }).where(eq(companies.id, company.companyId));
    const before = new Date();
    const res = await company.client.post<CoBranding & Refusal>('/company/co-branding/redeem-points', { months: 2 });
    expect(res.status).toBe(200);
    expect(res.body.rewardPoints).toBe(50);
    expectAbout(res.body.validUntil, addMonths(before, 2));
    expect(res.body.orders[0]).toMatchObject({ source: 'reward_points', months: 2, details: { points: '200' } });

    const more = await company.client.post<Refusal>('/company/co-branding/redeem-points', { months: 1 });
    expect(more.status).toBe(422);
    expect(more.body.code).toBe('NOT_ENOUGH_POINTS');
    expect((await status(company.client)).body.rewardPoints).toBe(50);
  });

  it('tells the Installer Admin two months before the service ends, once, and not after it was extended', async () => {
    const company = await authenticated('Reminded Alarms');
    const key = `co-branding-reminder:${company.companyId}`;
    const reminder = async () => (await cloud.ctx.db.select().from(jobs).where(eq(jobs.key, key)))[0];
    const told = async () => ({
      notes: await cloud.ctx.db.select().from(notifications).innerJoin(accounts, eq(accounts.id, notifications.accountId)).where(and(eq(accounts.email, company.email), eq(notifications.kind, 'co_branding.expiring'))),
      mails: await cloud.ctx.db.select().from(mailOutbox).where(and(eq(mailOutbox.toAddress, company.email), eq(mailOutbox.kind, 'co_branding.expiring'))),
    });

    const first = await purchase(company.client, 12);
    const firstEnd = new Date(first.body.validUntil!);
    expectAbout((await reminder())!.runAt.toISOString(), addMonths(firstEnd, -2));
    // Extended before the reminder came: it moves with the new end, and the old one says nothing.
    const second = await purchase(company.client, 12);
    const secondEnd = second.body.validUntil!;
    expect((await reminder())!.payload).toEqual({ companyId: company.companyId, validUntil: secondEnd });
    await cloud.ctx.db.transaction((tx) => remindOfExpiry(tx, cloud.ctx.mail, company.companyId, first.body.validUntil!));
    expect(await told()).toEqual({ notes: [], mails: [] });

    await cloud.ctx.jobs.runNow(key);
    await untilDefined('the reminder to run', async () => ((await reminder()) === undefined ? true : undefined));
    const { notes, mails } = await told();
    expect(notes.map((n) => n.notifications.title)).toEqual(['Co-branding ends soon']);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(`ends on ${secondEnd.slice(0, 10)}`);
  });

  it('gives one free year to an authenticated company with 3 devices added via P2P, in a region that offers it, once', async () => {
    const company = await registerCompany(cloud.api, 'Free Year Fitters');
    const siteId = await newSite(company.client);
    for (const accessMode of ['p2p', 'p2p', 'ip_domain']) await insertDevice(cloud, company.companyId, siteId, { accessMode });
    const claim = () => company.client.post<CoBranding & Refusal>('/company/co-branding/free-year');
    const refusal = async () => {
      const res = await claim();
      return [res.status, res.body.code];
    };
    expect((await status(company.client)).body.freeYear).toEqual({ offered: true, claimed: false, p2pDevices: 2, available: false });
    expect(await refusal()).toEqual([403, 'COMPANY_NOT_AUTHENTICATED']);

    await authenticateCompany(cloud, company.companyId);
    const few = await claim();
    expect([few.status, few.body.code]).toEqual([422, 'NOT_ENOUGH_P2P_DEVICES']);
    expect(few.body.message).toContain('your company has 2');

    // A region where the vendor admin switched the offer off.
    await cloud.ctx.db.update(companies).set({ countryCode: 'FR' }).where(eq(companies.id, company.companyId));
    await cloud.ctx.db.insert(regionFeatures).values({ countryCode: 'FR', feature: 'co_branding_free_year', enabled: false });
    await insertDevice(cloud, company.companyId, siteId);
    expect((await status(company.client)).body.freeYear).toEqual({ offered: false, claimed: false, p2pDevices: 3, available: false });
    expect(await refusal()).toEqual([403, 'FEATURE_UNAVAILABLE_IN_REGION']);
    expect((await status(company.client)).body.validUntil).toBeNull();

    await cloud.ctx.db.delete(regionFeatures).where(eq(regionFeatures.countryCode, 'FR'));
    expect((await status(company.client)).body.freeYear.available).toBe(true);
    const before = new Date();
    // Two claims at once: the company's co-branding lock lets one through.
    const both = await Promise.all([claim(), claim()]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(both.find((r) => r.status === 409)!.body.code).toBe('FREE_YEAR_CLAIMED');
    const now = await status(company.client);
    expectAbout(now.body.validUntil, addMonths(before, 12));
    expect(now.body.orders.filter((o) => o.source === 'free_promo')).toEqual([expect.objectContaining({ months: 12, details: { offer: 'Free year', p2pDevices: '3' } })]);
    expect(now.body.freeYear).toEqual({ offered: true, claimed: true, p2pDevices: 3, available: false });
    const logged = await cloud.ctx.db
      .select({ detail: operationLogs.detail })
      .from(operationLogs)
      .where(and(eq(operationLogs.companyId, company.companyId), eq(operationLogs.action, 'Get Free Co-Branding')));
    expect(logged.map((l) => l.detail)).toContain('12 months, 3 P2P devices');
  });
});

describe('switching on and the logo', () => {
  it('switches on only a valid service; switching off is always allowed', async () => {
    const company = await authenticated('Switch Co');
    const never = await put<CoBranding>(company.client, '/company/co-branding', { enabled: true });
    expect(never.status).toBe(409);
    expect(never.body.code).toBe('CO_BRANDING_NOT_ACTIVE');
    expect((await status(company.client)).body.enabled).toBe(false);

    expect((await purchase(company.client)).status).toBe(201);
    const on = await put<CoBranding>(company.client, '/company/co-branding', { enabled: true });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ enabled: true, active: true });

    await setValidUntil(company.companyId, new Date(Date.now() - 1000));
    expect((await status(company.client)).body).toMatchObject({ enabled: true, active: false });
    const off = await put<CoBranding>(company.client, '/company/co-branding', { enabled: false });
    expect(off.status).toBe(200);
    expect(off.body.enabled).toBe(false);
    const expired = await put<CoBranding>(company.client, '/company/co-branding', { enabled: true });
    expect(expired.status).toBe(409);
    expect(expired.body.code).toBe('CO_BRANDING_NOT_ACTIVE');

    const [log] = await cloud.ctx.db
      .select()
      .from(operationLogs)
      .where(and(eq(operationLogs.companyId, company.companyId), eq(operationLogs.action, 'Disable Co-Branding')));
    expect(log?.result).toBe('succeeded');
  });

  it('accepts only a real PNG or JPEG of at most 256 KB, and keeps the logo it had on a refusal', async () => {
    const company = await authenticated('Logo Makers');
    expect((await uploadLogo(company.client, 'image/png', PNG)).body).toMatchObject({ hasLogo: true, logoContentType: 'image/png' });

    const tooLarge = Buffer.concat([PNG, Buffer.alloc(256 * 1024 + 1 - PNG.length)]);
    const cases: [string, string, Buffer, number, string][] = [
      ['text named a PNG', 'image/png', Buffer.from('this is not an image at all'), 422, 'LOGO_NOT_IMAGE'],
      ['a JPEG named a PNG', 'image/png', JPEG_START, 422, 'LOGO_NOT_IMAGE'],
      ['a PNG named a JPEG', 'image/jpeg', PNG, 422, 'LOGO_NOT_IMAGE'],
      ['one byte over 256 KB', 'image/png', tooLarge, 422, 'LOGO_TOO_LARGE'],
      ['far too large a body', 'image/png', Buffer.concat([tooLarge, tooLarge]), 413, 'BODY_TOO_LARGE'],
    ];
    for (const [what, type, bytes, code, error] of cases) {
      const res = await uploadLogo(company.client, type, bytes);
      expect(res.status, what).toBe(code);
      expect(res.body.code, what).toBe(error);
    }
    const gif = await put<CoBranding>(company.client, '/company/co-branding/logo', { contentType: 'image/gif', data: PNG.toString('base64') });
    expect(gif.status).toBe(400);
    expect(gif.body.code).toBe('VALIDATION_FAILED');

    const own = await fetch(`${cloud.api}/company/co-branding/logo`, { headers: { cookie: company.client.cookie! } });
    expect(own.status).toBe(200);
    expect(own.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await own.arrayBuffer()).equals(PNG)).toBe(true);

    const jpeg = Buffer.concat([JPEG_START, Buffer.alloc(64)]);
    expect((await uploadLogo(company.client, 'image/jpeg', jpeg)).body.logoContentType).toBe('image/jpeg');
    const removed = await company.client.delete<CoBranding>('/company/co-branding/logo');
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ hasLogo: false, logoContentType: null });
    const gone = await company.client.get<Refusal>('/company/co-branding/logo');
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('LOGO_NOT_FOUND');
  });
});

describe("the customer's branding (scenario 17)", () => {
  it('shows the company name without a logo, the logo with one, and nothing once the service has expired', async () => {
    const company = await authenticated('Brightlight Security');
    const { siteId, customer } = await customerWithSite(company);
    const branding = () => customer.client.get<SiteBranding & Refusal>(`/customer/sites/${siteId}/branding`);

    expect((await branding()).body).toEqual({ active: false, companyName: 'Brightlight Security', logoUrl: null });

    expect((await purchase(company.client)).status).toBe(201);
    expect((await put(company.client, '/company/co-branding', { enabled: true })).status).toBe(200);
    const named = await branding();
    expect(named.status).toBe(200);
    expect(named.body).toEqual({ active: true, companyName: 'Brightlight Security', logoUrl: null });

    expect((await uploadLogo(company.client, 'image/png', PNG)).status).toBe(200);
    const withLogo = await branding();
    expect(withLogo.body.active).toBe(true);
    expect(withLogo.body.logoUrl).toMatch(new RegExp(`^/api/v1/customer/sites/${siteId}/branding/logo\\?v=`));
    const logo = await fetch(`${cloud.url}${withLogo.body.logoUrl}`, { headers: { cookie: customer.client.cookie! } });
    expect(logo.status).toBe(200);
    expect(logo.headers.get('content-type')).toBe('image/png');
    expect(logo.headers.get('cache-control')).toContain('max-age');
    expect(Buffer.from(await logo.arrayBuffer()).equals(PNG)).toBe(true);
    const again = await fetch(`${cloud.url}${withLogo.body.logoUrl}`, { headers: { cookie: customer.client.cookie!, 'if-none-match': logo.headers.get('etag')! } });
    expect(again.status).toBe(304);

    // Switched off, or expired: no branding, although the logo is still stored.
    expect((await put(company.client, '/company/co-branding', { enabled: false })).status).toBe(200);
    expect((await branding()).body).toMatchObject({ active: false, logoUrl: null });
    expect((await put(company.client, '/company/co-branding', { enabled: true })).status).toBe(200);
    await setValidUntil(company.companyId, new Date(Date.now() - 1000));
    expect((await branding()).body).toEqual({ active: false, companyName: 'Brightlight Security', logoUrl: null });
    const hidden = await customer.client.get<Refusal>(`/customer/sites/${siteId}/branding/logo`);
    expect(hidden.status).toBe(404);
    expect(hidden.body.code).toBe('LOGO_NOT_FOUND');
  });
});

describe('who may do what', () => {
  let owner: Company;
  let siteId: string;
  let customer: Awaited<ReturnType<typeof signInCustomer>>;

  beforeAll(async () => {
    owner = await authenticated('Gatekeepers');
    ({ siteId, customer } = await customerWithSite(owner));
    expect((await purchase(owner.client)).status).toBe(201);
  });

  const adminRoutes: [string, string, unknown][] = [
    ['GET', '/company/co-branding', undefined],
    ['PUT', '/company/co-branding', { enabled: true }],
    ['PUT', '/company/co-branding/logo', { contentType: 'image/png', data: PNG.toString('base64') }],
    ['GET', '/company/co-branding/logo', undefined],
    ['DELETE', '/company/co-branding/logo', undefined],
    ['POST', '/company/co-branding/orders', { months: 12, vatNumber: 'GB1', paymentMethod: 'card' }],
    ['POST', '/company/co-branding/service-keys', { keys: 'ABCD-EFGH-JKMN-PQRS' }],
    ['POST', '/company/co-branding/redeem-points', { months: 1 }],
  ];

  it("refuses the co-branding routes to an employee with every permission and to a customer, and changes nothing", async () => {
    const employee = await signInEmployee(cloud, owner.companyId, [...ALL_PERMISSIONS]);
    const before = (await status(owner.client)).body;
    for (const client of [employee, customer.client]) {
      for (const [method, path, body] of adminRoutes) {
        const res = await client.call<Refusal>(method, path, body);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.code, `${method} ${path}`).toBe('INSTALLER_ADMIN_ONLY');
      }
    }
    expect((await status(owner.client)).body).toEqual(before);
  });

  it("shows a customer only the branding of its own sites, and installers none", async () => {
    const stranger = await signInCustomer(cloud);
    const foreign = await stranger.client.get<Refusal>(`/customer/sites/${siteId}/branding`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('SITE_NOT_FOUND');
    const foreignLogo = await stranger.client.get<Refusal>(`/customer/sites/${siteId}/branding/logo`);
    expect(foreignLogo.status).toBe(404);
    expect(foreignLogo.body.code).toBe('SITE_NOT_FOUND');

    for (const client of [owner.client, await signInEmployee(cloud, owner.companyId, [...ALL_PERMISSIONS]), vendor]) {
      const res = await client.get<Refusal>(`/customer/sites/${siteId}/branding`);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('CUSTOMER_ONLY');
    }
    expect((await customer.client.get(`/customer/sites/${siteId}/branding`)).status).toBe(200);
  });

  it("keeps each company's service its own", async () => {
    const other = await authenticated('Neighbours Ltd');
    expect((await put(owner.client, '/company/co-branding', { enabled: true })).status).toBe(200);
    const theirs = await status(other.client);
    expect(theirs.body).toMatchObject({ enabled: false, validUntil: null, orders: [] });
    const switched = await put<CoBranding>(other.client, '/company/co-branding', { enabled: true });
    expect(switched.status).toBe(409);
    expect(switched.body.code).toBe('CO_BRANDING_NOT_ACTIVE');
    expect((await status(owner.client)).body.active).toBe(true);
  });
});

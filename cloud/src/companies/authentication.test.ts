import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailCatcher } from '@vigil/simulators';
import type { CompanyAuthentication, CompanyProfile, MeReply, Notification } from '@vigil/protocol/api';
import { mailOutbox } from '../db/schema.js';
import { notifyAccounts } from '../notifications/notify.js';
import { ApiClient, registerCompany, signInEmployee, signInVendorAdmin, startTestCloud, VENDOR_ADMIN, type TestCloud } from '../testing/cloud.js';

type Refusal = { statusCode: number; code: string; message: string };
type Notifications = { items: Notification[]; unread: number };

let catcher: MailCatcher;
let cloud: TestCloud;
let vendor: ApiClient;

beforeAll(async () => {
  catcher = new MailCatcher();
  const { url } = await catcher.start();
  cloud = await startTestCloud({ VIGIL_SMTP_URL: url });
  vendor = await signInVendorAdmin(cloud);
});
afterAll(async () => {
  await cloud?.stop();
  await catcher?.stop();
});

const GB_FIELDS = {
  legalName: 'Acme Security Limited',
  registrationNumber: '01234567',
  address: '1 High Street, London',
  contactPhone: '+44 20 7946 0000',
  vatNumber: 'GB123456789',
};
const submit = (client: ApiClient, fields: Record<string, string>) => client.call<CompanyAuthentication & Refusal>('PUT', '/company/authentication', { fields });
const authentication = async (client: ApiClient) => (await client.get<CompanyAuthentication>('/company/authentication')).body;
const notifications = async (client: ApiClient, query = '') => (await client.get<Notifications>(`/notifications${query}`)).body;
const review = (decision: 'approve' | 'reject', companyId: string, comment?: string) =>
  vendor.post<CompanyAuthentication & Refusal>(`/vendor/authentications/${companyId}/${decision}`, comment === undefined ? {} : { comment });
const mailKinds = async (to: string) =>
  (await cloud.ctx.db.select({ kind: mailOutbox.kind }).from(mailOutbox).where(eq(mailOutbox.toAddress, to))).map((r) => r.kind).sort();

function expectRefusal(res: { status: number; body: unknown }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect((res.body as Refusal).code).toBe(code);
}

describe('company authentication', () => {
  it('goes from the form of the region to pending, rejected, pending again and approved, with mails and notifications', async () => {
    const company = await registerCompany(cloud.api, 'Acme Security');
    const initial = await authentication(company.client);
    expect(initial).toMatchObject({ companyId: company.companyId, status: 'unauthenticated', fields: {}, comment: '', submittedAt: null, reviewedAt: null });
    expect(initial.form.filter((f) => f.required).map((f) => f.key)).toEqual(['legalName', 'registrationNumber', 'address', 'contactPhone', 'vatNumber']);
    expect(initial.form.find((f) => f.key === 'website')?.required).toBe(false);

    // An employee, even one who manages accounts, is not the Installer Admin.
    const employee = await signInEmployee(cloud, company.companyId, ['accounts.manage']);
    expectRefusal(await submit(employee, GB_FIELDS), 403, 'INSTALLER_ADMIN_ONLY');

    const { vatNumber: _vat, ...withoutVat } = GB_FIELDS;
    const missing = await submit(company.client, { ...withoutVat, contactPhone: '   ' });
    expectRefusal(missing, 422, 'AUTHENTICATION_FIELDS_MISSING');
    expect(missing.body.message).toContain('VAT registration number');
    expect(missing.body.message).toContain('Contact phone number');
    expectRefusal(await submit(company.client, { ...GB_FIELDS, ein: '12-3456789' }), 422, 'VALIDATION_FAILED');
    expect((await authentication(company.client)).status).toBe('unauthenticated');

    const sent = await submit(company.client, { ...GB_FIELDS, website: '  ', legalName: '  Acme Security Limited ' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toMatchObject({ status: 'pending', fields: GB_FIELDS });
    expect(sent.body.submittedAt).not.toBeNull();
    expect((await company.client.get<MeReply>('/me')).body.company.authStatus).toBe('pending');
    expectRefusal(await submit(company.client, GB_FIELDS), 409, 'AUTHENTICATION_STATE');

    // The operator is told, and sees it among the pending ones.
    expect((await notifications(vendor)).items.some((n) => n.kind === 'company.authentication' && n.data.companyId === company.companyId)).toBe(true);
    const pending = await vendor.get<{ items: (CompanyAuthentication & { companyName: string; countryCode: string })[] }>('/vendor/authentications?status=pending');
    expect(pending.status).toBe(200);
    expect(pending.body.items.find((i) => i.companyId === company.companyId)).toMatchObject({ companyName: 'Acme Security', countryCode: 'GB', status: 'pending', fields: GB_FIELDS });
    expect((await vendor.get<{ items: unknown[] }>('/vendor/authentications?status=approved')).body.items).toEqual([]);

    const rejected = await review('reject', company.companyId, 'The VAT number does not match the company.');
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', comment: 'The VAT number does not match the company.' });
    expect(rejected.body.reviewedAt).not.toBeNull();
    expectRefusal(await review('reject', company.companyId, 'again'), 409, 'AUTHENTICATION_STATE');
    expectRefusal(await review('approve', company.companyId), 409, 'AUTHENTICATION_STATE');
    const rejectionMail = await catcher.waitFor((m) => m.to === company.email && /rejected/i.test(m.subject));
    expect(rejectionMail.text).toContain('The VAT number does not match the company.');
    expect((await authentication(company.client)).comment).toBe('The VAT number does not match the company.');

    const mine = await notifications(company.client);
    expect(mine.unread).toBe(1);
    expect(mine.items[0]).toMatchObject({ kind: 'company.authentication', title: 'Company authentication rejected', readAt: null, data: { companyId: company.companyId } });

    // Rejected: the admin corrects the form and sends it again.
    const again = await submit(company.client, { ...GB_FIELDS, vatNumber: 'GB987654321' });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ status: 'pending', comment: '', reviewedAt: null });
    const approved = await review('approve', company.companyId);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.status).toBe('approved');
    expect((await company.client.get<MeReply>('/me')).body.company.authStatus).toBe('approved');
    await catcher.waitFor((m) => m.to === company.email && /authenticated/i.test(m.subject));
    expect(await mailKinds(company.email)).toEqual(['company.authentication.approved', 'company.authentication.rejected']);
    expectRefusal(await submit(company.client, GB_FIELDS), 409, 'AUTHENTICATION_STATE');
    expect((await notifications(company.client)).unread).toBe(2);
    // The employee hears nothing of it: the admin's notifications are the admin's.
    expect((await notifications(employee)).items).toEqual([]);
  });

  it('asks for the fields of the company’s country', async () => {
    const client = new ApiClient(cloud.api);
    const res = await client.post('/companies', {
      company: { name: 'Bundesschutz', type: 'installer', countryCode: 'DE' },
      admin: { name: 'Admin', email: 'admin.de@example.test', password: 'Correct-Horse9' },
    });
    expect(res.status).toBe(201);
    const form = (await authentication(client)).form;
    expect(form.find((f) => f.key === 'handelsregister')).toMatchObject({ required: true });
    expect(form.some((f) => f.key === 'vatNumber')).toBe(false);
  });

  it('refuses the vendor routes to installers, and reviews of unknown companies', async () => {
    const company = await registerCompany(cloud.api);
    expectRefusal(await company.client.get('/vendor/authentications'), 403, 'VENDOR_ONLY');
    expectRefusal(await company.client.post(`/vendor/authentications/${company.companyId}/approve`), 403, 'VENDOR_ONLY');
    expectRefusal(await company.client.get('/vendor/regions'), 403, 'VENDOR_ONLY');
    expect((await authentication(company.client)).status).toBe('unauthenticated');
    // Not sent yet, or no such company: nothing to review.
    expectRefusal(await review('approve', company.companyId), 404, 'COMPANY_NOT_FOUND');
    expectRefusal(await review('approve', '00000000-0000-4000-8000-000000000000'), 404, 'COMPANY_NOT_FOUND');
    expect((await review('reject', company.companyId, '')).status).toBe(400);
    expect((await new ApiClient(cloud.api).get('/vendor/authentications')).status).toBe(401);
  });
});

describe('the vendor admin', () => {
  it('sees no installer data and its email cannot register a company', async () => {
    const company = await registerCompany(cloud.api);
    const siteRes = await company.client.post('/sites', { name: 'Shop', type: 'personal', timeZone: 'UTC' });
    expect(siteRes.status).toBe(201);
    const me = (await vendor.get<MeReply>('/me')).body;
    expect(me).toMatchObject({ account: { role: 'vendor_admin', email: VENDOR_ADMIN.email }, company: { type: 'vendor', countryCode: 'ZZ' }, permissions: [], features: [] });
    expectRefusal(await vendor.get('/sites'), 403, 'PERMISSION_DENIED');
    const logs = await vendor.get<{ items: { accountId: string }[] }>('/operation-logs');
    expect(logs.status).toBe(200);
    expect(logs.body.items.every((l) => l.accountId === me.account.id)).toBe(true);
    expect((await vendor.get<CompanyProfile>('/company')).body).toMatchObject({ type: 'vendor', features: [] });

    const taken = await new ApiClient(cloud.api).post('/companies', {
      company: { name: 'Impostor', type: 'installer', countryCode: 'GB' },
      admin: { name: 'Admin', email: VENDOR_ADMIN.email.toUpperCase(), password: 'Correct-Horse9' },
    });
    expectRefusal(taken, 409, 'EMAIL_TAKEN');
  });
});

describe('company profile and notifications', () => {
  it('lets the Installer Admin edit the profile, and only the admin', async () => {
    const company = await registerCompany(cloud.api, 'Profile Co');
    const profile = await company.client.get<CompanyProfile>('/company');
    expect(profile.body).toMatchObject({ id: company.companyId, name: 'Profile Co', type: 'installer', countryCode: 'GB', address: '', authStatus: 'unauthenticated', rewardPoints: 0 });
    expect(profile.body.features).toContain('cloud_storage');
    const edited = await company.client.patch<CompanyProfile>('/company', { name: ' Profile Company ', address: '2 Low Road' });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body).toMatchObject({ name: 'Profile Company', address: '2 Low Road' });
    const employee = await signInEmployee(cloud, company.companyId, ['accounts.manage']);
    expect((await employee.get<CompanyProfile>('/company')).body.name).toBe('Profile Company');
    expectRefusal(await employee.patch('/company', { name: 'Hijacked' }), 403, 'INSTALLER_ADMIN_ONLY');
    expectRefusal(await company.client.patch('/company', { name: '   ' }), 400, 'VALIDATION_FAILED');
    expect((await company.client.patch('/company', {})).status).toBe(400);
    expect((await company.client.get<CompanyProfile>('/company')).body.name).toBe('Profile Company');
    const oplog = await company.client.get<{ items: { content: string }[] }>('/operation-logs');
    expect(oplog.body.items.map((l) => l.content)).toContain('Edit Company Information Succeeded');
  });

  it('lists the own notifications newest first, filters unread and marks them read', async () => {
    const a = await registerCompany(cloud.api);
    const b = await registerCompany(cloud.api);
    const adminA = (await a.client.get<MeReply>('/me')).body.account.id;
    await notifyAccounts(cloud.ctx.db, [adminA], { kind: 'test.first', title: 'First', body: 'one' });
    await notifyAccounts(cloud.ctx.db, [adminA], { kind: 'test.second', title: 'Second', body: 'two', data: { siteId: 'x' } });
    const all = await notifications(a.client);
    expect(all.items.map((n) => n.title)).toEqual(['Second', 'First']);
    expect(all.unread).toBe(2);
    const [second, first] = all.items;

    expectRefusal(await b.client.post(`/notifications/${first!.id}/read`), 404, 'NOTIFICATION_NOT_FOUND');
    expectRefusal(await a.client.post('/notifications/00000000-0000-4000-8000-000000000000/read'), 404, 'NOTIFICATION_NOT_FOUND');
    expect((await a.client.post(`/notifications/${first!.id}/read`)).status).toBe(204);
    const afterRead = await notifications(a.client);
    expect(afterRead.unread).toBe(1);
    const readAt = afterRead.items.find((n) => n.id === first!.id)!.readAt;
    expect(readAt).not.toBeNull();
    expect((await a.client.post(`/notifications/${first!.id}/read`)).status).toBe(204);
    expect((await notifications(a.client)).items.find((n) => n.id === first!.id)!.readAt).toBe(readAt);

    const unread = await notifications(a.client, '?unread=1');
    expect(unread.items.map((n) => n.id)).toEqual([second!.id]);
    expect(unread.items[0]!.data).toEqual({ siteId: 'x' });
    expect((await notifications(b.client)).items).toEqual([]);
    expect((await a.client.get('/notifications?unread=2')).status).toBe(400);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, registerCompany, startTestCloud, type TestCloud } from './testing/cloud.js';

let cloud: TestCloud;
beforeAll(async () => {
  cloud = await startTestCloud({ VIGIL_LOGIN_MAX_FAILURES: '3', VIGIL_BODY_LIMIT_BYTES: '4096' });
});
afterAll(() => cloud?.stop());

type Site = { id: string; name: string; offlineDelaySec: number; status: string; timeZone: string; city: string };
const site = (name: string, extra: object = {}) => ({ name, type: 'personal', timeZone: 'Europe/Paris', ...extra });

describe('companies and sign-in', () => {
  it('registers a company whose admin holds every permission and is signed in', async () => {
    const { client } = await registerCompany(cloud.api, 'Northwind Security');
    const me = await client.get<{ company: { name: string }; account: { role: string }; permissions: string[] }>('/me');
    expect(me.status).toBe(200);
    expect(me.body.company.name).toBe('Northwind Security');
    expect(me.body.account.role).toBe('installer_admin');
    expect(me.body.permissions).toContain('device.manage');
  });

  it('refuses a weak password, a taken email, an unknown company type and unknown fields', async () => {
    const anon = new ApiClient(cloud.api);
    const body = (password: string, email = 'weak@example.test', type = 'installer') => ({
      company: { name: 'X', type, countryCode: 'FR' },
      admin: { name: 'A', email, password },
    });
    const weak = await anon.post<{ code: string }>('/companies', body('password'));
    expect(weak.status).toBe(400);
    expect(weak.body.code).toBe('PASSWORD_POLICY');
    const nameInside = await anon.post<{ code: string }>('/companies', body('Weakling-123', 'weakling@example.test'));
    expect(nameInside.body.code).toBe('PASSWORD_POLICY');
    const { email } = await registerCompany(cloud.api);
    const taken = await anon.post<{ code: string }>('/companies', body('Str0ng-pass', email.toUpperCase()));
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('EMAIL_TAKEN');
    const badType = await anon.post<{ code: string; message: string }>('/companies', body('Str0ng-pass', 'x1@example.test', 'bank'));
    expect(badType.status).toBe(400);
    expect(badType.body.code).toBe('VALIDATION_FAILED');
    const extra = await anon.post<{ code: string }>('/companies', { ...body('Str0ng-pass', 'x2@example.test'), admin2: {} });
    expect(extra.body.code).toBe('VALIDATION_FAILED');
  });

  it('locks sign-in after repeated failures, even with the right password', async () => {
    const { email, password } = await registerCompany(cloud.api);
    const c = new ApiClient(cloud.api);
    for (let i = 0; i < 2; i++) expect((await c.post<{ code: string }>('/auth/login', { email, password: 'Wrong-pass1' })).body.code).toBe('INVALID_CREDENTIALS');
    const third = await c.post<{ code: string }>('/auth/login', { email, password: 'Wrong-pass1' });
    expect(third.status).toBe(423);
    expect(third.headers.get('retry-after')).toBeTruthy();
    const right = await c.post<{ code: string }>('/auth/login', { email, password });
    expect(right.status).toBe(423);
    expect(right.body.code).toBe('ACCOUNT_LOCKED');
  });

  it('signs in and out with a cookie, and works with a bearer token', async () => {
    const { email, password } = await registerCompany(cloud.api);
    const c = new ApiClient(cloud.api);
    expect((await c.get('/me')).status).toBe(401);
    const login = await c.post('/auth/login', { email: email.toUpperCase(), password });
    expect(login.status).toBe(200);
    expect(login.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    expect(login.headers.get('set-cookie')).toMatch(/SameSite=Lax/i);
    expect((await c.get('/me')).status).toBe(200);
    expect((await c.post('/auth/logout')).status).toBe(204);
    expect((await c.get('/me')).status).toBe(401);

    const token = await new ApiClient(cloud.api).post<{ token: string }>('/auth/token', { email, password, days: 1 });
    expect(token.status).toBe(201);
    const bearer = new ApiClient(cloud.api, { authorization: `Bearer ${token.body.token}` });
    expect((await bearer.get('/sites')).status).toBe(200);
    const forged = new ApiClient(cloud.api, { authorization: 'Bearer not-a-token' });
    expect((await forged.get('/sites')).status).toBe(401);
  });
});

describe('sites', () => {
  it('creates, edits, searches and deletes sites with unique names per company', async () => {
    const { client } = await registerCompany(cloud.api);
    const a = await client.post<Site>('/sites', site('Bakery Main St', { address: '1 Main St', customerRemark: 'alarm code on file' }));
    expect(a.status).toBe(201);
    expect(a.body.status).toBe('NotHandedOver');
    expect(a.body.offlineDelaySec).toBe(300);
    await client.post('/sites', site('Warehouse', { type: 'team', city: 'Lyon' }));
    const dup = await client.post<{ code: string }>('/sites', site('bakery main st'));
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('SITE_NAME_TAKEN');

    const found = await client.get<{ items: Site[]; total: number }>('/sites?search=lyon');
    expect(found.body.items.map((s) => s.name)).toEqual(['Warehouse']);
    const team = await client.get<{ items: Site[] }>('/sites?type=team');
    expect(team.body.items).toHaveLength(1);
    const paged = await client.get<{ items: Site[]; total: number }>('/sites?page=2&pageSize=1');
    expect(paged.body.items).toHaveLength(1);
    expect(paged.body.total).toBe(2);
    expect((await client.get<{ code: string }>('/sites?page=zero')).body.code).toBe('VALIDATION_FAILED');
    expect((await client.post<{ code: string }>('/sites', site('Typed', { offlineDelaySec: '600' }))).body.code).toBe('VALIDATION_FAILED');

    const edited = await client.patch<Site>(`/sites/${a.body.id}`, { offlineDelaySec: 3600, name: 'Bakery' });
    expect(edited.status).toBe(200);
    expect(edited.body.offlineDelaySec).toBe(3600);
    const moved = await client.patch<{ code: string }>(`/sites/${a.body.id}`, { timeZone: 'Asia/Tokyo' });
    expect([moved.status, moved.body.code]).toEqual([422, 'TIME_ZONE_IMMUTABLE']);
    expect((await client.patch<{ code: string }>(`/sites/${a.body.id}`, { timeZone: 'Mars/Olympus' })).body.code).toBe('TIME_ZONE_IMMUTABLE');
    const same = await client.patch<Site>(`/sites/${a.body.id}`, { timeZone: 'Europe/Paris', city: 'Paris' });
    expect([same.status, same.body.timeZone, same.body.city]).toEqual([200, 'Europe/Paris', 'Paris']);
    expect((await client.patch<{ code: string }>(`/sites/${a.body.id}`, { offlineDelaySec: 90_000 })).body.code).toBe('VALIDATION_FAILED');
    expect((await client.patch<{ code: string }>(`/sites/${a.body.id}`, {})).body.code).toBe('VALIDATION_FAILED');

    expect((await client.delete(`/sites/${a.body.id}`)).status).toBe(204);
    expect((await client.get(`/sites/${a.body.id}`)).status).toBe(404);
  });

  it("never shows or changes another company's site", async () => {
    const owner = await registerCompany(cloud.api);
    const other = await registerCompany(cloud.api);
    const s = await owner.client.post<Site>('/sites', site('Private'));
    for (const res of [
      await other.client.get<{ code: string }>(`/sites/${s.body.id}`),
      await other.client.patch<{ code: string }>(`/sites/${s.body.id}`, { name: 'Mine now' }),
      await other.client.delete<{ code: string }>(`/sites/${s.body.id}`),
      await other.client.get<{ code: string }>(`/sites/${s.body.id}/edges`),
      await other.client.get<{ code: string }>(`/sites/${s.body.id}/devices`),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('SITE_NOT_FOUND');
    }
    expect((await other.client.get<{ total: number }>('/sites')).body.total).toBe(0);
    expect((await owner.client.get<Site>(`/sites/${s.body.id}`)).body.name).toBe('Private');
  });
});

describe('bad requests change nothing', () => {
  it('answers malformed JSON, oversized bodies, wrong media types and cross-origin posts with clear errors', async () => {
    const { client } = await registerCompany(cloud.api);
    const malformed = await client.call<{ statusCode: number; code: string; message: string }>('POST', '/sites', '{"name": "x",');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ statusCode: 400, code: 'MALFORMED_JSON', message: expect.any(String) });
    const big = await client.post<{ code: string }>('/sites', site('x'.repeat(10), { customerRemark: 'y'.repeat(8000) }));
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('BODY_TOO_LARGE');
    const text = await client.call<{ code: string }>('POST', '/sites', 'name=x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    const cross = await client.call<{ code: string }>('POST', '/sites', site('Evil'), { origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    expect(cross.body.code).toBe('CROSS_ORIGIN_REFUSED');
    expect((await client.get<{ total: number }>('/sites')).body.total).toBe(0);
  });

  it('records who did what in the operation log, successes and failures', async () => {
    const { client, email } = await registerCompany(cloud.api);
    await client.post('/sites', site('Logged'));
    await client.post('/sites', site('logged'));
    const log = await client.get<{ items: { content: string; accountEmail: string; target: string }[] }>('/operation-logs');
    expect(log.body.items.map((e) => e.content)).toEqual(['Add Site Failed', 'Add Site Succeeded', 'Register Company Succeeded']);
    expect(log.body.items[1]).toMatchObject({ accountEmail: email, target: 'Logged' });
  });
});

describe('the API description', () => {
  it('is served as OpenAPI with every route and its schemas', async () => {
    const res = await fetch(`${cloud.api}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.paths['/api/v1/sites/{siteId}/edges']?.post?.requestBody).toBeDefined();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/companies', '/api/v1/auth/login', '/api/v1/edges/{serial}/reboot', '/api/v1/operation-logs']));
  });
});

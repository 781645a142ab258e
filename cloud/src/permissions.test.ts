import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts } from './db/schema.js';
import type { ApiClient} from './testing/cloud.js';
import { registerCompany, signInEmployee, startTestCloud, type TestCloud } from './testing/cloud.js';

let cloud: TestCloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(() => cloud?.stop());

/** An employee whose role holds the given permissions. */
const employee = (companyId: string, permissions: string[]) => signInEmployee(cloud, companyId, permissions);

describe('named permissions, checked on the server', () => {
  it('an employee managing assigned sites sees only their own sites and cannot add edge boxes without device management', async () => {
    const admin = await registerCompany(cloud.api);
    const adminSite = await admin.client.post<{ id: string }>('/sites', { name: 'Admin site', type: 'team', timeZone: 'UTC' });
    const emp = await employee(admin.companyId, ['site.manage_assigned']);
    const own = await emp.post<{ id: string }>('/sites', { name: 'Employee site', type: 'personal', timeZone: 'UTC' });
    expect(own.status).toBe(201);
    const list = await emp.get<{ items: { name: string }[] }>('/sites');
    expect(list.body.items.map((s) => s.name)).toEqual(['Employee site']);
    expect((await emp.get<{ code: string }>(`/sites/${adminSite.body.id}`)).body.code).toBe('SITE_NOT_FOUND');

    const add = await emp.post<{ code: string }>(`/sites/${own.body.id}/edges`, { serial: 'VGEPERM0001', verificationCode: 'ABC123' });
    expect(add.status).toBe(403);
    expect(add.body.code).toBe('PERMISSION_DENIED');
    // The admin holds every permission and sees both sites.
    expect((await admin.client.get<{ total: number }>('/sites')).body.total).toBe(2);
  });

  it('an employee without site permissions is refused the site list, and sees only their own operation log', async () => {
    const admin = await registerCompany(cloud.api);
    const emp = await employee(admin.companyId, []);
    const sites = await emp.get<{ code: string }>('/sites');
    expect(sites.status).toBe(403);
    expect(sites.body.code).toBe('PERMISSION_DENIED');
    const log = await emp.get<{ items: { content: string }[] }>('/operation-logs');
    expect(log.body.items.map((e) => e.content)).toEqual(['Login Succeeded']);
    const adminLog = await admin.client.get<{ items: { content: string }[] }>('/operation-logs');
    expect(adminLog.body.items.map((e) => e.content)).toContain('Register Company Succeeded');
  });

  it('a disabled account cannot sign in, and its sessions stop working at once', async () => {
    const admin = await registerCompany(cloud.api);
    const emp = await employee(admin.companyId, ['site.manage_all']);
    expect((await emp.get('/sites')).status).toBe(200);
    await cloud.ctx.db.update(accounts).set({ enabled: false }).where(eq(accounts.companyId, admin.companyId));
    expect((await emp.get('/sites')).status).toBe(401);
  });
});

describe('live events', () => {
  it("are sent to the company's sessions only", async () => {
    const a = await registerCompany(cloud.api);
    const b = await registerCompany(cloud.api);
    const site = await a.client.post<{ id: string }>('/sites', { name: 'Live', type: 'personal', timeZone: 'UTC' });
    const controller = new AbortController();
    const stream = async (client: ApiClient) => {
      const res = await fetch(`${cloud.api}/live`, { headers: { cookie: client.cookie ?? '' }, signal: controller.signal });
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      return res.body!.getReader();
    };
    const readerA = await stream(a.client);
    const readerB = await stream(b.client);
    await a.client.patch(`/sites/${site.body.id}`, { customerRemark: 'changed' });
    const decoder = new TextDecoder();
    let textA = '';
    while (!textA.includes('site.changed')) textA += decoder.decode((await readerA.read()).value);
    expect(textA).toContain(site.body.id);
    // B's stream got its greeting but nothing of A's.
    const first = decoder.decode((await readerB.read()).value);
    expect(first).not.toContain('site.changed');
    controller.abort();
    expect((await fetch(`${cloud.api}/live`)).status).toBe(401);
  });
});

import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { companies } from '../db/schema.js';
import { ApiClient, registerCompany, startTestCloud, VENDOR_ADMIN, type TestCloud } from '../testing/cloud.js';
import { ensureVendorAdmin, VENDOR_COMPANY_TYPE } from './bootstrap.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('the configuration of the vendor admin and of mail', () => {
  it('takes both vendor keys or neither, with a strong password', () => {
    expect(loadConfig({}).vendorAdmin).toBeNull();
    expect(loadConfig({ VIGIL_VENDOR_ADMIN_EMAIL: 'op@example.test', VIGIL_VENDOR_ADMIN_PASSWORD: 'Strong-pass-1' }).vendorAdmin).toEqual({
      email: 'op@example.test',
      password: 'Strong-pass-1',
    });
    expect(problemsOf({ VIGIL_VENDOR_ADMIN_EMAIL: 'op@example.test' })).toEqual([expect.stringMatching(/both or neither/)]);
    expect(problemsOf({ VIGIL_VENDOR_ADMIN_EMAIL: 'op@example.test', VIGIL_VENDOR_ADMIN_PASSWORD: 'short' })).toEqual([
      expect.stringMatching(/^VIGIL_VENDOR_ADMIN_PASSWORD: Password must be/),
    ]);
    expect(problemsOf({ VIGIL_VENDOR_ADMIN_EMAIL: 'not-an-email', VIGIL_VENDOR_ADMIN_PASSWORD: 'Strong-pass-1' })).toEqual([expect.stringMatching(/VIGIL_VENDOR_ADMIN_EMAIL/)]);
  });

  it('reads the SMTP server, the sender and the attempts', () => {
    const defaults = loadConfig({});
    expect(defaults).toMatchObject({ smtpUrl: null, mailFrom: 'Vigil <no-reply@localhost>', mailMaxAttempts: 10 });
    expect(loadConfig({ VIGIL_SMTP_URL: 'smtps://user:pass@mail.example.test:465', VIGIL_MAIL_MAX_ATTEMPTS: '3' })).toMatchObject({
      smtpUrl: 'smtps://user:pass@mail.example.test:465',
      mailMaxAttempts: 3,
    });
    expect(problemsOf({ VIGIL_SMTP_URL: 'http://mail.example.test' })).toEqual([expect.stringMatching(/^VIGIL_SMTP_URL/)]);
    expect(problemsOf({ VIGIL_MAIL_MAX_ATTEMPTS: '0' })).toEqual([expect.stringMatching(/^VIGIL_MAIL_MAX_ATTEMPTS/)]);
  });
});

describe('ensuring the vendor admin at start-up', () => {
  let cloud: TestCloud;
  beforeAll(async () => {
    cloud = await startTestCloud();
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  const login = (email: string, password: string) => new ApiClient(cloud.api).post('/auth/login', { email, password });

  it('creates the operator company once and sets the configured password again', async () => {
    expect((await login(VENDOR_ADMIN.email, VENDOR_ADMIN.password)).status).toBe(200);
    await ensureVendorAdmin(cloud.ctx.db, { email: VENDOR_ADMIN.email, password: 'Changed-vendor-pass3' }, cloud.ctx.log);
    expect((await login(VENDOR_ADMIN.email, VENDOR_ADMIN.password)).status).toBe(401);
    expect((await login(VENDOR_ADMIN.email, 'Changed-vendor-pass3')).status).toBe(200);
    // A second operator account joins the same company.
    await ensureVendorAdmin(cloud.ctx.db, { email: 'second.operator@vigil.test', password: 'Second-vendor-pass4' }, cloud.ctx.log);
    expect(await cloud.ctx.db.select().from(companies).where(eq(companies.type, VENDOR_COMPANY_TYPE))).toHaveLength(1);
    expect((await login('second.operator@vigil.test', 'Second-vendor-pass4')).status).toBe(200);
    await ensureVendorAdmin(cloud.ctx.db, VENDOR_ADMIN, cloud.ctx.log);
  });

  it("refuses to start with an installer's email as the vendor admin", async () => {
    const installer = await registerCompany(cloud.api);
    await expect(ensureVendorAdmin(cloud.ctx.db, { email: installer.email, password: 'Takeover-pass5' }, cloud.ctx.log)).rejects.toThrow(/installer's account/);
    expect((await login(installer.email, installer.password)).status).toBe(200);
  });
});

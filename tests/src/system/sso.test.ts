import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCompany, startTestCloud, type TestCloud } from '@vigil/cloud/testing';
import type { MeReply, SsoConfig } from '@vigil/protocol/api';
import { EntraIdSimulator, ScimClient } from '@vigil/simulators';
import { launchChromium, signIn, type ChromiumSession } from '../browser/chromium.js';

let cloud: TestCloud;
let idp: EntraIdSimulator;
let browser: ChromiumSession | null = null;

beforeAll(async () => {
  // The identity provider is another site than the portal (as login.microsoftonline.com is): named localhost while
  // the cloud is 127.0.0.1, so its form post to the ACS carries no portal cookie, as in production.
  [cloud, idp] = await Promise.all([startTestCloud(), EntraIdSimulator.start({ host: 'localhost' })]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await idp?.stop();
  await cloud?.stop();
});

describe('Log in via Azure AD in Chromium', () => {
  it('signs a SCIM-provisioned employee in through the identity provider, and refuses them once deactivated', async () => {
    const admin = await registerCompany(cloud.api, 'Northwind Security');
    const db = new pg.Client({ connectionString: cloud.ctx.config.databaseUrl! });
    await db.connect();
    const role = await db.query<{ id: string }>(`INSERT INTO roles (company_id, name, permissions) VALUES ($1, 'Office', $2) RETURNING id`, [admin.companyId, ['accounts.manage']]);
    await db.end();
    const roleId = role.rows[0]!.id;

    // The Installer Admin's configuration, through the API.
    expect((await admin.client.call<SsoConfig>('PUT', '/company/sso/metadata', { metadataXml: idp.metadataXml })).status).toBe(200);
    expect((await admin.client.patch('/company/sso', { defaultRoleId: roleId })).status).toBe(200);
    const token = await admin.client.post<{ token: string; scimTenantUrl: string }>('/company/sso/scim-token');
    const scim = new ScimClient(token.body.scimTenantUrl, token.body.token);

    // Entra's provisioning creates the employee; the directory knows their password.
    const user = { email: 'megan.bowen@northwind.test', name: 'Megan Bowen', password: 'Entra-pass-7' };
    idp.addUser({ ...user, kind: 'member' });
    const created = await scim.createUser(user);
    expect(created.status).toBe(201);

    browser = await launchChromium({ baseURL: cloud.url });
    const { page, context } = browser;

    // The admin sees the configuration on the Azure AD Login page.
    await signIn(page, { email: admin.email, password: admin.password });
    await page.goto('/company/sso');
    await expect.poll(() => page.getByTestId('sso-tenant-id').textContent()).toBe(idp.tenantId);
    await expect.poll(() => page.getByTestId('sso-reply-url').textContent()).toBe(`${cloud.url}/api/v1/sso/saml/${admin.companyId}/acs`);
    await context.clearCookies();

    async function toIdentityProvider(): Promise<void> {
      await page.goto('/login');
      await page.getByRole('link', { name: 'Log in via Azure AD' }).click();
      await page.getByLabel('Email').fill(user.email);
      await page.getByRole('button', { name: 'Next' }).click();
      await page.waitForURL((url) => url.origin === idp.url);
      // Entra's page: the email comes as the login hint.
      expect(await page.getByTestId('idp-email').inputValue()).toBe(user.email);
    }

    await toIdentityProvider();
    await page.getByTestId('idp-password').fill(user.password);
    await page.getByTestId('idp-sign-in').click();
    await page.waitForURL(`${cloud.url}/sites`);
    await page.getByRole('button', { name: 'New site' }).or(page.getByRole('heading', { name: /sites/i })).first().waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json() as Promise<MeReply>);
    expect(me.account).toMatchObject({ email: user.email, name: user.name, synced: true });
    expect(me.permissions).toEqual(['accounts.manage']);

    // Deactivated in the directory while signing in again: the portal's session ends, the answer is refused.
    await context.clearCookies();
    await toIdentityProvider();
    expect((await scim.setActive(created.body.id, false)).status).toBe(200);
    await page.getByTestId('idp-password').fill(user.password);
    await page.getByTestId('idp-sign-in').click();
    await page.waitForURL(/\/login\?sso_error=ACCOUNT_DISABLED$/);
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/disabled by its company/);
    expect((await page.evaluate(async () => (await fetch('/api/v1/me')).status))).toBe(401);

    // A new attempt stops at the email step.
    await page.getByRole('link', { name: 'Log in via Azure AD' }).click();
    await page.getByLabel('Email').fill(user.email);
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/cannot sign in through an identity provider/);
    expect(new URL(page.url()).origin).toBe(cloud.url);
  });
});

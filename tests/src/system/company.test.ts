import { afterAll, describe, expect, it } from 'vitest';
import { newSite, registerCompany, VENDOR_ADMIN } from '@vigil/cloud/testing';
import { launchChromium, signIn, type ChromiumSession } from '../browser/chromium.js';
import { insertP2pDevices } from '../harness/devices-db.js';
import type { Proc } from '../harness/process.js';
import { scenarioDir, startCloudProcess } from '../harness/system.js';

const dir = scenarioDir('company');
const procs: Proc[] = [];
const browsers: ChromiumSession[] = [];
let dropDatabase: () => Promise<void> = async () => {};
afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await Promise.all(procs.map((p) => p.stop()));
  await dropDatabase();
});

describe('company authentication in the portal', () => {
  it('is sent by the Installer Admin, rejected and then approved by the vendor admin, with notifications', async () => {
    const cloud = await startCloudProcess(dir, { env: { VIGIL_VENDOR_ADMIN_EMAIL: VENDOR_ADMIN.email, VIGIL_VENDOR_ADMIN_PASSWORD: VENDOR_ADMIN.password } });
    procs.push(cloud.proc);
    dropDatabase = cloud.dropDatabase;
    const company = await registerCompany(`${cloud.url}/api/v1`, 'Portal Guards Ltd');

    const installer = await launchChromium({ baseURL: cloud.url });
    browsers.push(installer);
    const admin = installer.page;
    await signIn(admin, company);
    await admin.getByRole('link', { name: 'Company', exact: true }).first().click();
    await admin.getByRole('heading', { name: 'Company authentication' }).waitFor();
    expect(await admin.getByTestId('auth-status').textContent()).toBe('Not authenticated');
    // A required field left empty is pointed out before anything is sent.
    await admin.getByLabel('Legal company name').fill('Portal Guards Limited');
    await admin.getByTestId('submit-authentication').click();
    await expect.poll(() => admin.locator('#auth-vatNumber-error').textContent()).toMatch(/VAT registration number/i);
    await admin.getByLabel('Company registration number').fill('09876543');
    await admin.getByLabel('Registered address').fill('3 Market Square, Leeds');
    await admin.getByLabel('Contact phone number').fill('+44 113 496 0000');
    await admin.getByLabel('VAT registration number').fill('GB000000000');
    await admin.getByTestId('submit-authentication').click();
    await expect.poll(() => admin.getByTestId('auth-status').textContent()).toBe('Waiting for review');

    const operator = await launchChromium({ baseURL: cloud.url });
    browsers.push(operator);
    const vendor = operator.page;
    await vendor.goto('/login');
    await vendor.getByLabel('Email').fill(VENDOR_ADMIN.email);
    await vendor.getByLabel('Password').fill(VENDOR_ADMIN.password);
    await vendor.getByRole('button', { name: 'Log in' }).click();
    await vendor.getByRole('heading', { name: 'Company authentications' }).waitFor();
    const row = vendor.getByTestId('authentication-row').filter({ hasText: 'Portal Guards Ltd' });
    await row.getByTestId('review-authentication').click();
    await vendor.getByTestId('authentication-fields').getByText('GB000000000').waitFor();
    await vendor.getByTestId('reject-authentication').click();
    await expect.poll(() => vendor.locator('#reject-comment-error').textContent()).toMatch(/why/i);
    await vendor.getByLabel('Reason for a rejection').fill('The VAT number is not registered.');
    await vendor.getByTestId('reject-authentication').click();
    await expect.poll(() => row.count()).toBe(0);

    // The admin's badge counts the notification; the company page shows why and takes the form again.
    await admin.getByRole('link', { name: /Notifications/ }).click();
    await admin.getByTestId('notification').filter({ hasText: 'Company authentication rejected' }).waitFor();
    expect(await admin.getByTestId('unread-badge').textContent()).toMatch(/^1/);
    await admin.getByTestId('mark-read').click();
    await expect.poll(() => admin.getByTestId('unread-count').textContent()).toBe('0 unread');
    await admin.getByRole('link', { name: 'Company authentication' }).click();
    await admin.getByTestId('auth-rejection').getByText('The VAT number is not registered.').waitFor();
    await admin.getByLabel('VAT registration number').fill('GB123456789');
    await admin.getByTestId('submit-authentication').click();
    await expect.poll(() => admin.getByTestId('auth-status').textContent()).toBe('Waiting for review');

    await vendor.reload();
    await vendor.getByTestId('authentication-row').filter({ hasText: 'Portal Guards Ltd' }).getByTestId('review-authentication').click();
    await vendor.getByTestId('approve-authentication').click();
    await expect.poll(() => vendor.getByTestId('authentication-row').count()).toBe(0);

    await admin.reload();
    await expect.poll(() => admin.getByTestId('auth-status').textContent()).toBe('Authenticated');
    expect(await admin.getByTestId('auth-form').count()).toBe(0);

    // Authenticated, the company gets its free year of co-branding once three devices were added via P2P.
    await admin.getByRole('link', { name: 'Co-branding' }).click();
    const offer = admin.getByTestId('co-branding-free-year');
    await offer.getByText('Devices added via P2P: 0 of 3').waitFor();
    expect(await admin.getByTestId('co-branding-claim-free-year').isDisabled()).toBe(true);
    await insertP2pDevices(cloud.databaseUrl, company.companyId, await newSite(company.client), 3);
    await admin.reload();
    await offer.getByText('Devices added via P2P: 3 of 3').waitFor();
    await admin.getByTestId('co-branding-claim-free-year').click();
    await expect.poll(() => admin.getByTestId('co-branding-valid-until').textContent()).toContain(String(new Date().getFullYear() + 1));
    await admin.getByTestId('co-branding-state').getByText('Switched off').waitFor();
    expect(await offer.count()).toBe(0);
  });
});

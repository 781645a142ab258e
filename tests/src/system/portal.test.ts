import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium, type ChromiumSession } from '../browser/chromium.js';
import type { Proc } from '../harness/process.js';
import { edgeBox, scenarioDir, startCamera, startCloudProcess, startEdge } from '../harness/system.js';

const DEVICE_PASSWORD = 'Cam-pass-2024';
const dir = scenarioDir('portal');
const procs: Proc[] = [];
let browser: ChromiumSession | null = null;
let dropDatabase: () => Promise<void> = async () => {};
afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await dropDatabase();
});

describe('the portal in Chromium', () => {
  it('registers, signs in, creates a site, adds the edge box and sees its camera go online live', async () => {
    const cloud = await startCloudProcess(dir);
    procs.push(cloud.proc);
    dropDatabase = cloud.dropDatabase;
    const cam = await startCamera(dir, 'VCAMWEB01', DEVICE_PASSWORD);
    procs.push(cam.proc);
    const box = edgeBox(dir, cloud.url, [cam.camera], DEVICE_PASSWORD);
    const edge = await startEdge(dir, box);
    procs.push(edge);

    browser = await launchChromium({ baseURL: cloud.url });
    const { page } = browser;
    const email = `owner.${Date.now()}@portal.example`;
    const password = 'Portal-pass-9';

    await page.goto('/register');
    await page.getByLabel('Company name').fill('Browser Alarms Ltd');
    await page.getByLabel('Company type').selectOption('installer');
    await page.getByLabel('Country/Region').selectOption('GB');
    await page.getByLabel('Your name').fill('Bea Browser');
    await page.getByLabel('Email').fill(email);
    // The server's policy shows where it belongs before anything is sent.
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Confirm password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.locator('#reg-password-error').textContent()).toMatch(/8 to 64 characters/);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Confirm password').fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('button', { name: 'New site' }).waitFor();

    // Sign out and back in.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('Wrong-pass-1');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/incorrect/i);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();

    await page.getByRole('button', { name: 'New site' }).click();
    await page.getByLabel('Site name').fill('High Street Pharmacy');
    await page.getByRole('button', { name: 'Create site' }).click();
    await page.getByRole('heading', { name: 'High Street Pharmacy' }).waitFor();

    await page.getByRole('button', { name: 'Add edge box' }).click();
    await page.getByLabel('Serial number').fill(box.serial);
    await page.getByLabel('Verification code').fill('BADCODE1');
    await page.getByRole('button', { name: 'Add box' }).click();
    await expect.poll(() => page.locator('[id$="-error"]').allTextContents()).toContainEqual(expect.stringMatching(/verification code/i));
    await page.getByLabel('Verification code').fill(box.code);
    await page.getByRole('button', { name: 'Add box' }).click();

    // No reload: the device row appears and turns online through live events.
    const row = page.getByRole('row').filter({ hasText: 'VCAMWEB01' });
    await row.waitFor({ timeout: 30_000 });
    await row.getByText('Online', { exact: true }).waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toContain('Network camera');
    const edgeRow = page.getByRole('row').filter({ hasText: box.serial }).filter({ hasNotText: 'Network camera' });
    await edgeRow.getByText('Online', { exact: true }).waitFor({ timeout: 30_000 });

    // The device's own offline delay: it follows the site's 5 minutes until set in the dialog.
    const delayCell = row.locator('td[data-label="Offline delay"]');
    const delayText = async () => (await delayCell.textContent())?.replace(/\s+/g, ' ').trim();
    await expect.poll(delayText).toBe('5 min follows the site');
    const dialog = page.getByRole('dialog', { name: 'Configure offline delay' });
    await row.getByRole('button', { name: /^Offline delay / }).click();
    await dialog.getByLabel('Custom delay').check();
    await dialog.getByLabel('Delay duration').fill('10');
    await dialog.getByLabel('Delay unit').selectOption('min');
    await dialog.getByRole('button', { name: 'OK' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(delayText).toBe('10 min');
    // Stored, not only shown: a fresh page load shows it too.
    await page.reload();
    await expect.poll(delayText).toBe('10 min');

    // Below the manual's 5 minutes, the error shows next to the field and nothing is saved.
    await row.getByRole('button', { name: /^Offline delay / }).click();
    const amount = dialog.getByLabel('Delay duration');
    expect(await amount.inputValue()).toBe('10');
    await amount.fill('2');
    await dialog.getByRole('button', { name: 'OK' }).click();
    await expect.poll(() => amount.getAttribute('aria-invalid')).toBe('true');
    expect(await amount.getAttribute('aria-describedby')).toContain('offline-delay-error');
    expect(await dialog.locator('#offline-delay-error').textContent()).toMatch(/from 5 minutes to 24 hours/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await delayText()).toBe('10 min');

    // The edge box is renamed in its own small dialog.
    await edgeRow.getByRole('button', { name: /^Rename / }).click();
    const rename = page.getByRole('dialog', { name: 'Rename edge box' });
    await rename.getByLabel('Edge box name').fill('Back office box');
    await rename.getByRole('button', { name: 'OK' }).click();
    await rename.waitFor({ state: 'hidden' });
    await edgeRow.getByRole('button', { name: 'Offline delay Back office box' }).waitFor();
  });
});

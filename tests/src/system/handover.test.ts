import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device, Grant } from '@vigil/protocol/api';
import { MailCatcher } from '@vigil/simulators';
import type { Locator, Page } from 'playwright-core';
import { launchChromium, signIn, type ChromiumSession } from '../browser/chromium.js';
import { insertP2pDevices } from '../harness/devices-db.js';
import { eventually } from '../harness/process.js';
import { scenarioDir } from '../harness/system.js';
import { CAMERAS, startVideoSite, type VideoSite } from '../harness/video-site.js';

/**
 * "1 Hour" of a permission in this cloud: long enough for the customer's approval to reach the installer's live view,
 * short enough that the test sees the window end.
 */
const HOUR_MS = 25_000;
const PASSWORD = 'Customer-pass-2026';

const dir = scenarioDir('handover');
const catcher = new MailCatcher();
const browsers: ChromiumSession[] = [];
let site: VideoSite<{ front: (typeof CAMERAS)['front'] }>;

beforeAll(async () => {
  const { url } = await catcher.start();
  site = await startVideoSite(dir, { front: CAMERAS.front }, { cloudEnv: { VIGIL_SMTP_URL: url, VIGIL_PERMISSION_HOUR_MS: String(HOUR_MS) } });
}, 120_000);

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await site?.stop();
  await catcher.stop();
});

async function browser(): Promise<ChromiumSession> {
  const session = await launchChromium({ baseURL: site.cloudUrl, timeoutMs: 20_000 });
  browsers.push(session);
  return session;
}

/** On a handover's offer page: the visitor creates a customer account from it, comes back and accepts. */
async function registerAndAccept(customer: Page, name: string, email: string): Promise<void> {
  await customer.getByRole('heading', { name: 'Site handover' }).waitFor();
  await customer.getByRole('link', { name: 'Create a customer account' }).click();
  await customer.getByLabel('Your name').fill(name);
  await customer.getByLabel('Email', { exact: true }).fill(email);
  await customer.getByLabel('Country/Region').selectOption('GB');
  await customer.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await customer.getByLabel('Confirm password').fill(PASSWORD);
  await customer.getByRole('button', { name: 'Create account' }).click();
  await customer.getByRole('button', { name: 'Accept' }).click();
  await customer.getByText('You accepted the handover: the site is yours.').waitFor();
}

/** The picture of a playing window changes from one look to the next. */
async function expectMoving(tile: Locator): Promise<void> {
  const hash = () =>
    tile.evaluate((el) => {
      const video = el.querySelector('video');
      if (!video) throw new Error('no video in the window');
      const copy = document.createElement('canvas');
      copy.width = 64;
      copy.height = 36;
      const g = copy.getContext('2d')!;
      g.drawImage(video, 0, 0, 64, 36);
      let h = 0;
      for (const byte of g.getImageData(0, 0, 64, 36).data) h = (h * 31 + byte) >>> 0;
      return h;
    });
  const first = await hash();
  await eventually(hash, (h) => h !== first, 'the picture to move on', 15_000);
}

describe('handover in the portal (Chromium)', () => {
  it('hands a site over by email, refuses live view until the customer approves an application, plays it, and ends it when the hour is over', async () => {
    const camera = (await site.client.get<{ items: Device[] }>(`/sites/${site.siteId}/devices`)).body.items.find((d) => d.id === site.cameras.front.deviceId)!;
    const siteName = (await site.client.get<{ name: string }>(`/sites/${site.siteId}`)).body.name;
    const customerEmail = `owner.${Date.now().toString(36)}@example.test`;

    // The installer hands the site over by email, asking for no permission.
    const { page: installer } = await browser();
    await signIn(installer, site.login);
    await installer.goto(`/sites/${site.siteId}`);
    await installer.getByRole('navigation', { name: 'Site sections' }).getByRole('link', { name: 'Handover' }).click();
    await installer.getByRole('heading', { name: 'Handover', level: 1 }).waitFor();
    expect(await installer.getByTestId('site-status').textContent()).toBe('Not handed over');
    await installer.getByLabel('Customer email').fill(customerEmail);
    await installer.getByRole('button', { name: 'Hand over', exact: true }).click();
    // No account has this address yet.
    await expect.poll(() => installer.getByTestId('site-status').textContent()).toBe('Not registered');

    // The customer opens the link of the mail, creates an account and accepts.
    const mail = await catcher.waitFor((m) => m.to === customerEmail, 15_000);
    const link = /https?:\/\/\S+\/handover\/\S+/.exec(mail.text)?.[0];
    expect(link, mail.text).toBeTruthy();
    const { page: customer } = await browser();
    await customer.goto(new URL(link!).pathname);
    await registerAndAccept(customer, 'Olivia Owner', customerEmail);

    // The installer's open Handover tab shows the answer without a reload.
    await expect.poll(() => installer.getByTestId('site-status').textContent()).toBe('Handed over, not authorized');

    // Live view of the camera is refused, and the window says why.
    await installer.getByRole('navigation', { name: 'Site sections' }).getByRole('link', { name: 'Live view' }).click();
    await installer.getByTestId('source-list').getByRole('button', { name: camera.name }).click();
    const refused = installer.locator('[data-testid=video-tile][data-state=error]').first();
    await refused.waitFor();
    expect(await refused.getAttribute('data-code')).toBe('DEVICE_PERMISSION_REQUIRED');
    expect(await refused.getByRole('alert').textContent()).toMatch(/handed over: Live view of .* needs the customer's permission/);

    // The installer applies for live view on the camera for 1 Hour.
    await installer.getByRole('navigation', { name: 'Site sections' }).getByRole('link', { name: 'Permissions' }).click();
    await installer.getByRole('heading', { name: 'Manage Permission' }).waitFor();
    await installer.getByLabel(`Live view for ${camera.name}`, { exact: true }).check();
    await installer.getByLabel(`Validity period for ${camera.name}`, { exact: true }).selectOption({ label: '1 Hour' });
    await installer.getByRole('button', { name: 'Apply', exact: true }).click();
    const grantRow = installer.getByTestId('grant-row').filter({ hasText: camera.name });
    await expect.poll(() => grantRow.getAttribute('data-status')).toBe('pending');

    // The customer approves it from Requests.
    const main = customer.getByRole('navigation', { name: 'Main' });
    await main.getByRole('link', { name: 'Requests' }).click();
    const application = customer.getByTestId('application-row').filter({ hasText: camera.name });
    await application.getByRole('button', { name: /^Approve/ }).click();
    await expect.poll(() => application.count()).toBe(0);
    const granted = await eventually(
      () => site.client.get<{ items: Grant[] }>(`/sites/${site.siteId}/permissions`),
      (r) => r.body.items?.some((g) => g.deviceId === camera.id && g.status === 'approved'),
      'the approved grant',
      5_000,
    );
    const grant = granted.body.items.find((g) => g.deviceId === camera.id && g.status === 'approved')!;
    const endsAt = Date.parse(grant.expiresAt!);
    // One shortened hour from the approval (the two times are taken a few milliseconds apart).
    expect(endsAt - Date.parse(grant.decidedAt!)).toBeGreaterThanOrEqual(HOUR_MS);
    expect(endsAt - Date.parse(grant.decidedAt!)).toBeLessThan(HOUR_MS + 1_000);

    // The customer's Access page shows the installer's live view and when it ends.
    await main.getByRole('link', { name: 'My sites' }).click();
    await customer.getByRole('link', { name: siteName }).click();
    await customer.getByRole('navigation', { name: 'Site sections' }).getByRole('link', { name: 'Access' }).click();
    const access = customer.getByTestId('access-row').filter({ hasText: camera.name });
    await access.waitFor();
    expect(await access.textContent()).toContain('Live view');
    expect(await access.getAttribute('data-status')).toBe('approved');
    const until = access.locator('time');
    expect(await until.getAttribute('datetime')).toBe(grant.expiresAt);
    expect(await until.textContent()).toMatch(/\d{1,2}:\d{2}:\d{2}/);

    // Now the installer's live view plays.
    await installer.getByRole('navigation', { name: 'Site sections' }).getByRole('link', { name: 'Live view' }).click();
    await installer.getByTestId('source-list').getByRole('button', { name: camera.name }).click();
    const playing = installer.locator('[data-testid=video-tile][data-state=playing]').first();
    await playing.waitFor({ timeout: 30_000 });
    await expectMoving(playing);
    expect(Date.now(), 'the live view played before the shortened hour ran out').toBeLessThan(endsAt);

    // When the hour is over the open window is ended, and opening it again is refused.
    const ended = installer.locator('[data-testid=video-tile][data-state=error]').first();
    await ended.waitFor({ timeout: endsAt - Date.now() + 10_000 });
    expect(Date.now()).toBeGreaterThanOrEqual(endsAt);
    expect(await ended.getByRole('alert').textContent()).toMatch(/live view permission .* has ended/i);
    await ended.getByRole('button', { name: 'Try again' }).click();
    await expect.poll(() => installer.locator('[data-testid=video-tile][data-state=error]').first().getAttribute('data-code')).toBe('DEVICE_PERMISSION_EXPIRED');
    expect(await installer.locator('[data-testid=video-tile]').first().getByRole('alert').textContent()).toMatch(/Live view permission on .* expired/);

    // Both sides see the permission as over; the customer's page drops it as its end passes.
    await installer.getByRole('navigation', { name: 'Site sections' }).getByRole('link', { name: 'Permissions' }).click();
    await expect.poll(() => grantRow.getAttribute('data-status')).toBe('expired');
    await customer.getByText("No installer has access to this site's devices now.").waitFor();
  });

  it('hands a site over by QR code: the installer shows it, the customer opens its link, registers and accepts', async () => {
    const made = await site.client.post<{ id: string }>('/sites', { name: 'Corner kiosk', type: 'personal', timeZone: 'UTC' });
    expect(made.status).toBe(201);
    await insertP2pDevices(site.databaseUrl, site.login.companyId, made.body.id, 1);

    const { page: installer } = await browser();
    await signIn(installer, site.login);
    await installer.goto(`/sites/${made.body.id}/handover`);
    await installer.getByRole('heading', { name: 'Handover', level: 1 }).waitFor();
    await installer.getByLabel('Send by').selectOption('qrcode');
    expect(await installer.getByLabel('Customer email').count()).toBe(0);
    await installer.getByRole('button', { name: 'Hand over', exact: true }).click();
    const qr = installer.getByTestId('handover-qr');
    await qr.getByRole('img', { name: /QR code of the handover of Corner kiosk/ }).waitFor();
    expect(await installer.getByTestId('site-status').textContent()).toBe('To be accepted');
    const link = await installer.getByTestId('handover-qr-link').getAttribute('href');
    expect(link).toMatch(/\/handover\/[A-Za-z0-9_-]+$/);

    // What the phone's camera opens.
    const { page: customer } = await browser();
    await customer.goto(new URL(link!).pathname);
    await registerAndAccept(customer, 'Kim Kiosk', `kiosk.${Date.now().toString(36)}@example.test`);
    await expect.poll(() => installer.getByTestId('site-status').textContent()).toBe('Handed over, not authorized');
  });
});

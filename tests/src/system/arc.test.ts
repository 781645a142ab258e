import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { ALARM_EVENT_EVENT, ALARM_SENT_EVENT, decodeMessage, encodeEnvelope, envelope, mqttIdentity, topics, type AlarmEventReport, type AlarmSentReport } from '@vigil/protocol';
import { ApiClient, registerCompany } from '@vigil/cloud/testing';
import { launchChromium, type ChromiumSession } from '../browser/chromium.js';
import { ENTRY, eventually, startProcess, type Proc } from '../harness/process.js';
import { scenarioDir, startCloudProcess } from '../harness/system.js';

const dir = scenarioDir('arc');
const procs: Proc[] = [];
const browsers: ChromiumSession[] = [];
let cloud: Awaited<ReturnType<typeof startCloudProcess>>;
let installer: { email: string; password: string };
let arc: { email: string; password: string };
let siteId: string;

/** An ARC company that has joined the ARC list (applied, and confirmed its ARC ID & key configuration). */
async function arcCompany(api: string) {
  const client = new ApiClient(api);
  const login = { email: 'operator@sentinel.example', password: 'Receiving-Centre9' };
  expect((await client.post('/companies', { company: { name: 'Sentinel Monitoring', type: 'alarm_receiving_center', countryCode: 'GB' }, admin: { name: 'Operator', ...login } })).status).toBe(201);
  expect((await client.post('/arc/profile', { contactEmail: login.email, description: 'Monitoring around the clock' })).status).toBe(201);
  expect((await client.post('/arc/profile/config-completed')).status).toBe(200);
  return login;
}

/**
 * A cloud, an installer with a personal site holding an AX PRO that connects to the platform by itself (simulated,
 * Hik-Connect on), and an ARC on the ARC list.
 */
beforeAll(async () => {
  cloud = await startCloudProcess(dir);
  procs.push(cloud.proc);
  const api = `${cloud.url}/api/v1`;
  const panel = { class: 'alarm_panel', activated: true, password: 'Install-2026', hikConnect: true, platformUrl: cloud.url, verificationCode: 'ABCDEF' };
  const sim = await startProcess({
    name: 'sim-panel',
    entry: ENTRY.sim,
    args: ['lan', '--spec-json', JSON.stringify({ sadpPort: 0, wsdPort: 0, multicast: false, devices: [panel] })],
    logDir: dir,
    ready: (l) => l.ready === true,
  });
  procs.push(sim);
  const serial = (sim.lines.find((l) => l.ready === true)!.devices as { shortSerial: string }[])[0]!.shortSerial;

  const company = await registerCompany(api, 'Northern Alarms');
  installer = company;
  arc = await arcCompany(api);
  siteId = (await company.client.post<{ id: string }>('/sites', { name: 'Flat 7', type: 'personal', timeZone: 'UTC' })).body.id;
  // Added once the panel has connected by itself.
  await eventually(
    () => company.client.post(`/sites/${siteId}/devices/by-serial`, { serial, verificationCode: 'ABCDEF', name: 'Hall panel' }),
    (r) => r.status === 201,
    'the panel added by serial',
    15_000,
  );
});

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await Promise.all(procs.map((p) => p.stop()));
  await cloud?.dropDatabase();
});

async function signIn(login: { email: string; password: string }) {
  const session = await launchChromium({ baseURL: cloud.url });
  browsers.push(session);
  const { page } = session;
  await page.goto('/login');
  await page.getByLabel('Email').fill(login.email);
  await page.getByLabel('Password').fill(login.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  return page;
}

describe('the ARC service in Chromium', () => {
  it('an installer authorizes the site and enables the panel; the ARC accepts it, and the installer sees it accepted', async () => {
    const page = await signIn(installer);
    await page.getByRole('button', { name: 'New site' }).waitFor();
    await page.goto(`/sites/${siteId}`);
    await page.getByRole('link', { name: 'ARC service' }).click();
    await page.getByRole('heading', { level: 1, name: 'ARC service' }).waitFor();

    // Select ARC → Authorize; the site's panels show.
    await page.getByRole('radio', { name: /Sentinel Monitoring/ }).check();
    await page.getByRole('button', { name: 'Authorize' }).click();
    const panels = page.getByRole('region', { name: 'Security control panels' });
    const row = panels.getByRole('row').filter({ hasText: 'Hall panel' });
    await row.getByRole('button', { name: 'Enable ARC service for Hall panel' }).click();

    const dialog = page.getByRole('dialog', { name: 'Enable ARC service: Hall panel' });
    await dialog.getByLabel('Account number').fill('1a2b');
    await dialog.getByRole('checkbox', { name: 'Arm / disarm' }).check();
    await dialog.getByRole('button', { name: 'OK' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row.getByText('Pending acceptance').waitFor();
    expect(await row.textContent()).toContain('1A2B');

    // The ARC signs in to its own pages and accepts the panel.
    const arcPage = await signIn(arc);
    await arcPage.getByRole('heading', { level: 1, name: 'Entrusted devices' }).waitFor();
    expect(new URL(arcPage.url()).pathname).toBe('/arc/devices');
    const entrusted = arcPage.getByRole('row').filter({ hasText: 'Hall panel' });
    expect(await entrusted.textContent()).toContain('Northern Alarms');
    await entrusted.getByRole('button', { name: 'Accept Hall panel' }).click();
    await entrusted.getByText('Accepted', { exact: true }).waitFor();

    // The installer's page follows without reloading.
    await row.getByText('Accepted', { exact: true }).waitFor();
    expect(await row.textContent()).toContain('Arm / disarm');
  });

  it('an alarm the site’s edge box reports appears in the ARC’s alarm inbox, then its delivery, without reloading, and on the installer’s panel page', async () => {
    const installerApi = new ApiClient(`${cloud.url}/api/v1`);
    expect((await installerApi.post('/auth/login', { email: installer.email, password: installer.password })).status).toBe(200);
    const devices = await installerApi.get<{ items: { id: string; name: string }[] }>(`/sites/${siteId}/devices`);
    const panelId = devices.body.items.find((d) => d.name === 'Hall panel')!.id;

    // An edge box played over MQTT, added to the site through the public claim flow.
    const serial = `VGE${randomBytes(5).toString('hex').toUpperCase()}`;
    const mqttUrl = `${cloud.url.replace(/^http/, 'ws')}/mqtt`;
    const nonce = randomBytes(8).toString('hex');
    const claim = await mqtt.connectAsync(mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, username: mqttIdentity.claimUsername(serial), password: 'ABC123', clientId: mqttIdentity.claimClientId(serial, nonce) });
    const credentials = new Promise<{ username: string; password: string }>((resolve) =>
      claim.on('message', (topic, payload) => {
        const m = decodeMessage(topic, payload);
        if (m.ok && m.value.topic.kind === 'claimCredentials') resolve(m.value.envelope.data as { username: string; password: string });
      }),
    );
    await claim.subscribeAsync(topics.claimCredentials(serial, nonce), { qos: 1 });
    expect((await installerApi.post(`/sites/${siteId}/edges`, { serial, verificationCode: 'ABC123' })).status).toBe(201);
    const { username, password } = await credentials;
    await claim.endAsync();
    const box = await mqtt.connectAsync(mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, username, password, clientId: mqttIdentity.edgeClientId(serial) });
    const report = (kind: string, at: number, details: AlarmEventReport | AlarmSentReport) =>
      box.publishAsync(topics.event(serial, kind), Buffer.from(encodeEnvelope(envelope('event', { at, details }))), { qos: 1 });

    try {
      const arcPage = await signIn(arc);
      await arcPage.getByRole('heading', { level: 1, name: 'Entrusted devices' }).waitFor();
      await arcPage.getByRole('link', { name: 'Alarm inbox' }).click();
      await arcPage.getByRole('heading', { level: 1, name: 'Alarm inbox' }).waitFor();
      await arcPage.getByText('No alarms yet.').waitFor();

      const receivedAt = Date.now();
      await report(ALARM_EVENT_EVENT, receivedAt, {
        eventId: 1,
        panel: '1234',
        deviceId: panelId,
        token: 'ADM-CID',
        event: { code: '130', restore: false, zone: '005', area: '01', description: 'Burglary' },
        types: ['alarm'],
        forwarded: true,
        receivedAt,
      });
      const row = arcPage.getByRole('table', { name: 'Alarms' }).getByRole('row').filter({ hasText: 'Hall panel' });
      await row.getByText('Waiting').waitFor();
      const text = await row.textContent();
      for (const shown of ['Northern Alarms', 'Flat 7', '1A2B', 'Burglary', 'Zone 005 · Area 01', 'Alarm']) expect(text).toContain(shown);

      await report(ALARM_SENT_EVENT, receivedAt + 120, { eventId: 1, panel: '1234', deviceId: panelId, path: 'direct', ackedAt: receivedAt + 120 });
      await row.getByText('Delivered direct').waitFor();
      expect(await row.textContent()).toContain('120 ms');

      // The installer sees the same event, with its delivery, on the panel's page.
      const installerPage = await signIn(installer);
      await installerPage.getByRole('button', { name: 'New site' }).waitFor();
      await installerPage.goto(`/sites/${siteId}/devices/${panelId}`);
      const events = installerPage.getByRole('region', { name: 'Alarm events' });
      await events.getByRole('row').filter({ hasText: 'Burglary' }).getByText('Delivered direct').waitFor();
      // And the panel's ARC service, managed on the site's tab.
      const service = installerPage.getByRole('region', { name: 'ARC service' });
      await service.getByText('Accepted', { exact: true }).waitFor();
      for (const shown of ['Sentinel Monitoring', '1A2B']) expect(await service.textContent()).toContain(shown);
    } finally {
      await box.endAsync();
    }
  });
});

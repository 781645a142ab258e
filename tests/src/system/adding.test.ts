import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCompany, type ApiClient } from '@vigil/cloud/testing';
import type { Device, ErrorReply } from '@vigil/protocol/api';
import { launchChromium, signIn, type ChromiumSession } from '../browser/chromium.js';
import { ENTRY, eventually, startProcess, type Proc } from '../harness/process.js';
import { scenarioDir, startCloudProcess } from '../harness/system.js';

type Ready = { devices: { serial: string; shortSerial: string | null; class: string; httpPort: number }[] };

const dir = scenarioDir('adding');
const procs: Proc[] = [];
let browser: ChromiumSession | null = null;
let cloud: Awaited<ReturnType<typeof startCloudProcess>>;
let client: ApiClient;
let login: { email: string; password: string };
let siteId: string;
let sims: Ready['devices'];
let simsProc: Proc;

const PW = 'Install-2026';
const SERIAL = {
  camera: 'DS-2CD2143G2-I20240101AACHE24681357',
  axHome: 'DS-PHA20-W2P20240101AAWRQ13572468',
  nvr: 'DS-7608NXI-K220240101AACHE97531246',
  doorStation: 'DS-KV6113-WPE120240101AAWRD86420975',
};

/**
 * Devices that reach the platform without an edge box: a camera and an AX HOME panel with the Hik-Connect service
 * on (they connect to the cloud by themselves), and an NVR and a door station that the cloud calls at their address.
 */
beforeAll(async () => {
  cloud = await startCloudProcess(dir, { env: { VIGIL_ALLOW_PRIVATE_DEVICE_ADDRESSES: '1', VIGIL_IP_DOMAIN_POLL_SEC: '1' } });
  procs.push(cloud.proc);
  const p2p = { activated: true, password: PW, hikConnect: true, platformUrl: cloud.url };
  const devices = [
    { class: 'camera', serial: SERIAL.camera, verificationCode: 'QWERTY', ...p2p },
    { class: 'alarm_panel', serial: SERIAL.axHome, flags: { axHome: true }, ...p2p },
    { class: 'nvr', serial: SERIAL.nvr, activated: true, password: PW, ipChannels: 16 },
    { class: 'intercom', serial: SERIAL.doorStation, activated: true, password: PW },
  ];
  simsProc = await startProcess({
    name: 'sims',
    entry: ENTRY.sim,
    args: ['lan', '--spec-json', JSON.stringify({ sadpPort: 0, wsdPort: 0, multicast: false, devices })],
    logDir: dir,
    ready: (l) => l.ready === true,
  });
  procs.push(simsProc);
  sims = (simsProc.lines.find((l) => l.ready === true) as unknown as Ready).devices;
  const company = await registerCompany(`${cloud.url}/api/v1`, 'Remote Installers');
  client = company.client;
  login = company;
  siteId = (await client.post<{ id: string }>('/sites', { name: 'Harbour Office', type: 'team', timeZone: 'Europe/Lisbon', offlineDelaySec: 1 })).body.id;
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await cloud?.dropDatabase();
});

const sim = (serial: string) => sims.find((d) => d.serial === serial)!;
const devicesOf = async () => (await client.get<{ items: Device[] }>(`/sites/${siteId}/devices`)).body.items;

describe('devices that reach the platform by themselves (seed-ch3a scenario 7)', () => {
  it('adds a camera by serial and verification code once it is connected, refusing a wrong code', async () => {
    const serial = sim(SERIAL.camera).shortSerial!;
    // The camera connects on its own; until it has, the platform does not know it.
    const wrong = await eventually(
      () => client.post<ErrorReply>(`/sites/${siteId}/devices/by-serial`, { serial, verificationCode: 'WRONG1' }),
      (r) => r.body.code !== 'DEVICE_NOT_CONNECTED',
      'the camera connected to the platform',
    );
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('VERIFICATION_CODE_INVALID');
    expect(await devicesOf()).toHaveLength(0);

    const added = await client.post<Device>(`/sites/${siteId}/devices/by-serial`, { serial: SERIAL.camera, verificationCode: 'QWERTY' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ serial: SERIAL.camera, kind: 'camera', accessMode: 'p2p', edgeSerial: null, status: 'online', channels: 1 });
  });

  it('refuses the AX HOME on the portal path: it has no verification code', async () => {
    const serial = sim(SERIAL.axHome).shortSerial!;
    const r = await eventually(
      () => client.post<ErrorReply>(`/sites/${siteId}/devices/by-serial`, { serial }),
      (x) => x.body.code !== 'DEVICE_NOT_CONNECTED',
      'the AX HOME connected to the platform',
    );
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('VERIFICATION_CODE_REQUIRED');
  });

  it('shows the camera offline when it stops answering, and online when it is back', async () => {
    const control = (reachable: boolean) =>
      fetch(`http://127.0.0.1:${sim(SERIAL.camera).httpPort}/__sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reachable }) });
    expect((await control(false)).status).toBe(200);
    await eventually(devicesOf, (l) => l.find((d) => d.serial === SERIAL.camera)?.status === 'offline', 'the camera offline');
    expect((await control(true)).status).toBe(200);
    await eventually(devicesOf, (l) => l.find((d) => d.serial === SERIAL.camera)?.status === 'online', 'the camera online');
  });
});

describe('devices added by IP/domain (seed-ch3a scenario 8), in the portal', () => {
  it('adds the WAN-mapped NVR from the Add device dialog and refuses a door station', async () => {
    browser = await launchChromium({ baseURL: cloud.url });
    const { page } = browser;
    await signIn(page, login);
    await page.goto(`/sites/${siteId}`);
    // The camera added by serial is listed as reaching the platform directly.
    await expect.poll(() => page.getByRole('row', { name: /DS-2CD2143G2-I/ }).textContent()).toMatch(/Direct \(Hik-Connect P2P\)/);

    const dialog = page.getByRole('dialog', { name: 'Add device' });
    const fill = async (port: number) => {
      await page.getByRole('button', { name: 'Add device' }).first().click();
      await dialog.getByLabel('IP/Domain').check();
      await dialog.getByLabel('IP address or domain').fill('127.0.0.1');
      await dialog.getByLabel('Port').fill(String(port));
      await dialog.getByLabel('User name').fill('admin');
      await dialog.getByLabel('Password').fill(PW);
      await dialog.getByRole('button', { name: 'Add device' }).click();
    };
    await fill(sim(SERIAL.doorStation).httpPort);
    await expect.poll(() => dialog.getByRole('alert').first().textContent()).toMatch(/Only encoding devices/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await fill(sim(SERIAL.nvr).httpPort);
    await expect.poll(() => page.getByRole('row', { name: /DS-7608NXI-K2/ }).textContent()).toMatch(/IP\/Domain/);
    const nvr = (await devicesOf()).find((d) => d.serial === SERIAL.nvr)!;
    expect(nvr).toMatchObject({ accessMode: 'ip_domain', channels: 16, status: 'online' });
    expect(nvr.features).toEqual({ handover: false, remoteConfiguration: false, healthMonitoring: false });
    expect((await devicesOf()).map((d) => d.serial)).not.toContain(SERIAL.doorStation);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCompany, type ApiClient } from '@vigil/cloud/testing';
import { launchChromium, signIn, type ChromiumSession } from '../browser/chromium.js';
import { ENTRY, eventually, startProcess, type Proc } from '../harness/process.js';
import { edgeBox, scenarioDir, startCloudProcess, startEdge } from '../harness/system.js';

type Endpoint = { serial: string; ip: string; httpPort: number; sadpPort: number };
type SimState = { sortedOnce: boolean; channels: { id: number; ipAddress: string; managementPort: number; order: number }[] };

const PASSWORD = 'Install-2026';
const SERIAL = {
  nvr: 'DS-7608NI-K220240101AACHE12340001',
  gate: 'DS-2CD2143G2-I20240101AACHE12340002',
  yard: 'DS-2CD2143G2-I20240101AACHE12340003',
};

const dir = scenarioDir('device-page');
const procs: Proc[] = [];
let cloud: Awaited<ReturnType<typeof startCloudProcess>>;
let browser: ChromiumSession | null = null;
let client: ApiClient;
let login: { email: string; password: string };
let siteId: string;
let nvrId: string;
let sims: Record<keyof typeof SERIAL, Endpoint>;

/** Simulated devices on loopback, each on its own HTTP port, answering SADP on their process's port. */
async function simulators(name: string, devices: Record<string, unknown>[]): Promise<Endpoint[]> {
  const proc = await startProcess({
    name,
    entry: ENTRY.sim,
    args: ['lan', '--spec-json', JSON.stringify({ sadpPort: 0, wsdPort: 0, multicast: false, devices })],
    logDir: dir,
    ready: (l) => l.ready === true,
  });
  procs.push(proc);
  return proc.lines.find((l) => l.ready === true)!.devices as Endpoint[];
}

/** The NVR as it sees itself. */
const nvrState = async (): Promise<SimState> => (await fetch(`http://${sims.nvr.ip}:${sims.nvr.httpPort}/__sim/state`)).json() as Promise<SimState>;

/**
 * A cloud, an edge box and an NVR with two cameras, all on loopback: the Gate camera is a channel of the NVR
 * already, the Yard camera is not. The NVR is on a personal site and the installer's default password opens it.
 */
beforeAll(async () => {
  cloud = await startCloudProcess(dir);
  procs.push(cloud.proc);
  const camera = (serial: string) => ({ class: 'camera', serial, activated: true, password: PASSWORD });
  const [gate, yard] = await simulators('sims-cameras', [camera(SERIAL.gate), camera(SERIAL.yard)]);
  const [nvr] = await simulators('sims-nvr', [
    { class: 'nvr', model: 'DS-7608NI-K2', serial: SERIAL.nvr, activated: true, password: PASSWORD, channels: [{ ip: gate!.ip, port: gate!.httpPort, password: PASSWORD, name: 'Gate' }] },
  ]);
  sims = { nvr: nvr!, gate: gate!, yard: yard! };

  const company = await registerCompany(`${cloud.url}/api/v1`, 'Channel Installers');
  client = company.client;
  login = company;
  siteId = (await client.post<{ id: string }>('/sites', { name: 'Corner Shop', type: 'personal', timeZone: 'UTC' })).body.id;
  const box = edgeBox(dir, cloud.url, [], 'unused');
  box.env.VIGIL_EDGE_SADP_TARGETS = `127.0.0.1:${gate!.sadpPort},127.0.0.1:${nvr!.sadpPort}`;
  box.env.VIGIL_EDGE_LAN_INTERVAL_MS = '300';
  procs.push(await startEdge(dir, box));
  expect((await client.post(`/sites/${siteId}/edges`, { serial: box.serial, verificationCode: box.code })).status).toBe(201);
  await eventually(() => client.get<{ items: unknown[] }>(`/sites/${siteId}/lan`), (r) => r.body.items?.length === 3, 'the three devices on the LAN', 20_000);
  expect((await client.call('PUT', '/me/device-defaults', { password: PASSWORD, verificationCode: '' })).status).toBe(200);
  const added = await client.post<{ devices: { id: string }[] }>(`/sites/${siteId}/onsite/add`, { serials: [SERIAL.nvr] });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  nvrId = added.body.devices[0]!.id;
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await cloud?.dropDatabase();
});

describe('the device page in Chromium', () => {
  it("shows the NVR's channels, adds a camera of the LAN as a channel and saves a new order on the NVR", async () => {
    browser = await launchChromium({ baseURL: cloud.url });
    const { page } = browser;
    await signIn(page, login);

    // From the site's device list to the device page.
    await page.goto(`/sites/${siteId}`);
    await page.getByRole('link', { name: /^DS-7608NI-K2 / }).click();
    await page.getByRole('heading', { level: 1, name: /^DS-7608NI-K2 / }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/sites/${siteId}/devices/${nvrId}`);
    const details = page.getByRole('region', { name: 'Details' });
    expect(await details.textContent()).toContain('12340001');
    expect(await page.getByRole('region', { name: /^Access mode/ }).textContent()).toContain('Hik-Connect P2P');

    const section = page.getByRole('region', { name: 'Channels' });
    const gateRow = section.getByRole('row').filter({ hasText: `${sims.gate.ip}:${sims.gate.httpPort}` });
    await gateRow.getByText('Online', { exact: true }).waitFor();
    expect(await gateRow.textContent()).toContain('Gate');

    // Add Channel → Manually Select: the Yard camera the edge box sees on the LAN.
    await section.getByRole('button', { name: 'Add Channel' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add channel: Manually Select' });
    await dialog.getByRole('checkbox', { name: `Select ${SERIAL.yard}` }).check();
    expect(await dialog.getByRole('row').filter({ hasText: SERIAL.gate }).textContent()).toContain('Channel 1');
    await dialog.getByRole('button', { name: 'Add channel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const yardRow = section.getByRole('row').filter({ hasText: `${sims.yard.ip}:${sims.yard.httpPort}` });
    await yardRow.getByText('Online', { exact: true }).waitFor();
    // The device now brings its two channels to the site.
    await expect.poll(async () => (await details.textContent())?.replace(/\s+/g, ' ')).toContain('Channels2');

    // Sorting follows adding: the Yard camera moves to the top and the order is saved on the NVR.
    await yardRow.getByRole('button', { name: 'Move up channel 2' }).click();
    await section.getByRole('button', { name: 'Save order' }).click();
    await section.getByRole('button', { name: 'Save order' }).waitFor({ state: 'hidden' });
    const positions = async () => (await section.locator('tbody tr td[data-label="Camera address"]').allTextContents()).map((t) => t.trim());
    expect(await positions()).toEqual([`${sims.yard.ip}:${sims.yard.httpPort}`, `${sims.gate.ip}:${sims.gate.httpPort}`]);

    const state = await nvrState();
    expect(state.sortedOnce).toBe(true);
    const byOrder = [...state.channels].sort((a, b) => a.order - b.order).map((c) => c.managementPort);
    expect(byOrder).toEqual([sims.yard.httpPort, sims.gate.httpPort]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCompany, type ApiClient } from '@vigil/cloud/testing';
import { launchChromium, signIn, type ChromiumSession } from '../browser/chromium.js';
import { ENTRY, eventually, startProcess, type Proc } from '../harness/process.js';
import { scenarioDir, startCloudProcess } from '../harness/system.js';

type PanelEndpoint = { model: string; serial: string; host: string; httpPort: number };
type PanelState = { areas: { id: number; arming: string }[] };

const dir = scenarioDir('panel-control');
const procs: Proc[] = [];
let cloud: Awaited<ReturnType<typeof startCloudProcess>>;
let browser: ChromiumSession | null = null;
let login: { email: string; password: string };
let siteId: string;
const ids: Record<'pro' | 'hybridPro', string> = { pro: '', hybridPro: '' };
let pro: PanelEndpoint;

const panelState = async (p: PanelEndpoint): Promise<PanelState> => (await fetch(`http://${p.host}:${p.httpPort}/__sim/state`)).json() as Promise<PanelState>;

/** Added once the panel has connected to the platform by itself. */
async function addBySerial(client: ApiClient, serial: string, name: string): Promise<string> {
  const added = await eventually(
    () => client.post<{ id: string }>(`/sites/${siteId}/devices/by-serial`, { serial, verificationCode: 'ABCDEF', name }),
    (r) => r.status === 201,
    `${name} added by serial`,
    15_000,
  );
  return added.body.id;
}

/** A cloud and two panels (an AX PRO and an AX HYBRID PRO) connected to it by themselves, added to a personal site. */
beforeAll(async () => {
  cloud = await startCloudProcess(dir);
  procs.push(cloud.proc);
  const panel = (model: string, serial: string) => ({ model, serial, verificationCode: 'ABCDEF', platformUrl: cloud.url, hikConnect: true, areas: [{ name: 'Ground floor' }] });
  const sim = await startProcess({
    name: 'sim-panels',
    entry: ENTRY.sim,
    args: ['panels', '--spec-json', JSON.stringify({ panels: [panel('AX PRO', 'DSPWA9620240101AAWRP20000001'), panel('AX HYBRID PRO', 'DSPHA6420240101AAWRP20000002')] })],
    logDir: dir,
    ready: (l) => l.ready === true,
  });
  procs.push(sim);
  pro = (sim.lines.find((l) => l.ready === true)!.panels as PanelEndpoint[])[0]!;

  const company = await registerCompany(`${cloud.url}/api/v1`, 'Hearth Security');
  login = company;
  siteId = (await company.client.post<{ id: string }>('/sites', { name: 'Flat 12', type: 'personal', timeZone: 'UTC' })).body.id;
  ids.pro = await addBySerial(company.client, 'P20000001', 'Hall panel');
  ids.hybridPro = await addBySerial(company.client, 'P20000002', 'Garage panel');
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await cloud?.dropDatabase();
});

describe('the control panel of a device page in Chromium', () => {
  it('arms an area away and disarms it, and shows what the model does not allow', async () => {
    browser = await launchChromium({ baseURL: cloud.url });
    const { page } = browser;
    await signIn(page, login);

    await page.goto(`/sites/${siteId}/devices/${ids.pro}`);
    const section = page.getByRole('region', { name: 'Control panel' });
    const area = section.getByRole('row').filter({ hasText: 'Ground floor' });
    await area.getByText('Disarmed', { exact: true }).waitFor();
    expect(await section.textContent()).toContain('AX PRO');
    expect(await section.getByRole('row').filter({ hasText: 'Front door' }).textContent()).toContain('Normal');
    expect((await section.getByRole('definition').allTextContents()).slice(0, 3)).toEqual(['Normal', 'Normal', 'Normal']);

    await area.getByRole('button', { name: 'Away Ground floor' }).click();
    await area.getByText('Away Arming', { exact: true }).waitFor();
    expect((await panelState(pro)).areas[0]!.arming).toBe('away');

    await area.getByRole('button', { name: 'Disarm Ground floor' }).click();
    await area.getByText('Disarmed', { exact: true }).waitFor();
    expect((await panelState(pro)).areas[0]!.arming).toBe('disarmed');

    // An AX HYBRID PRO does not silence alarms: the button is there, disabled, with the reason.
    await page.goto(`/sites/${siteId}/devices/${ids.hybridPro}`);
    const other = page.getByRole('region', { name: 'Control panel' });
    const silence = other.getByRole('button', { name: 'Silence Ground floor' });
    await silence.waitFor();
    expect(await silence.isDisabled()).toBe(true);
    expect(await other.getByRole('button', { name: 'Stay Ground floor' }).isDisabled()).toBe(false);
    expect(await other.textContent()).toContain('Silence is not available: AX HYBRID PRO does not support silencing alarms.');
  });
});

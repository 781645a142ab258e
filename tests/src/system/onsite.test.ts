import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCompany, type ApiClient } from '@vigil/cloud/testing';
import { launchChromium, signIn, type ChromiumSession } from '../browser/chromium.js';
import { createLan, type Lan, type LanHost } from '../harness/lan.js';
import { ENTRY, eventually, startProcess, type Proc } from '../harness/process.js';
import { edgeBox, scenarioDir, startCloudProcess, startEdge } from '../harness/system.js';

type LanDevice = { serial: string; deviceClass: string; activated: boolean; pingLevel: string | null; network: { ipv4: string } };
type Spec = { class: string; model: string; serial: string; activated: boolean } & Record<string, unknown>;

const dir = scenarioDir('onsite');
const procs: Proc[] = [];
let lan: Lan;
let browser: ChromiumSession | null = null;
let cloud: Awaited<ReturnType<typeof startCloudProcess>>;
let client: ApiClient;
let login: { email: string; password: string };
let siteId: string;

const SERIAL = {
  nvr: 'DS-7608NI-K20820201111CCRRF12345678WCVU',
  camH265: 'DS-2CD2143G2-I20240101AACHE87654321',
  camPlain: 'DS-2CD1023G0-I20240101AACHE55443322',
  camActivated: 'DS-2CD2347G2-LU20240101AACHE11223344',
  switch: 'DS-3E0510P-E20230501AAWRK99887766',
  eiSwitch: 'DS-3E1510P-EI20230501AAWRK55667788',
  panel: 'Q12345678',
  camBrowser: 'DS-2CD2T47G2-L20240101AACHE99887711',
  acRouter: 'DS-3WR15X20240101AAWRK12121212',
  coreSwitch: 'DS-3E1510P-SI20240101AAWRK34343434',
  accessSwitch: 'DS-3E0510P-E20240101AAWRK56565656',
};

let specs: { host: LanHost; devices: (Spec & { ip: string })[] }[];

/**
 * A customer's LAN made of network namespaces: the edge box on one host, simulated devices on three others.
 * Discovery is real SADP multicast on that LAN only; the edge reaches the cloud over its own uplink.
 */
beforeAll(async () => {
  lan = await createLan({
    hosts: [{ name: 'edge', uplink: true }, { name: 'rack', addresses: 3 }, { name: 'shelf', addresses: 3 }, { name: 'closet', addresses: 2 }],
  });
  const rack = lan.host('rack');
  const shelf = lan.host('shelf');
  const closet = lan.host('closet');
  cloud = await startCloudProcess(dir, { host: lan.uplink!.rootIp });
  procs.push(cloud.proc);
  const device = (ip: string, d: Spec) => ({ ip, multicastInterface: ip, httpPort: 80, ...d });
  // Scenario 2 of seed-ch3a: round trips of 10, 120 and 260 ms map to green, yellow and red.
  specs = [
    {
      host: rack,
      devices: [
        device(rack.ips[0]!, { class: 'nvr', model: 'DS-7608NI-K2', serial: SERIAL.nvr, activated: false, latencyMs: 10, hdds: [{ status: 'new', hasData: false }, { status: 'ok', hasData: true }] }),
        device(rack.ips[1]!, { class: 'camera', model: 'DS-2CD2143G2-I', serial: SERIAL.camH265, activated: false, latencyMs: 120 }),
        device(rack.ips[2]!, { class: 'camera', model: 'DS-2CD1023G0-I', serial: SERIAL.camPlain, activated: false, capabilities: ['md2'] }),
        device(rack.ips[3]!, { class: 'camera', model: 'DS-2CD2347G2-LU', serial: SERIAL.camActivated, activated: true, password: 'Install-2026', latencyMs: 260 }),
      ],
    },
    {
      host: shelf,
      devices: [
        device(shelf.ips[0]!, { class: 'switch', model: 'DS-3E0510P-E', serial: SERIAL.switch, activated: false, dhcp: false }),
        device(shelf.ips[1]!, { class: 'switch', model: 'DS-3E1510P-EI', serial: SERIAL.eiSwitch, activated: false, dhcp: false, flags: { eiSeries: true } }),
        device(shelf.ips[2]!, { class: 'alarm_panel', model: 'DS-PWA96-M-WE', serial: SERIAL.panel, activated: false }),
        device(shelf.ips[3]!, { class: 'camera', model: 'DS-2CD2T47G2-L', serial: SERIAL.camBrowser, activated: false }),
      ],
    },
    {
      // The network closet: an AC router and the switches on its LAN ports, the core one's uplinks aggregated.
      host: closet,
      devices: [
        device(closet.ips[0]!, { class: 'ac_router', model: 'DS-3WR15X', serial: SERIAL.acRouter, activated: false }),
        device(closet.ips[1]!, { class: 'switch', model: 'DS-3E1510P-SI', serial: SERIAL.coreSwitch, activated: false, aggregation: [[9, 10]] }),
        device(closet.ips[2]!, { class: 'switch', model: 'DS-3E0510P-E', serial: SERIAL.accessSwitch, activated: false, poePorts: 4 }),
      ],
    },
  ];
  for (const { host, devices } of specs) {
    procs.push(
      await startProcess({ name: `sims-${host.name}`, entry: ENTRY.sim, args: ['lan', '--spec-json', JSON.stringify({ devices })], netns: host.ns, logDir: dir, ready: (l) => l.ready === true }),
    );
  }
  const company = await registerCompany(`${cloud.url}/api/v1`, 'On-site Installers');
  client = company.client;
  login = company;
  siteId = (await client.post<{ id: string }>('/sites', { name: 'Warehouse', type: 'team', timeZone: 'Europe/Madrid' })).body.id;
  const box = edgeBox(dir, cloud.url, [], 'unused');
  box.env.VIGIL_EDGE_LAN_INTERFACE_IP = lan.host('edge').ip;
  box.env.VIGIL_EDGE_LAN_INTERVAL_MS = '500';
  procs.push(await startEdge(dir, box, 'edge', lan.host('edge').ns));
  expect((await client.post(`/sites/${siteId}/edges`, { serial: box.serial, verificationCode: box.code })).status).toBe(201);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await lan?.destroy();
  await cloud?.dropDatabase();
});

const lanList = () => client.get<{ items: LanDevice[] }>(`/sites/${siteId}/lan`);

/** A simulated device's own view of itself, read from inside its namespace. */
async function simState(serial: string): Promise<Record<string, unknown>> {
  const spec = specs.flatMap((s) => s.devices.map((d) => ({ host: s.host, d }))).find((x) => x.d.serial === serial)!;
  const { stdout } = await lan.exec(spec.host.name, [
    process.execPath,
    '-e',
    `fetch('http://${spec.d.ip}:80/__sim/state').then(r => r.text()).then(t => process.stdout.write(t))`,
  ]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('on-site discovery through the edge box, on a LAN of network namespaces', () => {
  it('finds every simulated device with its activation state and ping level, and shows them in the portal', async () => {
    const all = specs.flatMap((s) => s.devices);
    const listed = await eventually(lanList, (r) => r.body.items?.length === all.length && r.body.items.every((d) => d.pingLevel !== null), 'every device discovered', 60_000);
    const bySerial = new Map(listed.body.items.map((d) => [d.serial, d]));
    for (const d of all) {
      const seen = bySerial.get(d.serial);
      expect(seen, d.serial).toBeDefined();
      expect(seen!.network.ipv4).toBe(d.ip);
      expect(seen!.activated).toBe(d.activated);
      expect(seen!.deviceClass).toBe(d.class);
    }
    // The edge keeps the best of its last rounds, so a busy machine's hiccup settles within a few rounds.
    const levels = () => lanList().then((r) => [SERIAL.nvr, SERIAL.camH265, SERIAL.camActivated].map((s) => r.body.items.find((d) => d.serial === s)?.pingLevel));
    expect(await eventually(levels, (l) => l.join() === 'green,yellow,red', 'ping levels green, yellow, red', 30_000)).toEqual(['green', 'yellow', 'red']);

    // The On-site page: the not-activated list leaves the alarm panel out (scenario 1 of seed-ch3a).
    browser = await launchChromium({ baseURL: cloud.url });
    const { page } = browser;
    await signIn(page, login);
    await page.goto(`/sites/${siteId}/on-site`);
    await page.getByRole('heading', { name: 'On-site devices' }).waitFor();
    const banner = page.getByRole('region', { name: '9 devices on the LAN are not activated' });
    await banner.waitFor();
    expect(await banner.textContent()).not.toContain(SERIAL.panel);
    await page.getByRole('img', { name: /^Ping \d+(\.\d+)? ms, poor/ }).waitFor();
    expect(await page.getByRole('row').filter({ hasText: SERIAL.panel }).textContent()).toContain('Not activated');
  });
});

type Job = { id: string; state: string; items: { serial: string; result: string; steps: Record<string, { state: string; message: string }> }[] };

describe('batch activation and initialization through the edge box (Table 3-2)', () => {
  it('refuses a weak device password, an activated device and an alarm panel, changing nothing', async () => {
    await eventually(lanList, (r) => r.body.items?.length === specs.flatMap((s) => s.devices).length, 'every device discovered', 60_000);
    const weak = await client.post<{ code: string }>(`/sites/${siteId}/onsite/activations`, { serials: [SERIAL.nvr], password: 'password', verificationCode: 'VRF2026A' });
    expect(weak.status).toBe(400);
    expect(weak.body.code).toBe('DEVICE_PASSWORD_POLICY');
    const again = await client.post<{ code: string }>(`/sites/${siteId}/onsite/activations`, { serials: [SERIAL.camActivated], password: 'Install-2026', verificationCode: 'VRF2026A' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DEVICE_ALREADY_ACTIVATED');
    const panel = await client.post<{ code: string }>(`/sites/${siteId}/onsite/activations`, { serials: [SERIAL.panel], password: 'Install-2026', verificationCode: 'VRF2026A' });
    expect(panel.body.code).toBe('NOT_SADP_INITIALIZABLE');
    expect((await simState(SERIAL.nvr)).activated).toBe(false);
  });

  it('activates an NVR, cameras and switches and applies each class its initialization', async () => {
    const serials = [SERIAL.nvr, SERIAL.camH265, SERIAL.camPlain, SERIAL.switch, SERIAL.eiSwitch];
    const started = await client.post<Job>(`/sites/${siteId}/onsite/activations`, { serials, password: 'Install-2026', verificationCode: 'VRF2026A', saveAsDefaults: true });
    expect(started.status).toBe(202);
    const job = await eventually(() => client.get<Job>(`/sites/${siteId}/onsite/activations/${started.body.id}`), (r) => r.body.state === 'done', 'the job done', 90_000);
    expect(job.body.items.map((i) => [i.serial, i.result]).sort()).toEqual(serials.map((s) => [s, 'succeeded']).sort());

    const [nvr, camH265, camPlain, sw, ei] = await Promise.all(serials.map(simState));
    for (const s of [nvr, camH265, camPlain, sw, ei]) expect(s!.activated).toBe(true);
    // Configure network: NVR DHCP on, cameras off, switches except EI-series on, EI-series as it was.
    expect((nvr!.network as { dhcp: boolean }).dhcp).toBe(true);
    expect((camH265!.network as { dhcp: boolean }).dhcp).toBe(false);
    expect((sw!.network as { dhcp: boolean }).dhcp).toBe(true);
    expect((ei!.network as { dhcp: boolean }).dhcp).toBe(false);
    // Disks: the new one initialized, the one holding data never formatted.
    const hdds = nvr!.hdds as { id: number; status: string; hasData: boolean }[];
    expect(hdds[0]!.status).toBe('ok');
    expect(hdds[1]).toMatchObject({ status: 'ok', hasData: true });
    expect(job.body.items.find((i) => i.serial === SERIAL.nvr)!.steps.storage!.message).toMatch(/data/i);
    // Cameras: Motion Detection 2.0 on the whole image with Notify Surveillance Center; H.265+ only where supported.
    for (const cam of [camH265, camPlain]) expect(cam!.motionDetection).toMatchObject({ enabled: true, wholeImage: true, notifySurveillanceCenter: true });
    expect(camH265!.videoCodec).toBe('Smart H.265+');
    expect(camPlain!.videoCodec).toBe('H.264');
    // Hik-Connect on where supported; the cameras became the NVR's channels.
    expect((camH265!.hikConnect as { enabled: boolean }).enabled).toBe(true);
    expect((nvr!.hikConnect as { enabled: boolean }).enabled).toBe(true);
    const channelIps = (nvr!.channels as { ipAddress: string }[]).map((c) => c.ipAddress).sort();
    expect(channelIps).toEqual([specs[0]!.devices[1]!.ip, specs[0]!.devices[2]!.ip].sort());
    // The LAN view follows: they are activated now.
    await eventually(lanList, (r) => serials.every((s) => r.body.items.find((d) => d.serial === s)?.activated === true), 'activation seen by discovery', 30_000);
  });
});

describe('the On-site page in Chromium', () => {
  it('activates a discovered camera and shows its initialization step by step', async () => {
    const { page } = browser!;
    await page.goto(`/sites/${siteId}/on-site`);
    await page.getByRole('button', { name: `Activate ${SERIAL.camBrowser}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Activate devices' });
    // The defaults saved by the batch activation above are offered first.
    await dialog.getByRole('radio', { name: 'Set a password for these devices' }).check();
    await dialog.getByLabel('Device password', { exact: true }).fill('short');
    await dialog.getByLabel('Confirm device password').fill('short');
    await dialog.getByLabel('Verification code', { exact: true }).fill('VRF2026B');
    await dialog.getByRole('button', { name: 'Activate' }).click();
    await expect.poll(() => dialog.textContent()).toMatch(/8 to 16 characters/);
    await dialog.getByLabel('Device password', { exact: true }).fill('Browser-2026');
    await dialog.getByLabel('Confirm device password').fill('Browser-2026');
    await dialog.getByRole('button', { name: 'Activate' }).click();
    const progress = page.getByRole('region', { name: 'Device initialization' });
    await progress.getByText('1 of 1 device initialized').waitFor({ timeout: 60_000 });
    const steps = progress.getByRole('table', { name: `Initialization steps of ${SERIAL.camBrowser}` });
    expect(await steps.getByRole('row').filter({ hasText: 'Camera settings' }).textContent()).toContain('Done');
    expect(await steps.getByRole('row').filter({ hasText: 'Add to NVR' }).textContent()).toContain('Skipped');
    expect((await simState(SERIAL.camBrowser)).activated).toBe(true);
  });

  it('adds the initialized devices to the site, where they are online', async () => {
    const { page } = browser!;
    // Wait until discovery has seen the activations (the server adds only what the edge sees activated).
    const addable = [SERIAL.nvr, SERIAL.camH265, SERIAL.camPlain, SERIAL.switch];
    await eventually(lanList, (r) => addable.every((s) => r.body.items.find((d) => d.serial === s)?.activated), 'activations seen', 30_000);
    await page.goto(`/sites/${siteId}/on-site`);
    for (const serial of addable) await page.getByRole('checkbox', { name: `Select ${serial}` }).check();
    await page.getByRole('button', { name: 'Add to site' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add devices to a site' });
    await dialog.getByRole('radio', { name: /^This site/ }).check();
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByText('4 devices added to Warehouse').waitFor();

    type Device = { serial: string; status: string; accessMode: string; channels: number };
    const devices = await eventually(
      () => client.get<{ items: Device[] }>(`/sites/${siteId}/devices`),
      (r) => addable.every((s) => r.body.items.find((d) => d.serial === s)?.status === 'online'),
      'the added devices online in the site',
    );
    expect(devices.body.items.find((d) => d.serial === SERIAL.nvr)).toMatchObject({ accessMode: 'p2p', channels: 8 });
    // The same device cannot be added twice (the other refusals are in cloud/src/onsite/add.test.ts).
    const twice = await client.post<{ code: string }>(`/sites/${siteId}/onsite/add`, { serials: [SERIAL.nvr] });
    expect(twice.body.code).toBe('DEVICE_ALREADY_ADDED');
  });
});

describe('other on-site operations through the edge box', () => {
  it('edits a camera\'s IP settings and restores a switch to factory settings', async () => {
    const cam = specs[0]!.devices[2]!;
    const newIp = cam.ip.replace(/\.(\d+)$/, (_m, last: string) => `.${(Number(last) + 100) % 250}`);
    const edit = await client.post<{ results: { serial: string; ok: boolean }[] }>(`/sites/${siteId}/onsite/operations`, {
      operation: 'editNetwork',
      serials: [SERIAL.camPlain],
      useDefaults: true,
      networks: { [SERIAL.camPlain]: { dhcp: false, ipv4: newIp, mask: '255.255.255.0' } },
    });
    expect(edit.status).toBe(200);
    expect(edit.body.results).toEqual([expect.objectContaining({ serial: SERIAL.camPlain, ok: true })]);
    expect((await simState(SERIAL.camPlain)).network).toMatchObject({ dhcp: false, ipv4: newIp });
    // A mask outside the recommended list is refused before anything is sent.
    const bad = await client.post<{ code: string }>(`/sites/${siteId}/onsite/operations`, {
      operation: 'editNetwork',
      serials: [SERIAL.camH265],
      useDefaults: true,
      networks: { [SERIAL.camH265]: { dhcp: false, ipv4: newIp, mask: '255.255.255.1' } },
    });
    expect(bad.body.code).toBe('INVALID_NETWORK_SETTINGS');

    const restore = await client.post<{ results: { ok: boolean }[] }>(`/sites/${siteId}/onsite/operations`, { operation: 'restore', serials: [SERIAL.switch], useDefaults: true });
    expect(restore.body.results[0]?.ok).toBe(true);
    await eventually(lanList, (r) => r.body.items.find((d) => d.serial === SERIAL.switch)?.activated === false, 'the restored switch seen as not activated', 30_000);
  });
});

type SwitchVlans = { vlans: number[]; ports: { port: number; mode: string; pvid: number; allowedVlans: number[] }[] };
type OperationReply = { results: { serial: string; ok: boolean; message: string }[]; code?: string; message?: string };

describe('network devices: AC router and switches (scenario 15 of seed-ch3a)', () => {
  const network = [SERIAL.acRouter, SERIAL.coreSwitch, SERIAL.accessSwitch];
  const vlanOf = async (serial: string) => (await simState(serial)).vlan as SwitchVlans;
  const configure = (serials: string[], vlan: unknown) =>
    client.post<OperationReply>(`/sites/${siteId}/onsite/operations`, { operation: 'vlan', serials, password: 'Install-2026', vlan });

  it('"Activate All" sets the account on the AC router and both switches, the verification code on the switches only', async () => {
    const started = await client.post<Job>(`/sites/${siteId}/onsite/activations`, { serials: network, password: 'Install-2026', verificationCode: 'VRF2026C' });
    expect(started.status).toBe(202);
    const job = await eventually(() => client.get<Job>(`/sites/${siteId}/onsite/activations/${started.body.id}`), (r) => r.body.state === 'done', 'the job done', 60_000);
    expect(job.body.items.map((i) => [i.serial, i.result]).sort()).toEqual(network.map((s) => [s, 'succeeded']).sort());

    const [ac, core, access] = await Promise.all(network.map(simState));
    for (const s of [ac, core, access]) {
      expect(s).toMatchObject({ activated: true, username: 'admin', password: 'Install-2026' });
      // Hik-Connect on everywhere: the AC router needs no verification code for it.
      expect((s!.hikConnect as { enabled: boolean }).enabled).toBe(true);
    }
    expect(ac!.verificationCode).toBeNull();
    expect(core!.verificationCode).toBe('VRF2026C');
    expect(access!.verificationCode).toBe('VRF2026C');

    // The AC router belongs on a personal site; this one is a team site.
    await eventually(lanList, (r) => network.every((s) => r.body.items.find((d) => d.serial === s)?.activated === true), 'activation seen by discovery', 30_000);
    const team = await client.post<{ code: string }>(`/sites/${siteId}/onsite/add`, { serials: [SERIAL.acRouter] });
    expect(team.status).toBe(422);
    expect(team.body.code).toBe('AC_ROUTER_TEAM_SITE');
  });

  it('adds a VLAN and an access port on both switches; refuses VLAN 4095 and a port of an aggregation group, changing nothing', async () => {
    const switches = [SERIAL.coreSwitch, SERIAL.accessSwitch];
    const added = await configure(switches, { addVlans: [20], ports: [{ port: 3, mode: 'ACCESS', pvid: 20 }] });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body.results).toEqual(switches.map((serial) => ({ serial, ok: true, message: 'VLAN 20 added; port 3: ACCESS on VLAN 20' })));
    for (const serial of switches) {
      const v = await vlanOf(serial);
      expect(v.vlans).toEqual([1, 20]);
      expect(v.ports.find((p) => p.port === 3)).toMatchObject({ mode: 'ACCESS', pvid: 20 });
    }

    // VLAN 4095 is reserved: the cloud refuses it before the edge box or the switch hears of it.
    const before = await simState(SERIAL.coreSwitch);
    const reserved = await configure([SERIAL.coreSwitch], { addVlans: [4095], ports: [] });
    expect(reserved.status).toBe(422);
    expect(reserved.body.code).toBe('INVALID_VLAN_SETTINGS');
    expect(reserved.body.message).toContain('4095 is reserved');
    const after = await simState(SERIAL.coreSwitch);
    expect((after.counters as { http: number }).http).toBe((before.counters as { http: number }).http);

    // Ports 9 and 10 of the core switch are one aggregation group: the switch itself refuses, as a whole.
    const aggregated = await configure([SERIAL.coreSwitch], { addVlans: [30], ports: [{ port: 9, mode: 'TRUNK', pvid: 1, allowedVlans: [1, 20, 30] }] });
    expect(aggregated.status).toBe(200);
    expect(aggregated.body.results).toEqual([{ serial: SERIAL.coreSwitch, ok: false, message: expect.stringContaining('port 9 is in aggregation group 1') }]);
    expect(await vlanOf(SERIAL.coreSwitch)).toEqual(before.vlan);
  });

  it('configures a VLAN from the On-site page and shows the switch result', async () => {
    const { page } = browser!;
    await page.goto(`/sites/${siteId}/on-site`);
    await page.getByRole('row').filter({ hasText: SERIAL.accessSwitch }).locator('summary').click();
    await page.getByRole('button', { name: `VLAN of ${SERIAL.accessSwitch}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Configure VLANs' });
    await dialog.getByLabel('VLAN IDs to add').fill('30');
    await dialog.getByLabel('Port', { exact: true }).fill('4');
    await dialog.getByLabel('PVID').fill('30');
    await dialog.getByRole('button', { name: 'Save VLAN settings' }).click();
    await page.getByRole('region', { name: 'VLAN results' }).getByText('1 of 1 device configured').waitFor();
    expect((await vlanOf(SERIAL.accessSwitch)).ports.find((p) => p.port === 4)).toMatchObject({ mode: 'ACCESS', pvid: 30 });
  });
});

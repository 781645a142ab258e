import { afterAll, describe, expect, it } from 'vitest';
import { registerCompany } from '@vigil/cloud/testing';
import { launchChromium, type ChromiumSession } from '../browser/chromium.js';
import { createLan, type Lan } from '../harness/lan.js';
import { ENTRY, eventually, startProcess, type Proc } from '../harness/process.js';
import { edgeBox, scenarioDir, startCloudProcess, startEdge } from '../harness/system.js';

type LanDevice = { serial: string; deviceClass: string; activated: boolean; pingMs: number | null; pingLevel: string | null; network: { ipv4: string; dhcp: boolean } };

const dir = scenarioDir('onsite');
const procs: Proc[] = [];
let lan: Lan | null = null;
let browser: ChromiumSession | null = null;
let dropDatabase: () => Promise<void> = async () => {};
afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await lan?.destroy();
  await dropDatabase();
});

/**
 * A customer's LAN made of network namespaces: the edge box on one host, simulated devices on two others.
 * Discovery is real SADP multicast on that LAN only; the edge reaches the cloud over its own uplink.
 */
describe('on-site discovery through the edge box, on a LAN of network namespaces', () => {
  it('finds every simulated device with its activation state and ping level, and shows them in the portal', async () => {
    lan = await createLan({ hosts: [{ name: 'edge', uplink: true }, { name: 'rack', addresses: 2 }, { name: 'shelf', addresses: 1 }] });
    const rack = lan.host('rack');
    const shelf = lan.host('shelf');
    const cloud = await startCloudProcess(dir, { host: lan.uplink!.rootIp });
    procs.push(cloud.proc);
    dropDatabase = cloud.dropDatabase;

    // Scenario 2 of seed-ch3a (ping levels): injected round trips of 10, 120 and 260 ms.
    type Spec = { class: string; model: string; serial: string; activated: boolean } & Record<string, unknown>;
    const device = (ip: string, d: Spec) => ({ ip, multicastInterface: ip, httpPort: 80, ...d });
    const rackSpec = {
      devices: [
        device(rack.ips[0]!, { class: 'nvr', model: 'DS-7608NI-K2/8P', serial: 'DS-7608NI-K20820201111CCRRF12345678WCVU', activated: false, latencyMs: 10, flags: { poe: true } }),
        device(rack.ips[1]!, { class: 'camera', model: 'DS-2CD2143G2-I', serial: 'DS-2CD2143G2-I20240101AACHE87654321', activated: false, latencyMs: 120 }),
        device(rack.ips[2]!, { class: 'camera', model: 'DS-2CD2347G2-LU', serial: 'DS-2CD2347G2-LU20240101AACHE11223344', activated: true, password: 'Install-2026', latencyMs: 260 }),
      ],
    };
    const shelfSpec = {
      devices: [
        device(shelf.ips[0]!, { class: 'switch', model: 'DS-3E1510P-EI', serial: 'DS-3E1510P-EI20230501AAWRK55667788', activated: false, flags: { eiSeries: true } }),
        device(shelf.ips[1]!, { class: 'alarm_panel', model: 'DS-PWA96-M-WE', serial: 'Q12345678', activated: false }),
      ],
    };
    for (const [host, spec] of [[rack, rackSpec], [shelf, shelfSpec]] as const) {
      procs.push(
        await startProcess({ name: `sims-${host.name}`, entry: ENTRY.sim, args: ['lan', '--spec-json', JSON.stringify(spec)], netns: host.ns, logDir: dir, ready: (l) => l.ready === true }),
      );
    }

    const { client, email, password } = await registerCompany(`${cloud.url}/api/v1`, 'On-site Installers');
    const site = await client.post<{ id: string }>('/sites', { name: 'Warehouse', type: 'team', timeZone: 'Europe/Madrid' });
    const box = edgeBox(dir, cloud.url, [], 'unused');
    box.env.VIGIL_EDGE_LAN_INTERFACE_IP = lan.host('edge').ip;
    box.env.VIGIL_EDGE_LAN_INTERVAL_MS = '500';
    const edge = await startEdge(dir, box, 'edge', lan.host('edge').ns);
    procs.push(edge);
    expect((await client.post(`/sites/${site.body.id}/edges`, { serial: box.serial, verificationCode: box.code })).status).toBe(201);

    const all = [...rackSpec.devices, ...shelfSpec.devices];
    const listed = await eventually(
      () => client.get<{ items: LanDevice[] }>(`/sites/${site.body.id}/lan`),
      (r) => r.body.items?.length === all.length && r.body.items.every((d) => d.pingLevel !== null),
      'every simulated device discovered with a ping',
      60_000,
    );
    const bySerial = new Map(listed.body.items.map((d) => [d.serial, d]));
    for (const d of all) {
      const seen = bySerial.get(d.serial);
      expect(seen, d.serial).toBeDefined();
      expect(seen!.network.ipv4).toBe(d.ip);
      expect(seen!.activated).toBe(d.activated);
      expect(seen!.deviceClass).toBe(d.class);
    }
    const level = (serial: string) => bySerial.get(serial)!.pingLevel;
    expect(level('DS-7608NI-K20820201111CCRRF12345678WCVU')).toBe('green');
    expect(level('DS-2CD2143G2-I20240101AACHE87654321')).toBe('yellow');
    expect(level('DS-2CD2347G2-LU20240101AACHE11223344')).toBe('red');

    // The portal's On-site page: the not-activated list leaves the alarm panel out (scenario 1 of seed-ch3a).
    browser = await launchChromium({ baseURL: cloud.url });
    const { page } = browser;
    await page.goto('/login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'New site' }).waitFor();
    await page.goto(`/sites/${site.body.id}/on-site`);
    await page.getByRole('heading', { name: 'On-site devices' }).waitFor();
    const banner = page.getByRole('region', { name: '3 devices on the LAN are not activated' });
    await banner.waitFor();
    expect(await banner.textContent()).not.toContain('Q12345678');
    await page.getByRole('img', { name: /^Ping \d+(\.\d+)? ms, poor/ }).waitFor();
    expect(await page.getByRole('row').filter({ hasText: 'Q12345678' }).textContent()).toContain('Not activated');
  });
});

#!/usr/bin/env node
/**
 * `npm start`: the cloud (embedded PostgreSQL, embedded broker), one edge box and a small simulated site,
 * with a demo company signed up and the box added to its site. State lives in .vigil/demo, so a second
 * start finds everything as it was left.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ApiClient } from '@vigil/cloud/testing';
import { authenticateThroughVendor } from './harness/company.js';
import { ENTRY, ROOT, startProcess, type Proc } from './harness/process.js';

const DEMO = {
  company: 'Demo Security Ltd',
  email: 'demo@vigil.example',
  password: 'Watch-over-2026',
  site: 'Demo site: corner shop',
  edgeSerial: 'VGDEMO0001',
  edgeCode: 'DEMO2026',
  cameraPassword: 'Cam-pass-2024',
  /** The platform operator, who reviews companies' authentications and keeps the region matrix. */
  vendor: { email: 'vendor@vigil.example', password: 'Operate-2026' },
};
const home = join(ROOT, '.vigil/demo');
const logDir = join(home, 'logs');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A UDP port nobody uses right now (the demo's LAN simulators answer discovery there, on loopback only). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The customer's LAN of the demo: devices waiting to be activated, on loopback. */
const demoLan = (sadpPort: number, wsdPort: number) => ({
  multicast: false,
  sadpPort,
  wsdPort,
  devices: [
    { class: 'nvr', model: 'DS-7608NI-K2', serial: 'DS-7608NI-K20820261101CCRRD00000001WCVU', activated: false, hdds: [{ status: 'new' }, { status: 'ok', hasData: true }] },
    { class: 'camera', model: 'DS-2CD2143G2-I', serial: 'DS-2CD2143G2-I20261101AACHD00000002', activated: false, latencyMs: 20 },
    { class: 'camera', model: 'DS-2CD2386G2-IU', serial: 'DS-2CD2386G2-IU20261101AACHD00000003', activated: false, latencyMs: 80 },
    { class: 'switch', model: 'DS-3E0510P-E', serial: 'DS-3E0510P-E20261101AAWRD00000004', activated: false },
    { class: 'alarm_panel', model: 'DS-PWA96-M-WE', serial: 'Q00000005', activated: false },
  ],
});

async function main(): Promise<void> {
  const wanted = Number(process.env.VIGIL_HTTP_PORT ?? 8080);
  const port = (await portFree(wanted)) ? wanted : 0;
  const procs: Proc[] = [];
  const stopAll = async () => {
    for (const p of procs.reverse()) await p.stop();
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  console.log('Starting the cloud (first start prepares its embedded database; this takes a few seconds)...');
  const cloud = await startProcess({
    name: 'cloud',
    entry: ENTRY.cloud,
    logDir,
    env: {
      VIGIL_HTTP_PORT: String(port),
      VIGIL_DATA_DIR: join(home, 'cloud'),
      DATABASE_URL: process.env.DATABASE_URL ?? '',
      VIGIL_VENDOR_ADMIN_EMAIL: DEMO.vendor.email,
      VIGIL_VENDOR_ADMIN_PASSWORD: DEMO.vendor.password,
    },
    ready: (l) => l.ready === true,
    timeoutMs: 120_000,
  });
  procs.push(cloud);
  const url = String(cloud.lines.find((l) => l.ready)!.url);
  const api = new ApiClient(`${url}/api/v1`);

  const cams = await startProcess({
    name: 'cameras',
    entry: ENTRY.sim,
    // PTZ heads and a microphone, so live view shows the PTZ pad and carries sound.
    args: ['cameras', '--count', '3', '--serial-prefix', 'DEMOCAM', '--password', DEMO.cameraPassword, '--ptz', '--audio'],
    logDir,
    ready: (l) => l.ready === true,
  });
  procs.push(cams);
  const cameras = cams.lines.find((l) => l.ready)!.cameras as { serial: string; host: string; http: number; discovery: number }[];
  const [sadpPort, wsdPort] = [await freeUdpPort(), await freeUdpPort()];
  procs.push(
    await startProcess({ name: 'lan-devices', entry: ENTRY.sim, args: ['lan', '--spec-json', JSON.stringify(demoLan(sadpPort, wsdPort))], logDir, ready: (l) => l.ready === true }),
  );

  // Sign in, or sign the demo company up on the first start.
  let login = await api.post('/auth/login', { email: DEMO.email, password: DEMO.password });
  if (login.status === 401) {
    const registered = await api.post('/companies', {
      company: { name: DEMO.company, type: 'installer', countryCode: 'GB' },
      admin: { name: 'Demo Installer', email: DEMO.email, password: DEMO.password },
    });
    if (registered.status !== 201) throw new Error(`demo sign-up failed: ${JSON.stringify(registered.body)}`);
    login = registered;
  }
  if (login.status !== 200 && login.status !== 201) throw new Error(`demo sign-in failed: ${JSON.stringify(login.body)}`);
  // Value-added services (the demo's cloud storage) are for authenticated companies: the vendor admin approves the demo's.
  await authenticateThroughVendor(`${url}/api/v1`, api, DEMO.vendor);
  const sites = await api.get<{ items: { id: string; name: string }[] }>(`/sites?search=${encodeURIComponent('corner shop')}`);
  const siteId =
    sites.body.items.find((s) => s.name === DEMO.site)?.id ??
    (await api.post<{ id: string }>('/sites', { name: DEMO.site, type: 'personal', timeZone: 'Europe/London', address: '1 High Street' })).body.id;

  const edge = await startProcess({
    name: 'edge',
    entry: ENTRY.edge,
    logDir,
    env: {
      VIGIL_EDGE_SERIAL: DEMO.edgeSerial,
      VIGIL_EDGE_VERIFICATION_CODE: DEMO.edgeCode,
      VIGIL_CLOUD_URL: url,
      VIGIL_EDGE_DATA_DIR: join(home, 'edge'),
      VIGIL_EDGE_PROBE_TARGETS: cameras.map((c) => `${c.host}:${c.discovery}`).join(','),
      VIGIL_EDGE_DEVICE_PASSWORD: DEMO.cameraPassword,
      VIGIL_EDGE_DISCOVERY_INTERVAL_MS: '3000',
      VIGIL_EDGE_SADP_TARGETS: `127.0.0.1:${sadpPort}`,
    },
    ready: (l) => l.event === 'connected',
  });
  procs.push(edge);
  const edges = await api.get<{ items: { serial: string }[] }>(`/sites/${siteId}/edges`);
  if (!edges.body.items.some((e) => e.serial === DEMO.edgeSerial)) {
    const added = await api.post(`/sites/${siteId}/edges`, { serial: DEMO.edgeSerial, verificationCode: DEMO.edgeCode });
    if (added.status !== 201) throw new Error(`adding the demo edge box failed: ${JSON.stringify(added.body)}`);
  }
  await edge.waitFor((l) => l.event === 'connected' && l.mode === 'edge', 'the edge box online');
  const recording = await demoCloudStorage(api, siteId, cameras);

  console.log(`
Vigil is running.
  Portal:    ${url}
  Sign in:   ${DEMO.email} / ${DEMO.password}
             (the platform operator: ${DEMO.vendor.email} / ${DEMO.vendor.password})
  Edge box:  ${DEMO.edgeSerial} (verification code ${DEMO.edgeCode}) at "${DEMO.site}", with 3 simulated cameras
             (the site's Live view tab plays them through the box); its On-site page lists 5 more devices on
             the LAN waiting to be activated (the NVR among them has recordings for the Playback tab once added)
  Clips:     ${recording ? `"${recording.name}" records motion to Cloud Storage (the site's Events tab); make motion with
               curl -X POST -H 'content-type: application/json' -d '{"motion":true}' http://${recording.control}/__sim/control
             and '{"motion":false}' to end it` : 'the cameras were not online in time; Cloud Storage is set up on the next start'}
  Customers: a site's Handover tab offers it to a customer by email, text message or a QR code shown on the tab; a
             message is written to ${join(home, 'cloud', 'mail')} (or ${join(home, 'cloud', 'sms')}), and its link lets the
             customer create an account, accept, and answer the installer's permission requests
             (${url}/customer/register to sign up first)
  Logs:      ${logDir}
Press Ctrl+C to stop.${port === 0 ? `\n(Port ${wanted} was taken, so the portal uses port ${new URL(url).port}.)` : ''}`);
}

/**
 * Cloud Storage on the first camera: a package for the demo company (an order, as no payment provider is set up),
 * motion with Notify Surveillance Center, the service activated. Left as it is when already active.
 */
async function demoCloudStorage(
  api: ApiClient,
  siteId: string,
  cameras: { serial: string; host: string; http: number }[],
): Promise<{ name: string; control: string } | null> {
  type Device = { id: string; name: string; serial: string; status: string };
  let first: Device | undefined;
  for (let i = 0; i < 60 && !first; i++) {
    const devices = await api.get<{ items: Device[] }>(`/sites/${siteId}/devices`);
    first = devices.body.items.filter((d) => d.serial.startsWith('DEMOCAM') && d.status === 'online').sort((a, b) => a.serial.localeCompare(b.serial))[0];
    if (!first) await new Promise((r) => setTimeout(r, 1000));
  }
  if (!first) return null;
  const state = await api.get<{ channels: { service: { state: string } }[] }>(`/devices/${first.id}/cloud-storage`);
  if (state.body.channels?.[0]?.service.state !== 'active') {
    const packages = await api.get<{ items: { id: string; channels: number; used: number; mode: string }[] }>('/cloud-storage/packages');
    const spare = packages.body.items.find((p) => p.mode === 'event' && p.used < p.channels);
    const packageId =
      spare?.id ?? (await api.post<{ id: string }>('/cloud-storage/packages', { retentionDays: 7, term: 'annual', mode: 'event', channels: 4 })).body.id;
    const settings = {
      enabled: true,
      stream: 'sub',
      triggers: { motion: { enabled: true, notifySurveillanceCenter: true } },
      schedule: null,
      preSeconds: 5,
      postSeconds: 10,
    };
    const saved = await api.call('PUT', `/devices/${first.id}/cloud-storage/channels/1`, settings);
    if (saved.status !== 200) throw new Error(`demo cloud storage settings failed: ${JSON.stringify(saved.body)}`);
    const activated = await api.post(`/devices/${first.id}/cloud-storage/channels/1/activate`, { packageId });
    if (activated.status !== 200) throw new Error(`demo cloud storage activation failed: ${JSON.stringify(activated.body)}`);
  }
  const sim = cameras.find((c) => c.serial === first.serial);
  return { name: first.name, control: sim ? `${sim.host}:${sim.http}` : '(the camera simulator)' };
}

main().catch((err: unknown) => {
  console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceHost, type SimDevice } from '@vigil/simulators';
import type { Device, ErrorReply } from '@vigil/protocol/api';
import { registerCompany, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { until } from '../testing/edge.js';

const PW = 'Wan-Mapped9';
let cloud: TestCloud;
let host: DeviceHost;
let installer: Awaited<ReturnType<typeof registerCompany>>;
let siteId: string;
let nvr: SimDevice;
let doorStation: SimDevice;
let panel: SimDevice;

beforeAll(async () => {
  // The simulated devices listen on loopback: this cloud may call private addresses.
  cloud = await startTestCloud({ VIGIL_ALLOW_PRIVATE_DEVICE_ADDRESSES: '1', VIGIL_IP_DOMAIN_POLL_SEC: '1' });
  host = new DeviceHost({
    sadpPort: 0,
    wsdPort: 0,
    multicast: false,
    devices: [
      { class: 'nvr', activated: true, password: PW, ipChannels: 16 },
      { class: 'access_control', activated: true, password: PW },
      { class: 'alarm_panel', activated: true, password: PW },
    ],
  });
  await host.start();
  [nvr, doorStation, panel] = host.devices as [SimDevice, SimDevice, SimDevice];
  installer = await registerCompany(cloud.api);
  siteId = (await installer.client.post<{ id: string }>('/sites', { name: 'Warehouse', type: 'team', timeZone: 'Europe/Paris', offlineDelaySec: 1 })).body.id;
});

afterAll(async () => {
  await host?.stop();
  await cloud?.stop();
});

const add = (body: Record<string, unknown>) => installer.client.post<Device & ErrorReply>(`/sites/${siteId}/devices/by-address`, body);
const login = (d: SimDevice, extra: Record<string, unknown> = {}) => ({ address: '127.0.0.1', port: d.endpoints.httpPort, username: 'admin', password: PW, ...extra });
const devices = async () => (await installer.client.get<{ items: Device[] }>(`/sites/${siteId}/devices`)).body.items;

describe('adding a device by IP/domain (scenario 8)', () => {
  it('refuses what is not an encoding device, a wrong password and an address with nothing behind it, adding nothing', async () => {
    for (const d of [doorStation, panel]) {
      const r = await add(login(d));
      expect(r.status).toBe(422);
      expect(r.body.code).toBe('ADD_METHOD_NOT_ALLOWED');
      expect(r.body.message).toMatch(/Only encoding devices/);
    }
    const wrong = await add(login(nvr, { password: 'Not-The-One1' }));
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe('DEVICE_LOGIN_FAILED');
    const nothing = await add(login(nvr, { port: 1 }));
    expect(nothing.status).toBe(422);
    expect(nothing.body.code).toBe('DEVICE_UNREACHABLE');
    expect(await devices()).toHaveLength(0);
  });

  it('adds an NVR by its domain name with IP/domain access: no handover, no cloud features, its channels counted', async () => {
    const r = await add(login(nvr, { address: 'localhost', name: 'Gatehouse NVR' }));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'Gatehouse NVR', serial: nvr.serial, kind: 'nvr', accessMode: 'ip_domain', edgeSerial: null, channels: 16, status: 'online' });
    expect(r.body.address).toBe(`localhost:${nvr.endpoints.httpPort}`);
    expect(r.body.features).toEqual({ handover: false, remoteConfiguration: false, healthMonitoring: false });
    // Added once only.
    const again = await add(login(nvr));
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DEVICE_ALREADY_ADDED');
  });

  it('polls the device: offline after the delay when it stops answering, online again when it answers', async () => {
    const id = (await devices()).find((d) => d.serial === nvr.serial)!.id;
    nvr.setReachable(false);
    await until(devices, (l) => l.find((d) => d.id === id)?.status === 'offline', 'the NVR offline', 15_000);
    nvr.setReachable(true);
    await until(devices, (l) => l.find((d) => d.id === id)?.status === 'online', 'the NVR online again', 15_000);
    const history = await installer.client.get<{ items: { state: string; reason: string }[] }>(`/devices/${id}/history`);
    expect(history.body.items.map((h) => h.state)).toEqual(expect.arrayContaining(['online', 'offline']));
  });

  it('keeps the login sealed: the API never returns the password', async () => {
    const list = await installer.client.get(`/sites/${siteId}/devices`);
    expect(JSON.stringify(list.body)).not.toContain(PW);
  });
});

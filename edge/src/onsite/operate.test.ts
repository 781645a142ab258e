import type { LanOperateParams } from '@vigil/protocol';
import { DeviceHost, type SimDevice, type SimDeviceOptions } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { quietLog } from '../test/util.js';
import { OnsiteJobs } from './jobs.js';
import { runLanOperation } from './operate.js';

const PW = 'Vigil2024pw';

const hosts: DeviceHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
});

async function lan(devices: SimDeviceOptions[]): Promise<DeviceHost> {
  const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices });
  hosts.push(host);
  await host.start();
  return host;
}

const target = (d: SimDevice, network?: LanOperateParams['devices'][number]['network']) => ({
  serial: d.serial,
  ip: d.ip,
  httpPort: d.endpoints.httpPort,
  ...(network ? { network } : {}),
});

describe('lan.operate', () => {
  it('reboots every device, one result each', async () => {
    const host = await lan([
      { class: 'camera', activated: true, password: PW },
      { class: 'nvr', activated: true, password: PW },
    ]);
    const [cam, nvr] = host.devices as [SimDevice, SimDevice];
    let reboots = 0;
    for (const d of host.devices) d.on('reboot', () => reboots++);
    const r = await runLanOperation({ operation: 'reboot', devices: [target(cam), target(nvr)], password: PW }, { requestTimeoutMs: 3_000 });
    expect(r.results).toEqual([
      { serial: cam.serial, ok: true, message: 'rebooting' },
      { serial: nvr.serial, ok: true, message: 'rebooting' },
    ]);
    await new Promise((res) => setTimeout(res, 50));
    expect(reboots).toBe(2);
  });

  it('restores a device to factory settings: unactivated', async () => {
    const host = await lan([{ class: 'camera', activated: true, password: PW }]);
    const cam = host.devices[0]!;
    const r = await runLanOperation({ operation: 'restore', devices: [target(cam)], password: PW }, { requestTimeoutMs: 3_000 });
    expect(r.results[0]).toMatchObject({ serial: cam.serial, ok: true });
    await new Promise((res) => setTimeout(res, 50));
    expect(cam.isActivated).toBe(false);
  });

  it('edits the network: a fixed address (recorded by the device) and DHCP', async () => {
    const host = await lan([
      { class: 'camera', activated: true, password: PW, dhcp: true },
      { class: 'nvr', activated: true, password: PW, dhcpLease: { ip: '127.0.0.1', mask: '255.0.0.0', gateway: '127.0.0.254' } },
    ]);
    const [cam, nvr] = host.devices as [SimDevice, SimDevice];
    const r = await runLanOperation(
      {
        operation: 'editNetwork',
        devices: [
          target(cam, { dhcp: false, ipv4: '10.99.0.5', mask: '255.255.255.0', gateway: '10.99.0.1', dns: '10.99.0.1' }),
          target(nvr, { dhcp: true }),
        ],
        password: PW,
      },
      { requestTimeoutMs: 3_000 },
    );
    expect(r.results.map((x) => x.ok)).toEqual([true, true]);
    expect(r.results[0]!.message).toContain('10.99.0.5');
    await new Promise((res) => setTimeout(res, 50));
    expect(cam.state.network).toEqual({ dhcp: false, ipv4: '10.99.0.5', mask: '255.255.255.0', gateway: '10.99.0.1', dns: '10.99.0.1' });
    expect(nvr.state.network).toMatchObject({ dhcp: true, ipv4: '127.0.0.1', mask: '255.0.0.0', gateway: '127.0.0.254' });
  });

  it('answers ok:false for a wrong password, a silent device, a busy device and a missing setting', async () => {
    const host = await lan([
      { class: 'camera', activated: true, password: 'Other1234x' },
      { class: 'camera', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW },
    ]);
    const [wrong, busy, noSettings] = host.devices as [SimDevice, SimDevice, SimDevice];
    const r = await runLanOperation(
      {
        operation: 'editNetwork',
        devices: [
          target(wrong, { dhcp: true }),
          target(busy, { dhcp: true }),
          target(noSettings),
          { serial: 'DS-GONE-0001', ip: '127.0.0.1', httpPort: 1, network: { dhcp: true } },
        ],
        password: PW,
      },
      { requestTimeoutMs: 2_000, busy: (s) => (s === busy.serial ? 'the device is busy in initialization job j1' : undefined) },
    );
    expect(r.results).toEqual([
      { serial: wrong.serial, ok: false, message: expect.stringContaining('wrong password') },
      { serial: busy.serial, ok: false, message: 'the device is busy in initialization job j1' },
      { serial: noSettings.serial, ok: false, message: 'no network settings given for this device' },
      { serial: 'DS-GONE-0001', ok: false, message: expect.stringContaining('not answering at 127.0.0.1:1') },
    ]);
    expect(busy.state.network.dhcp).toBe(false);
  });

  it('does not start devices once the deadline is too close', async () => {
    const host = await lan([{ class: 'camera', activated: true, password: PW }]);
    const cam = host.devices[0]!;
    let reboots = 0;
    cam.on('reboot', () => reboots++);
    const r = await runLanOperation({ operation: 'reboot', devices: [target(cam)], password: PW }, { deadline: Date.now() + 100 });
    expect(r.results[0]).toMatchObject({ ok: false, message: expect.stringContaining('deadline') });
    expect(reboots).toBe(0);
  });

  it('knows which devices an initialization job is working on', async () => {
    const host = await lan([{ class: 'camera', latencyMs: 100 }]);
    const cam = host.devices[0]!;
    const jobs = new OnsiteJobs({ send: () => Promise.resolve(), requestTimeoutMs: 3_000, settleTimeoutMs: 500, log: quietLog });
    const jobId = '3f1c2a4e-6b7d-4e8f-9a0b-1c2d3e4f5a6b';
    expect(
      jobs.start({
        jobId,
        devices: [{ serial: cam.serial, deviceClass: cam.deviceClass, ip: cam.ip, httpPort: cam.endpoints.httpPort, activated: false }],
        password: PW,
        verificationCode: 'ABCDEF12',
        timeZone: 'UTC',
      }),
    ).toBe(true);
    expect(jobs.busyWith(cam.serial)).toBe(jobId);
    const r = await runLanOperation({ operation: 'reboot', devices: [target(cam)], password: PW }, { busy: (s) => jobs.busyWith(s) });
    expect(r.results[0]).toEqual({ serial: cam.serial, ok: false, message: jobId });
    await jobs.stop();
    expect(jobs.busyWith(cam.serial)).toBeUndefined();
  });
});

describe('lan.operate on switch VLANs', () => {
  it('applies the batch on each switch and passes on a refusal in the device words', async () => {
    const host = await lan([
      { class: 'switch', activated: true, password: PW },
      { class: 'switch', activated: true, password: PW, aggregation: [[3, 4]] },
    ]);
    const [plain, aggregated] = host.devices as [SimDevice, SimDevice];
    const vlan = { addVlans: [20], ports: [{ port: 3, mode: 'ACCESS' as const, pvid: 20 }] };
    const r = await runLanOperation({ operation: 'vlan', devices: [target(plain), target(aggregated)], password: PW, vlan }, { requestTimeoutMs: 3_000 });
    expect(r.results).toEqual([
      { serial: plain.serial, ok: true, message: 'VLAN 20 added; port 3: ACCESS on VLAN 20' },
      { serial: aggregated.serial, ok: false, message: expect.stringContaining('port 3 is in aggregation group 1') },
    ]);
    expect(plain.state.vlan).toMatchObject({ vlans: [1, 20], ports: expect.arrayContaining([expect.objectContaining({ port: 3, pvid: 20 })]) });
    expect(aggregated.state.vlan?.vlans).toEqual([1]);
  });
});

import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { pingLevel, SADP_MULTICAST_GROUP, type DiscoveredDevice, type LanSnapshot } from '@vigil/protocol';
import { DeviceHost, type SimDeviceOptions } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { sadpState } from '../test/lan-fixtures.js';
import { LanReport, LanTracker, lanChanges, sadpRound, type SadpAnswer } from './index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Simulated devices on loopback, sharing one SADP port chosen by the OS; no multicast. */
async function lan(devices: SimDeviceOptions[]): Promise<{ host: DeviceHost; port: number }> {
  const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices });
  const endpoints = await host.start();
  cleanups.push(() => host.stop());
  return { host, port: endpoints[0]?.sadpPort ?? 0 };
}

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('sadpRound + LanTracker against simulated devices on loopback', () => {
  it('maps answer latencies of 30/120/250 ms to green/yellow/red and carries activation and network', async () => {
    const { host, port } = await lan([
      {
        class: 'camera',
        serial: 'SN-FAST',
        latencyMs: 30,
        activated: true,
        password: 'Abcd12345',
        ip: '192.168.1.10',
        listenIp: '127.0.0.1',
        dhcp: true,
        gateway: '192.168.1.1',
        dns: '192.168.1.1',
        firmware: 'V5.7.3 build 240101',
      },
      { class: 'nvr', serial: 'SN-MID', latencyMs: 120, ip: '127.0.0.1' },
      { class: 'switch', serial: 'SN-SLOW', latencyMs: 250, ip: '127.0.0.1' },
    ]);
    const tracker = new LanTracker();
    let snapshot: LanSnapshot = { devices: [], at: 0 };
    // Three devices behind one address, one probe: all three answer it. Three rounds: the ping shown is the
    // fastest of the last three answers.
    for (let i = 0; i < 3; i++) {
      const r = await sadpRound({ interfaceIp: '', targets: [{ host: '127.0.0.1', port }], windowMs: 400 });
      expect(r.errors).toEqual([]);
      expect(r.answers.map((a) => a.match.serial).sort()).toEqual(['SN-FAST', 'SN-MID', 'SN-SLOW']);
      for (const a of r.answers) expect(a.from).toEqual({ address: '127.0.0.1', port });
      snapshot = tracker.applyRound(r.answers, Date.now());
    }
    const by = new Map(snapshot.devices.map((d) => [d.serial, d]));
    const ping = (serial: string): number => by.get(serial)?.pingMs ?? -1;
    expect(ping('SN-FAST')).toBeGreaterThanOrEqual(29);
    expect(ping('SN-MID')).toBeGreaterThanOrEqual(119);
    expect(ping('SN-SLOW')).toBeGreaterThanOrEqual(249);
    expect(snapshot.devices.map((d) => [d.serial, d.deviceClass, d.pingMs === null ? null : pingLevel(d.pingMs)])).toEqual([
      ['SN-FAST', 'camera', 'green'],
      ['SN-MID', 'nvr', 'yellow'],
      ['SN-SLOW', 'switch', 'red'],
    ]);
    const fast = host.device('SN-FAST')?.endpoints;
    if (!fast) throw new Error('no SN-FAST');
    expect(by.get('SN-FAST')).toEqual({
      serial: 'SN-FAST',
      deviceClass: 'camera',
      model: fast.model,
      firmware: 'V5.7.3 build 240101',
      mac: fast.mac,
      network: { dhcp: true, ipv4: '192.168.1.10', mask: '255.255.255.0', gateway: '192.168.1.1', dns: '192.168.1.1' },
      httpPort: fast.httpPort,
      activated: true,
      channels: 1,
      pingMs: ping('SN-FAST'),
      via: 'sadp',
      lastSeenAt: by.get('SN-FAST')?.lastSeenAt ?? -1,
    } satisfies DiscoveredDevice);
    expect(by.get('SN-MID')).toMatchObject({ activated: false, network: { dhcp: false, ipv4: '127.0.0.1', gateway: '', dns: '' } });
  });

  it('leaves out targets that do not answer, and waits no longer than the window for them', async () => {
    const { host, port } = await lan([
      { class: 'camera', serial: 'SN-ALIVE', ip: '127.0.0.1' },
      { class: 'camera', serial: 'SN-MUTE', ip: '127.0.0.2', reachable: false },
    ]);
    const started = Date.now();
    const r = await sadpRound({
      interfaceIp: '',
      targets: [
        { host: '127.0.0.1', port },
        { host: '127.0.0.2', port },
        { host: '127.0.0.1', port: await deadPort() },
      ],
      windowMs: 300,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(r.answers.map((a) => a.match.serial)).toEqual(['SN-ALIVE']);
    expect(host.device('SN-MUTE')?.state.counters.sadpAnswers).toBe(0);
  });

  it('probes the multicast group out of the given interface (loopback here), one answer per device', async () => {
    const host = new DeviceHost({
      sadpPort: 0,
      wsdPort: 0,
      multicast: true,
      devices: [{ class: 'camera', serial: 'SN-MC', ip: '127.0.0.1', multicastInterface: '127.0.0.1', latencyMs: 10 }],
    });
    const [e] = await host.start();
    cleanups.push(() => host.stop());
    const port = e?.sadpPort ?? 0;
    const group = { host: SADP_MULTICAST_GROUP, port };
    const viaGroup = await sadpRound({ interfaceIp: '127.0.0.1', targets: [], windowMs: 300, group });
    expect(viaGroup.errors).toEqual([]);
    expect(viaGroup.answers.map((a) => [a.match.serial, a.from.port])).toEqual([['SN-MC', port]]);
    // Asked both ways in one round, the device still counts once.
    const both = await sadpRound({ interfaceIp: '127.0.0.1', targets: [{ host: '127.0.0.1', port }], windowMs: 300, group });
    expect(both.answers.map((a) => a.match.serial)).toEqual(['SN-MC']);
    expect(host.device('SN-MC')?.state.counters.sadpAnswers).toBe(3);
  });

  it('does nothing without an interface or targets', async () => {
    expect(await sadpRound({ interfaceIp: '', targets: [], windowMs: 10_000 })).toEqual({ answers: [], errors: [] });
  });
});

const answer = (serial: string, rttMs: number, at = 1, over: Partial<ReturnType<typeof sadpState>> = {}): SadpAnswer => ({
  match: { uuid: 'U', ...sadpState(serial, over) },
  rttMs,
  at,
  from: { address: '127.0.0.1', port: 1 },
});

describe('LanTracker', () => {
  it('shows the fastest of the last three answers and drops a device after three missed rounds', () => {
    const t = new LanTracker();
    const ping = (s: LanSnapshot, serial: string) => s.devices.find((d) => d.serial === serial)?.pingMs;
    expect(ping(t.applyRound([answer('A', 30.4), answer('B', 10)], 10), 'A')).toBe(30);
    expect(ping(t.applyRound([answer('A', 250), answer('B', 10)], 20), 'A')).toBe(30);
    expect(ping(t.applyRound([answer('A', 260), answer('B', 10)], 30), 'A')).toBe(30);
    // The 30 ms answer is now four rounds old.
    expect(ping(t.applyRound([answer('A', 255), answer('B', 10)], 40), 'A')).toBe(250);
    // B misses rounds: kept (with its last values) for two, gone on the third.
    const s1 = t.applyRound([answer('A', 255, 50)], 50);
    expect(s1.devices.map((d) => d.serial)).toEqual(['A', 'B']);
    expect(s1.devices[1]).toMatchObject({ serial: 'B', pingMs: 10, lastSeenAt: 1 });
    expect(t.applyRound([answer('A', 255)], 60).devices).toHaveLength(2);
    const s3 = t.applyRound([answer('A', 255)], 70);
    expect(s3).toMatchObject({ at: 70 });
    expect(s3.devices.map((d) => d.serial)).toEqual(['A']);
    // Back after being dropped: a new entry.
    expect(t.applyRound([answer('A', 255), answer('B', 99)], 80).devices.map((d) => [d.serial, d.pingMs])).toEqual([
      ['A', 255],
      ['B', 99],
    ]);
  });
});

describe('lanChanges / LanReport', () => {
  const snap = (devices: DiscoveredDevice[], at = 1): LanSnapshot => ({ devices, at });
  const dev = (serial: string, pingMs: number | null, over: Partial<DiscoveredDevice> = {}): DiscoveredDevice => ({
    serial,
    deviceClass: 'camera',
    model: 'M',
    firmware: 'V1',
    mac: '44:19:b6:00:00:01',
    network: { dhcp: false, ipv4: '192.168.1.64', mask: '255.255.255.0', gateway: '', dns: '' },
    httpPort: 80,
    activated: false,
    channels: 1,
    pingMs,
    via: 'sadp',
    lastSeenAt: 1,
    ...over,
  });

  it('ignores jitter and times, reports what matters', () => {
    const base = snap([dev('A', 30), dev('B', 120)]);
    expect(lanChanges(null, base)).toEqual(['first snapshot']);
    expect(lanChanges(base, snap([dev('A', 44, { lastSeenAt: 9 }), dev('B', 180)], 9))).toEqual([]);
    expect(lanChanges(base, snap([dev('A', 55), dev('B', 120)]))).toEqual(['A: ping green -> yellow']);
    expect(lanChanges(base, snap([dev('A', 30), dev('B', 206)]))).toEqual(['B: ping yellow -> red']);
    expect(lanChanges(base, snap([dev('A', 260), dev('B', 44)]))).toEqual(['A: ping green -> red', 'B: ping yellow -> green']);
    // Just over a boundary is still noise: a device sitting at 50 ms must not flap between levels.
    expect(lanChanges(base, snap([dev('A', 54), dev('B', 205)]))).toEqual([]);
    expect(lanChanges(snap([dev('A', 56)]), snap([dev('A', 46)]))).toEqual([]);
    expect(lanChanges(snap([dev('A', 56)]), snap([dev('A', 44)]))).toEqual(['A: ping yellow -> green']);
    expect(lanChanges(base, snap([dev('A', null), dev('B', 120)]))).toEqual(['A: ping green -> unknown']);
    expect(lanChanges(base, snap([dev('A', 30, { activated: true }), dev('B', 120)]))).toEqual(['A: activated']);
    const net = { dhcp: true, ipv4: '192.168.1.65', mask: '255.255.255.0', gateway: '', dns: '' };
    expect(lanChanges(base, snap([dev('A', 30, { network: net }), dev('B', 120)]))).toEqual(['A: network settings']);
    expect(lanChanges(base, snap([dev('A', 30, { firmware: 'V2' }), dev('B', 120)]))).toEqual(['A: firmware']);
    expect(lanChanges(base, snap([dev('B', 120), dev('C', 5)]))).toEqual(['C: added', 'A: removed']);
  });

  it('compares with the snapshot last handed over, including on connect', () => {
    const r = new LanReport();
    expect(r.latest).toBeNull();
    expect(r.takeForConnect()).toBeNull();
    expect(r.offer(snap([dev('A', 30)]))).toEqual(['first snapshot']);
    // Small steps that never cross a level from the reference are noise however many there are.
    expect(r.offer(snap([dev('A', 40)]))).toEqual([]);
    expect(r.offer(snap([dev('A', 49)]))).toEqual([]);
    expect(r.offer(snap([dev('A', 60)]))).toEqual(['A: ping green -> yellow']);
    const latest = snap([dev('A', 70, { activated: true })], 5);
    expect(r.offer(latest)).toEqual(['A: activated']);
    expect(r.offer(snap([dev('A', 75, { activated: true })], 6))).toEqual([]);
    expect(r.takeForConnect()).toEqual(snap([dev('A', 75, { activated: true })], 6));
  });
});

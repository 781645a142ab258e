import { fileURLToPath } from 'node:url';
import { decodeMessage, pingLevel, topics, type DiscoveredDevice, type LanSnapshot } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from './agent.js';
import { BusHub, BusTopic, WorkerManager, siblingModule } from './bus.js';
import { startFakeCloud } from './test/cloud.js';
import { DeviceHost } from '@vigil/simulators';
import { CODE, Lines, SERIAL, quietLog, tempDir, testConfig } from './test/util.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('lan worker over the bus', () => {
  it('completes the handshake, publishes snapshots of the SADP targets, drops a device that falls silent', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const devices = new DeviceHost({
      sadpPort: 0,
      wsdPort: 0,
      multicast: false,
      devices: [
        { class: 'camera', serial: 'SN-GREEN', ip: '127.0.0.1', latencyMs: 30, activated: true, password: 'Abcd12345' },
        { class: 'nvr', serial: 'SN-RED', ip: '127.0.0.2', latencyMs: 250 },
      ],
    });
    const [green, red] = await devices.start();
    cleanups.push(() => devices.stop());
    const hub = await BusHub.start(tmp.dir, quietLog);
    cleanups.push(() => hub.close());
    const lan = siblingModule(import.meta.url, 'workers/lan');
    const workers = new WorkerManager(hub, quietLog, [
      {
        name: 'lan',
        ...lan,
        env: {
          VIGIL_EDGE_SERIAL: SERIAL,
          VIGIL_EDGE_VERIFICATION_CODE: CODE,
          VIGIL_CLOUD_URL: 'http://127.0.0.1:1',
          VIGIL_EDGE_DATA_DIR: tmp.dir,
          VIGIL_EDGE_LAN_INTERFACE_IP: '',
          VIGIL_EDGE_SADP_TARGETS: `${green?.ip}:${green?.sadpPort},${red?.ip}:${red?.sadpPort}`,
          VIGIL_EDGE_LAN_INTERVAL_MS: '100',
          VIGIL_LOG_LEVEL: 'warn',
        },
      },
    ]);
    cleanups.push(() => workers.stop());
    const snapshots: LanSnapshot[] = [];
    const waiters: { pred: (s: LanSnapshot) => boolean; resolve: (s: LanSnapshot) => void }[] = [];
    hub.on('message', (topic, payload) => {
      if (topic !== BusTopic.lanSnapshot) return;
      const s = payload as LanSnapshot;
      snapshots.push(s);
      for (const w of [...waiters]) {
        if (!w.pred(s)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(s);
      }
    });
    const next = (pred: (s: LanSnapshot) => boolean): Promise<LanSnapshot> =>
      new Promise((resolve) => waiters.push({ pred, resolve }));

    const ready = new Promise<number>((resolve) => workers.once('ready', (_n, pid) => resolve(pid)));
    const levels = (s: LanSnapshot) => s.devices.map((d) => (d.pingMs === null ? null : pingLevel(d.pingMs)));
    // The ping shown is the fastest of the last three answers: a slow first answer on a busy machine settles.
    const both = next((s) => s.devices.length === 2 && levels(s).join() === 'green,red');
    workers.start();
    const pid = await ready;
    const first = await both;
    expect(first.devices.map((d) => [d.serial, d.activated, d.via])).toEqual([
      ['SN-GREEN', true, 'sadp'],
      ['SN-RED', false, 'sadp'],
    ]);
    expect(first.devices[0]?.pingMs).toBeGreaterThanOrEqual(29);
    expect(first.devices[1]?.pingMs).toBeGreaterThanOrEqual(249);
    expect(workers.info()).toEqual([{ name: 'lan', pid, ready: true, restarts: 0 }]);

    // The red device stops answering: kept through two missed rounds, gone after the third.
    devices.device('SN-RED')?.setReachable(false);
    const gone = await next((s) => s.devices.length === 1);
    expect(gone.devices.map((d) => d.serial)).toEqual(['SN-GREEN']);
    const sinceSilent = snapshots.slice(snapshots.indexOf(gone) - 2);
    expect(sinceSilent.map((s) => s.devices.length)).toEqual([2, 2, 1]);
  });
});

const dev = (serial: string, pingMs: number, over: Partial<DiscoveredDevice> = {}): DiscoveredDevice => ({
  serial,
  deviceClass: 'camera',
  model: 'DS-2CD2143G2-I',
  firmware: 'V5.7.3',
  mac: '44:19:b6:00:00:01',
  network: { dhcp: false, ipv4: '192.168.1.64', mask: '255.255.255.0', gateway: '192.168.1.1', dns: '192.168.1.1' },
  httpPort: 80,
  activated: false,
  channels: 1,
  pingMs,
  via: 'sadp',
  lastSeenAt: 1,
  ...over,
});

describe('agent and lan snapshots', () => {
  it('queues a snapshot for the cloud only on a meaningful change, and again on every reconnect', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const cloud = await startFakeCloud(SERIAL, CODE);
    cleanups.push(() => cloud.close());
    cloud.claim();
    const on = { activated: true };
    const rounds: unknown[] = [
      { devices: [dev('A', 30), dev('B', 120)], at: 1 }, // first: queued
      { devices: [dev('A', 41, { lastSeenAt: 2 }), dev('B', 170, { lastSeenAt: 2 })], at: 2 }, // jitter
      { devices: [dev('A', 70), dev('B', 130)], at: 3 }, // A green -> yellow: queued
      { devices: [dev('A', 70), dev('B', 130, on)], at: 4 }, // B activated: queued
      { devices: 'garbage', at: 5 }, // invalid: dropped
      { devices: [dev('A', 75), dev('B', 125, on)], at: 6 }, // jitter
      { devices: [dev('A', 75)], at: 7 }, // B gone: queued
    ];
    const lines = new Lines();
    const agent = await Agent.start(testConfig(tmp.dir), {
      log: quietLog,
      mqttUrl: cloud.url,
      announce: lines.push,
      backoff: { initialMs: 20, maxMs: 100 },
      workers: [
        {
          name: 'lan',
          module: fileURLToPath(new URL('./test/scripted-worker.ts', import.meta.url)),
          execArgv: ['--import', 'tsx', '--conditions=source'],
          env: { VIGIL_TEST_ROUNDS: JSON.stringify(rounds), VIGIL_TEST_TOPIC: BusTopic.lanSnapshot },
        },
      ],
    });
    cleanups.push(() => agent.shutdown('shutdown'));
    const handled: [number, boolean][] = [];
    agent.on('lan', (s, queued) => handled.push([s.at, queued]));

    await lines.waitFor((l) => l.event === 'lan', 3);
    expect(lines.all.filter((l) => l.event === 'lan')).toEqual([
      { event: 'lan', serial: SERIAL, devices: 2 },
      { event: 'lan', serial: SERIAL, devices: 2 },
      { event: 'lan', serial: SERIAL, devices: 2 },
      { event: 'lan', serial: SERIAL, devices: 1 },
    ]);
    expect(handled).toEqual([
      [1, true],
      [2, false],
      [3, true],
      [4, true],
      [6, false],
      [7, true],
    ]);

    const lanOf = (m: { topic: string; payload: Buffer }): LanSnapshot | null => {
      if (m.topic !== topics.lan(SERIAL)) return null;
      const d = decodeMessage(m.topic, m.payload);
      return d.ok && d.value.topic.kind === 'lan' ? (d.value.envelope.data as LanSnapshot) : null;
    };
    const last = await cloud.waitFor((m) => lanOf(m)?.at === 7);
    expect(last.qos).toBe(1);
    const sent = cloud.received.map(lanOf).filter((s): s is LanSnapshot => s !== null);
    // Older unsent snapshots may have been superseded in the outbox; never a noise-only one.
    expect(sent.length).toBeLessThanOrEqual(4);
    for (const s of sent) expect([1, 3, 4, 7]).toContain(s.at);
    expect(sent.map((s) => s.at)).toEqual([...sent.map((s) => s.at)].sort((a, b) => a - b));

    // The connection drops: the current snapshot goes out again on the new one, without a progress line.
    const clients = (cloud.broker as unknown as { clients: Record<string, { close(): void }> }).clients;
    for (const c of Object.values(clients)) c.close();
    const resent = await cloud.waitFor((m) => m.conn > last.conn && lanOf(m) !== null);
    expect(lanOf(resent)).toEqual(rounds[6]);
    expect(lines.all.filter((l) => l.event === 'lan')).toHaveLength(4);
  });
});

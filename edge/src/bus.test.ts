import { fileURLToPath } from 'node:url';
import { decodeMessage, topics, type DeviceReport, type DeviceStateData, type InventoryData } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from './agent.js';
import { BusHub, BusTopic, WorkerManager, siblingModule } from './bus.js';
import { DeviceRegistry } from './devices.js';
import { startFakeCloud } from './test/cloud.js';
import { CODE, Lines, SERIAL, quietLog, tempDir, testConfig } from './test/util.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const device = (id: string, over: Partial<DeviceReport> = {}): DeviceReport =>
  ({
    deviceId: id,
    kind: 'camera',
    protocol: 'onvif',
    manufacturer: 'Sim',
    model: 'C1',
    serial: `SN-${id}`,
    firmware: '1.0',
    name: id,
    host: '127.0.0.1',
    port: 8000,
    online: true,
    lastSeenAt: 1,
    ...over,
  }) as DeviceReport;

describe('bus', () => {
  it('counts the real discovery worker ready after the handshake, gets its rounds, restarts it when it dies', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const hub = await BusHub.start(tmp.dir, quietLog);
    cleanups.push(() => hub.close());
    const discovery = siblingModule(import.meta.url, 'workers/discovery');
    const workers = new WorkerManager(hub, quietLog, [
      {
        name: 'discovery',
        ...discovery,
        env: {
          VIGIL_EDGE_SERIAL: SERIAL,
          VIGIL_EDGE_VERIFICATION_CODE: CODE,
          VIGIL_CLOUD_URL: 'http://127.0.0.1:1',
          VIGIL_EDGE_PROBE_TARGETS: '',
          VIGIL_EDGE_DISCOVERY_INTERVAL_MS: '100',
          VIGIL_EDGE_DATA_DIR: tmp.dir,
        },
      },
    ]);
    cleanups.push(() => workers.stop());
    expect(hub.inUrl).toMatch(/^(ipc|tcp):\/\//);

    const ready = new Promise<number>((resolve) => workers.once('ready', (_n, pid) => resolve(pid)));
    const round = new Promise<unknown>((resolve) =>
      hub.on('message', (topic, payload) => topic === BusTopic.discoveryResult && resolve(payload)),
    );
    expect(workers.info()[0]?.ready).toBe(false);
    workers.start();
    const pid = await ready;
    expect(workers.info()).toEqual([{ name: 'discovery', pid, ready: true, restarts: 0 }]);
    // No targets: the round is empty, but it comes, and only after ready (the bus is ordered).
    expect(await round).toMatchObject({ devices: [] });

    const again = new Promise<number>((resolve) => workers.once('ready', (_n, p) => resolve(p)));
    process.kill(pid, 'SIGKILL');
    const pid2 = await again;
    expect(pid2).not.toBe(pid);
    expect(workers.info()).toEqual([{ name: 'discovery', pid: pid2, ready: true, restarts: 1 }]);
  });

  it('turns discovery rounds into device.state messages and inventories through the outbox', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const cloud = await startFakeCloud(SERIAL, CODE);
    cleanups.push(() => cloud.close());
    cloud.claim();
    const a = device('cam-a');
    const b = device('cam-b');
    const rounds = [[a, b], [a], [a, b]];
    const worker = fileURLToPath(new URL('./test/scripted-worker.ts', import.meta.url));
    const lines = new Lines();
    const agent = await Agent.start(testConfig(tmp.dir), {
      log: quietLog,
      mqttUrl: cloud.url,
      announce: lines.push,
      workers: [
        {
          name: 'discovery',
          module: worker,
          execArgv: ['--import', 'tsx', '--conditions=source'],
          env: { VIGIL_TEST_ROUNDS: JSON.stringify(rounds) },
        },
      ],
    });
    cleanups.push(() => agent.shutdown('shutdown'));
    const readyLine = await lines.waitFor((l) => l.event === 'ready');
    expect(readyLine).toMatchObject({ ready: true, serial: SERIAL });

    const stateOf = (m: { topic: string; payload: Buffer }): DeviceStateData | null => {
      const d = decodeMessage(m.topic, m.payload);
      return d.ok && d.value.topic.kind === 'deviceState' ? (d.value.envelope.data as DeviceStateData) : null;
    };
    const backOnline = await cloud.waitFor((m) => stateOf(m)?.deviceId === 'cam-b' && stateOf(m)?.online === true);
    const states = cloud.received.map(stateOf).filter((s): s is DeviceStateData => s !== null);
    expect(states.map((s) => [s.deviceId, s.online])).toEqual([
      ['cam-b', false],
      ['cam-b', true],
    ]);
    expect(backOnline.qos).toBe(1);
    // The inventory is republished and, once everything is sent, the last one lists both devices online.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        agent.store
          .outboxDepth()
          .then((n) => n === 0 && resolve())
          .catch((err: unknown) => quietLog.error('depth', { err }));
      };
      agent.uplink.outbox.on('drained', check);
      check();
    });
    const inventories = cloud.received.filter((m) => m.topic === topics.inventory(SERIAL));
    const last = inventories.at(-1);
    const inv = last ? decodeMessage(last.topic, last.payload) : null;
    expect(inv?.ok).toBe(true);
    const devices = inv?.ok ? (inv.value.envelope.data as InventoryData).devices : [];
    expect(devices.map((d) => [d.deviceId, d.online])).toEqual([
      ['cam-a', true],
      ['cam-b', true],
    ]);
    expect((await agent.store.listDevices()).map((d) => d.deviceId)).toEqual(['cam-a', 'cam-b']);
    // The same changes as progress lines on stdout, in order.
    expect(lines.all.filter((l) => l.event === 'device').map((l) => [l.deviceId, l.online, l.new ?? false])).toEqual([
      ['cam-a', true, true],
      ['cam-b', true, true],
      ['cam-b', false, false],
      ['cam-b', true, false],
    ]);
  });
});

describe('DeviceRegistry', () => {
  it('keeps devices it has seen, reports them offline and back, and notices changed details', () => {
    const r = new DeviceRegistry();
    const first = r.applyRound([device('x'), device('y')], 10);
    expect(first).toMatchObject({ changes: [], inventoryChanged: true, added: ['x', 'y'] });
    expect(r.applyRound([device('x'), device('y')], 20).inventoryChanged).toBe(false);
    const gone = r.applyRound([device('x')], 30);
    expect(gone.changes).toEqual([{ deviceId: 'y', online: false, at: 30, reason: 'no answer to discovery' }]);
    expect(r.size).toBe(2);
    expect(r.onlineCount).toBe(1);
    expect(r.applyRound([device('x')], 40)).toMatchObject({ changes: [], inventoryChanged: false });
    expect(r.applyRound([device('x'), device('y')], 50).changes).toEqual([{ deviceId: 'y', online: true, at: 50 }]);
    expect(r.applyRound([device('x', { firmware: '2.0' }), device('y')], 60)).toMatchObject({
      changes: [],
      inventoryChanged: true,
    });
  });
});

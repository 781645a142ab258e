import { ARC_EVENT_TYPES } from '@vigil/protocol/api';
import {
  ALARM_PATH_EVENT,
  decodeMessage,
  encodeEnvelope,
  envelope,
  topics,
  type AlarmPanelConfig,
  type AlarmPathReport,
  type AlarmsStatusResult,
  type EventData,
  type RpcReplyData,
} from '@vigil/protocol';
import { Dc09ReceiverSimulator } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../agent.js';
import { siblingModule } from '../bus.js';
import { startFakeCloud, type FakeCloud } from '../test/cloud.js';
import { CODE, Lines, SERIAL, quietLog, tempDir, testConfig } from '../test/util.js';
import { ALARMS_WORKER } from './control.js';
import { panelFrame, TestPanel } from './test/panel.js';
import { nextEvent, waitUntil } from './test/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let nextId = 0;
async function call(cloud: FakeCloud, method: string, params: Record<string, unknown>): Promise<RpcReplyData> {
  const id = `alarms-${Date.now()}-${nextId++}`;
  const reply = cloud.waitFor((m) => m.topic === topics.reply(SERIAL, id));
  await cloud.publish(topics.command(SERIAL, method), encodeEnvelope(envelope('command', { deadline: Date.now() + 10_000, params }, { id })));
  const m = await reply;
  const d = decodeMessage(m.topic, m.payload);
  if (!d.ok) throw new Error(d.error);
  return d.value.envelope.data as RpcReplyData;
}

const pathEvents = (cloud: FakeCloud): AlarmPathReport[] =>
  cloud.received
    .filter((m) => m.topic === topics.event(SERIAL, ALARM_PATH_EVENT))
    .map((m) => {
      const d = decodeMessage(m.topic, m.payload);
      return (d.ok ? (d.value.envelope.data as EventData).details : {}) as AlarmPathReport;
    });

describe('alarm relay worker on the bus', () => {
  it('is configured by RPC, relays, reports its path through the outbox, and resumes its queue after kill -9', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const receiver = new Dc09ReceiverSimulator({ accounts: { ABC123: null } });
    await receiver.start();
    cleanups.push(() => receiver.stop());
    const cloud = await startFakeCloud(SERIAL, CODE);
    cleanups.push(() => cloud.close());
    cloud.claim();
    const lines = new Lines();
    const worker = siblingModule(import.meta.url, '../workers/alarms');
    const agent = await Agent.start(testConfig(tmp.dir), {
      log: quietLog,
      mqttUrl: cloud.url,
      announce: lines.push,
      backoff: { initialMs: 20, maxMs: 100 },
      workers: [
        {
          name: ALARMS_WORKER,
          ...worker,
          env: {
            VIGIL_EDGE_SERIAL: SERIAL,
            VIGIL_EDGE_VERIFICATION_CODE: CODE,
            VIGIL_CLOUD_URL: 'http://127.0.0.1:1',
            VIGIL_EDGE_DATA_DIR: tmp.dir,
            VIGIL_EDGE_ALARM_LISTEN: '127.0.0.1:0',
            VIGIL_LOG_LEVEL: 'error',
          },
        },
      ],
    });
    cleanups.push(() => agent.shutdown('shutdown'));
    await lines.waitFor((l) => l.event === 'ready');
    await lines.waitFor((l) => l.event === 'connected' && l.mode === 'edge');

    const panelConfig: AlarmPanelConfig = {
      account: '1234',
      deviceId: 'panel-1',
      arc: { host: '127.0.0.1', port: receiver.endpoints.tcp, transport: 'tcp', account: 'ABC123' },
      connectionMode: 'direct_or_server',
      retry: { ackTimeoutMs: 200, attempts: 2, backoffMs: 150, backoffMaxMs: 300 },
      pollingMs: 250,
      eventTypes: [...ARC_EVENT_TYPES],
    };
    const configured = await call(cloud, 'alarms.configure', { panels: [panelConfig] });
    expect(configured).toEqual({ ok: true, result: { revision: 1, panels: 1, applied: true } });
    const bad = await call(cloud, 'alarms.configure', { panels: [panelConfig, { ...panelConfig, account: '1234' }] });
    expect(bad).toMatchObject({ ok: false, error: { code: 'RPC_BAD_PARAMS' } });

    const listen = await lines.waitFor((l) => l.event === 'alarm-listen');
    const panel = await TestPanel.tcp(listen.tcp as number);
    cleanups.push(() => panel.close());
    const first = nextEvent(receiver, 'message');
    expect(await panel.request(panelFrame({ sequence: 1, data: '#1234|1130 01 001' }))).toMatchObject({ id: 'ACK', sequence: 1 });
    expect((await first)[0]).toMatchObject({ account: 'ABC123', data: '#ABC123|1130 01 001' });

    const status = await call(cloud, 'alarms.status', {});
    expect(status.ok).toBe(true);
    const s = (status as { result: AlarmsStatusResult }).result;
    expect(s).toMatchObject({ revision: 1, applied: true, listening: { host: '127.0.0.1', tcp: listen.tcp } });
    expect(s.panels[0]).toMatchObject({ account: '1234', deviceId: 'panel-1', path: 'ok' });
    await waitUntil(async () => {
      const r = await call(cloud, 'alarms.status', {});
      return r.ok && (r.result as AlarmsStatusResult).timing.count === 1;
    }, 'the delivery in the statistics');

    // The receiver goes away: the failure reaches the cloud as an alarm.path event through the outbox.
    await receiver.down();
    await cloud.waitFor((m) => m.topic === topics.event(SERIAL, ALARM_PATH_EVENT));
    expect(pathEvents(cloud)[0]).toMatchObject({ panel: '1234', deviceId: 'panel-1', state: 'failed', arc: { account: 'ABC123' } });

    // Events queue meanwhile; the relay process is killed outright with them on disk, and restarted.
    for (let zone = 2; zone <= 4; zone++) await panel.request(panelFrame({ sequence: zone, data: `#1234|1130 01 00${zone}` }));
    const pid = agent.workers.info()[0]?.pid ?? 0;
    const restarted = new Promise<number>((resolve) => agent.workers.once('ready', (_n, p) => resolve(p)));
    process.kill(pid, 'SIGKILL');
    expect(await restarted).not.toBe(pid);
    await receiver.up();
    await waitUntil(() => receiver.messages.filter((m) => !m.duplicate).length === 4, 'the queue delivered');
    const unique = receiver.messages.filter((m) => !m.duplicate);
    expect(unique.map((m) => m.data)).toEqual(['#ABC123|1130 01 001', '#ABC123|1130 01 002', '#ABC123|1130 01 003', '#ABC123|1130 01 004']);
    expect(unique.map((m) => m.sequence)).toEqual([1, 2, 3, 4]);
    await cloud.waitFor((m) => m.topic === topics.event(SERIAL, ALARM_PATH_EVENT) && pathEvents(cloud).some((r) => r.state === 'ok'));
    expect(pathEvents(cloud).map((r) => r.state)).toEqual(['failed', 'ok']);
  });
});

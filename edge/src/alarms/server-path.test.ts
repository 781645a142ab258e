import { ARC_EVENT_TYPES } from '@vigil/protocol/api';
import {
  ALARM_FORWARD_EVENT,
  decodeMessage,
  encodeEnvelope,
  envelope,
  topics,
  type AlarmForward,
  type AlarmPanelConfig,
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
import { waitUntil } from './test/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let nextId = 0;
async function call(cloud: FakeCloud, method: string, params: Record<string, unknown>): Promise<RpcReplyData> {
  const id = `server-path-${Date.now()}-${nextId++}`;
  const reply = cloud.waitFor((m) => m.topic === topics.reply(SERIAL, id));
  await cloud.publish(topics.command(SERIAL, method), encodeEnvelope(envelope('command', { deadline: Date.now() + 10_000, params }, { id })));
  const m = await reply;
  const d = decodeMessage(m.topic, m.payload);
  if (!d.ok) throw new Error(d.error);
  return d.value.envelope.data as RpcReplyData;
}

/** The events the box handed to the cloud for the server path (the same event may come more than once). */
const forwards = (cloud: FakeCloud): AlarmForward[] =>
  cloud.received
    .filter((m) => m.topic === topics.event(SERIAL, ALARM_FORWARD_EVENT))
    .map((m) => {
      const d = decodeMessage(m.topic, m.payload);
      return (d.ok ? (d.value.envelope.data as EventData).details : {}) as AlarmForward;
    });

async function status(cloud: FakeCloud): Promise<AlarmsStatusResult> {
  const r = await call(cloud, 'alarms.status', {});
  if (!r.ok) throw new Error(r.error.message);
  return r.result as AlarmsStatusResult;
}

const panelStatus = async (cloud: FakeCloud, account: string) => (await status(cloud)).panels.find((p) => p.account === account);

async function startBox() {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  const receiver = new Dc09ReceiverSimulator({ accounts: { ABC123: null, DEF456: null } });
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
  return { receiver, cloud, lines };
}

const config = (receiver: Dc09ReceiverSimulator, over: Partial<AlarmPanelConfig> = {}): AlarmPanelConfig => ({
  account: '1234',
  deviceId: 'panel-1',
  arc: { host: '127.0.0.1', port: receiver.endpoints.tcp, transport: 'tcp', account: 'ABC123' },
  connectionMode: 'direct_or_server',
  retry: { ackTimeoutMs: 200, attempts: 2, backoffMs: 150, backoffMaxMs: 300 },
  pollingMs: 0,
  eventTypes: [...ARC_EVENT_TYPES],
  ...over,
});

describe('the server path of the alarm relay', () => {
  it('hands events to the cloud while the receiver is unreachable, forgets them on alarms.delivered, and goes direct again', async () => {
    const { receiver, cloud, lines } = await startBox();
    await receiver.down();
    expect(await call(cloud, 'alarms.configure', { panels: [config(receiver)] })).toMatchObject({ ok: true });
    const listen = await lines.waitFor((l) => l.event === 'alarm-listen');
    const panel = await TestPanel.tcp(listen.tcp as number);
    cleanups.push(() => panel.close());

    expect(await panel.request(panelFrame({ sequence: 1, data: '#1234|1130 01 001' }))).toMatchObject({ id: 'ACK', sequence: 1 });
    await waitUntil(() => forwards(cloud).length > 0, 'the event handed to the server path');
    const first = forwards(cloud)[0]!;
    // As the ARC must see it, with the sequence number the direct path uses too.
    expect(first).toMatchObject({ panel: '1234', deviceId: 'panel-1', token: 'ADM-CID', sequence: 1, data: '#ABC123|1130 01 001', xdata: [] });
    expect(await panelStatus(cloud, '1234')).toMatchObject({ path: 'failed', queued: 1 });

    // The ARC acknowledged it through the cloud: out of the queue, never sent directly afterwards.
    expect(await call(cloud, 'alarms.delivered', { eventIds: [first.eventId] })).toEqual({ ok: true, result: { accepted: true } });
    expect(await panelStatus(cloud, '1234')).toMatchObject({ queued: 0 });
    // Delivered once more (a retried call): still fine.
    expect(await call(cloud, 'alarms.delivered', { eventIds: [first.eventId] })).toEqual({ ok: true, result: { accepted: true } });

    // The receiver answers again: the next events go directly, and the path is ok.
    await receiver.up();
    expect(await panel.request(panelFrame({ sequence: 2, data: '#1234|1130 01 002' }))).toMatchObject({ id: 'ACK', sequence: 2 });
    await waitUntil(() => receiver.messages.some((m) => m.sequence === 2), 'the second event sent directly');
    await waitUntil(async () => (await panelStatus(cloud, '1234'))?.path === 'ok', 'the path ok again');
    const handed = forwards(cloud).length;
    expect(await panel.request(panelFrame({ sequence: 3, data: '#1234|1130 01 003' }))).toMatchObject({ id: 'ACK', sequence: 3 });
    await waitUntil(() => receiver.messages.some((m) => m.sequence === 3), 'the third event sent directly');
    expect(await panelStatus(cloud, '1234')).toMatchObject({ path: 'ok', queued: 0 });
    expect(forwards(cloud).length).toBe(handed);
    expect(receiver.messages.map((m) => [m.sequence, m.data])).toEqual([
      [2, '#ABC123|1130 01 002'],
      [3, '#ABC123|1130 01 003'],
    ]);
  });

  it('never sends a server_only panel’s events directly', async () => {
    const { receiver, cloud, lines } = await startBox();
    const serverOnly = config(receiver, { account: '5678', deviceId: 'panel-2', connectionMode: 'server_only', arc: { ...config(receiver).arc, account: 'DEF456' } });
    expect(await call(cloud, 'alarms.configure', { panels: [serverOnly] })).toMatchObject({ ok: true });
    const listen = await lines.waitFor((l) => l.event === 'alarm-listen');
    const panel = await TestPanel.tcp(listen.tcp as number);
    cleanups.push(() => panel.close());

    expect(await panel.request(panelFrame({ account: '5678', id: 'SIA-DCS', sequence: 9, data: '#5678|Nri1/BA01' }))).toMatchObject({ id: 'ACK' });
    await waitUntil(() => forwards(cloud).length > 0, 'the event handed to the server path');
    const f = forwards(cloud)[0]!;
    expect(f).toMatchObject({ panel: '5678', deviceId: 'panel-2', token: 'SIA-DCS', sequence: 1, data: '#DEF456|Nri1/BA01' });
    expect(await panelStatus(cloud, '5678')).toMatchObject({ path: 'server', queued: 1 });

    expect(await call(cloud, 'alarms.delivered', { eventIds: [f.eventId] })).toEqual({ ok: true, result: { accepted: true } });
    expect(await panelStatus(cloud, '5678')).toMatchObject({ path: 'server', queued: 0 });
    expect(receiver.messages).toHaveLength(0);
    expect(receiver.state.counters.frames).toBe(0);
  });
});

import { decodeMessage, encodeEnvelope, envelope, topics, type EventData, type RpcReplyData } from '@vigil/protocol';
import { Dc09ReceiverSimulator } from '@vigil/simulators';
import { Agent } from '../../agent.js';
import { siblingModule } from '../../bus.js';
import { startFakeCloud, type FakeCloud } from '../../test/cloud.js';
import { CODE, Lines, SERIAL, quietLog, tempDir, testConfig } from '../../test/util.js';
import { ALARMS_WORKER } from '../control.js';

export type Cleanups = (() => Promise<void> | void)[];

let nextId = 0;
/** Calls an RPC on the box the way the cloud does and returns its reply. */
export async function callBox(cloud: FakeCloud, method: string, params: Record<string, unknown>): Promise<RpcReplyData> {
  const id = `alarms-${Date.now()}-${nextId++}`;
  const reply = cloud.waitFor((m) => m.topic === topics.reply(SERIAL, id));
  await cloud.publish(topics.command(SERIAL, method), encodeEnvelope(envelope('command', { deadline: Date.now() + 10_000, params }, { id })));
  const m = await reply;
  const d = decodeMessage(m.topic, m.payload);
  if (!d.ok) throw new Error(d.error);
  return d.value.envelope.data as RpcReplyData;
}

/** The details of every `edge.event` of one kind the box sent (the same event may come more than once). */
export const eventDetails = <T>(cloud: FakeCloud, kind: string): T[] =>
  cloud.received
    .filter((m) => m.topic === topics.event(SERIAL, kind))
    .map((m) => {
      const d = decodeMessage(m.topic, m.payload);
      return (d.ok ? (d.value.envelope.data as EventData).details : {}) as T;
    });

/**
 * A box with only the alarm relay worker, claimed by a fake cloud and connected, and an ARC receiver simulator
 * taking `accounts`; everything is stopped by `cleanups`. `prepare` may write into the data dir before the box starts.
 */
export async function startRelayBox(
  cleanups: Cleanups,
  accounts: Record<string, string | null>,
  prepare?: (dataDir: string, receiver: Dc09ReceiverSimulator) => Promise<void>,
) {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  const receiver = new Dc09ReceiverSimulator({ accounts });
  await receiver.start();
  cleanups.push(() => receiver.stop());
  await prepare?.(tmp.dir, receiver);
  const cloud = await startFakeCloud(SERIAL, CODE);
  cleanups.push(() => cloud.close());
  cloud.claim();
  const lines = new Lines();
  const worker = siblingModule(import.meta.url, '../../workers/alarms');
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
  return { receiver, cloud, lines, agent };
}

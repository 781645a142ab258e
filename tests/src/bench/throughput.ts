import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { encodeEnvelope, envelope, topics } from '@vigil/protocol';
import { failPendingOnClose } from './clients.js';
import { metric, type CloudChild } from './cloud.js';
import { type MosquittoChild } from './mosquitto.js';
import { median } from './report.js';
import { cpuMs } from './rss.js';
import type { SeededEdge } from './seed.js';

export interface ThroughputOptions {
  publishers: number;
  messages: number;
  /** QoS 1 messages a publisher may have unacknowledged at once. */
  window: number;
  rounds: number;
  warmupMessages: number;
}

export interface BrokerFigures {
  rounds: { msgsPerSec: number; seconds: number; brokerCpuMs: number; clientCpuMs: number }[];
  msgsPerSec: number;
  brokerCpuMsPer1k: number;
  /** Share of one core each side used during the measured rounds: which of the two was the limit. */
  brokerCpuPct: number;
  clientCpuPct: number;
}

export interface ThroughputResult {
  mosquitto: BrokerFigures & { version: string };
  cloud: BrokerFigures & { heartbeatsAccepted: number };
  /** Mosquitto msgs/s over cloud msgs/s; the target is at most 2. */
  ratio: number;
}

interface Target {
  url: string;
  pid: number;
  clients: MqttClient[];
}

function heartbeat(startedAt: number): Buffer {
  const data = { uptimeSec: Math.floor((Date.now() - startedAt) / 1000), rssBytes: 52_000_000, outboxDepth: 0, devicesOnline: 12, devicesTotal: 12 };
  return Buffer.from(encodeEnvelope(envelope('heartbeat', data)));
}

/** Publishes `count` QoS 1 heartbeats with at most `window` waiting for their PUBACK. */
function pump(client: MqttClient, serial: string, count: number, window: number): Promise<void> {
  const topic = topics.heartbeat(serial);
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    let failed = false;
    const fill = () => {
      while (!failed && sent < count && sent - acked < window) {
        sent++;
        client.publish(topic, heartbeat(startedAt), { qos: 1 }, (err) => {
          if (failed) return;
          if (err) {
            failed = true;
            reject(new Error(`${serial}: publish failed: ${err.message}`));
            return;
          }
          acked++;
          if (acked === count) resolve();
          else fill();
        });
      }
    };
    if (count === 0) resolve();
    else fill();
  });
}

async function connectAll(url: string, edges: SeededEdge[]): Promise<MqttClient[]> {
  return Promise.all(
    edges.map(async (e) => {
      const client = await mqtt.connectAsync(url, {
        protocolVersion: 4,
        clientId: e.clientId,
        username: e.username,
        password: e.password,
        clean: true,
        keepalive: 60,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      });
      return failPendingOnClose(client);
    }),
  );
}

async function round(t: Target, edges: SeededEdge[], count: number, window: number) {
  const cpu0 = cpuMs(t.pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(t.clients.map((c, i) => pump(c, edges[i]!.serial, count, window)));
  const seconds = (performance.now() - t0) / 1000;
  const brokerCpuMs = cpuMs(t.pid) - cpu0;
  const client = process.cpuUsage(client0);
  return { msgsPerSec: (count * edges.length) / seconds, seconds, brokerCpuMs, clientCpuMs: (client.user + client.system) / 1000 };
}

function figures(rounds: BrokerFigures['rounds'], perRound: number): BrokerFigures {
  const sum = (f: (r: BrokerFigures['rounds'][number]) => number) => rounds.reduce((s, r) => s + f(r), 0);
  const wallMs = sum((r) => r.seconds) * 1000;
  return {
    rounds,
    msgsPerSec: median(rounds.map((r) => r.msgsPerSec)),
    brokerCpuMsPer1k: (sum((r) => r.brokerCpuMs) / (perRound * rounds.length)) * 1000,
    brokerCpuPct: (sum((r) => r.brokerCpuMs) / wallMs) * 100,
    clientCpuPct: (sum((r) => r.clientCpuMs) / wallMs) * 100,
  };
}

/**
 * The same client code, topics and payloads against both brokers over TCP. Rounds alternate between
 * the brokers so a noisy neighbour or a CPU frequency change hits both alike; the median round counts.
 */
export async function runThroughput(cloud: CloudChild, mosquitto: MosquittoChild, edges: SeededEdge[], o: ThroughputOptions): Promise<ThroughputResult> {
  const mq: Target = { url: `mqtt://127.0.0.1:${mosquitto.port}`, pid: mosquitto.pid, clients: [] };
  const cl: Target = { url: `mqtt://127.0.0.1:${cloud.mqtt}`, pid: cloud.pid, clients: [] };
  try {
    mq.clients = await connectAll(mq.url, edges);
    cl.clients = await connectAll(cl.url, edges);
    const before = await metric(cloud.http, 'vigil_mqtt_messages_total', 'kind="heartbeat",result="accepted"');
    // Warm-up: JIT, buffers and the cloud's per-edge state, not measured.
    await round(mq, edges, o.warmupMessages, o.window);
    await round(cl, edges, o.warmupMessages, o.window);
    const mqRounds = [];
    const clRounds = [];
    for (let i = 0; i < o.rounds; i++) {
      mqRounds.push(await round(mq, edges, o.messages, o.window));
      clRounds.push(await round(cl, edges, o.messages, o.window));
    }
    const accepted = (await metric(cloud.http, 'vigil_mqtt_messages_total', 'kind="heartbeat",result="accepted"')) - before;
    const expected = edges.length * (o.warmupMessages + o.messages * o.rounds);
    // PUBACK alone could come from a broker that dropped the message; the counter proves it was validated.
    if (accepted !== expected) throw new Error(`cloud accepted ${accepted} heartbeats, expected ${expected}`);
    const perRound = edges.length * o.messages;
    const m = figures(mqRounds, perRound);
    const c = figures(clRounds, perRound);
    return { mosquitto: { ...m, version: mosquitto.version }, cloud: { ...c, heartbeatsAccepted: accepted }, ratio: m.msgsPerSec / c.msgsPerSec };
  } finally {
    await Promise.all([...mq.clients, ...cl.clients].map((c) => c.endAsync(true)));
  }
}

import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { encodeEnvelope, envelope, topics } from '@vigil/protocol';
import { failPendingOnClose } from './clients.js';
import { metric, type CloudChild } from './cloud.js';
import { percentile } from './report.js';
import { cpuMs, rssBytes, sampleRss } from './rss.js';
import type { SeededEdge } from './seed.js';

export interface FleetOptions {
  concurrency: number;
  heartbeatSec: number;
  heartbeatEveryMs: number;
  /** 5,000 edges under 1 GB is the target the projection is held against. */
  projectTo: number;
  limitBytes: number;
}

export interface FleetResult {
  edges: number;
  connectTotalMs: number;
  connectMsPerEdge: number;
  connectP50Ms: number;
  connectP99Ms: number;
  connackP50Ms: number;
  connackP99Ms: number;
  cloudCpuMsPerConnect: number;
  heartbeatsSent: number;
  cloudCpuPctHeartbeat: number;
  heartbeatAckP50Ms: number;
  heartbeatAckP99Ms: number;
  rssIdleBytes: number;
  rssConnectedBytes: number;
  rssPeakBytes: number;
  rssEndBytes: number;
  rssPerEdgeBytes: number;
  rssConnectedOverIdle: number;
  projectedBytes: number;
  projectedOverLimit: number;
}

interface Connected {
  client: MqttClient;
  edge: SeededEdge;
  connackMs: number;
  readyMs: number;
}

const AGENT_VERSION = '0.1.0-bench';

/** What a real edge does on connect: last will, retained online status, then its command subscription. */
async function connectEdge(url: string, edge: SeededEdge): Promise<Connected> {
  const t0 = performance.now();
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clean: true,
    keepalive: 15,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
    resubscribe: false,
    clientId: edge.clientId,
    username: edge.username,
    password: edge.password,
    will: {
      topic: topics.status(edge.serial),
      payload: Buffer.from(encodeEnvelope(envelope('status', { state: 'offline', reason: 'will' }))),
      qos: 1,
      retain: true,
    },
  });
  const connackMs = performance.now() - t0;
  failPendingOnClose(client);
  try {
    const online = envelope('status', { state: 'online', agentVersion: AGENT_VERSION, startedAt: Date.now() });
    await client.publishAsync(topics.status(edge.serial), Buffer.from(encodeEnvelope(online)), { qos: 1, retain: true });
    const granted = await client.subscribeAsync(topics.filters.commandsOf(edge.serial), { qos: 1 });
    if (granted.some((g) => g.qos === 128)) throw new Error(`${edge.serial}: subscription refused`);
  } catch (err) {
    client.end(true);
    throw err;
  }
  return { client, edge, connackMs, readyMs: performance.now() - t0 };
}

/** Runs `work` over `items` with at most `limit` in progress, in order of start. */
async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Heartbeats from every edge on its own phase, as boxes booted at different times would send them. */
async function heartbeatPhase(conns: Connected[], o: FleetOptions): Promise<{ sent: number; ackMs: number[] }> {
  const ackMs: number[] = [];
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let failure: Error | null = null;
  const startedAt = Date.now();
  const timers: NodeJS.Timeout[] = [];
  const beat = (c: Connected) => {
    const data = { uptimeSec: Math.floor((Date.now() - startedAt) / 1000), rssBytes: 52_000_000, outboxDepth: 0, devicesOnline: 12, devicesTotal: 12 };
    const t0 = performance.now();
    sent++;
    const p = c.client
      .publishAsync(topics.heartbeat(c.edge.serial), Buffer.from(encodeEnvelope(envelope('heartbeat', data))), { qos: 1 })
      .then(
        () => void ackMs.push(performance.now() - t0),
        (err: unknown) => void (failure ??= new Error(`${c.edge.serial}: heartbeat failed: ${String(err)}`)),
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  await new Promise<void>((resolve) => {
    for (const c of conns) {
      const phase = Math.random() * o.heartbeatEveryMs;
      timers.push(
        setTimeout(() => {
          beat(c);
          timers.push(setInterval(() => beat(c), o.heartbeatEveryMs));
        }, phase),
      );
    }
    setTimeout(resolve, o.heartbeatSec * 1000);
  });
  for (const t of timers) clearTimeout(t);
  await Promise.all(pending);
  if (failure) throw failure;
  return { sent, ackMs };
}

export async function runFleet(cloud: CloudChild, edges: SeededEdge[], o: FleetOptions): Promise<FleetResult> {
  const url = `ws://127.0.0.1:${cloud.http}/mqtt`;
  // Let start-up garbage settle, so the idle figure is the process at rest rather than mid-migration.
  await new Promise((r) => setTimeout(r, 1500));
  const rssIdleBytes = rssBytes(cloud.pid);
  const conns: Connected[] = [];
  try {
    const cpu0 = cpuMs(cloud.pid);
    const t0 = performance.now();
    await pool(edges, o.concurrency, async (e) => {
      conns.push(await connectEdge(url, e));
    });
    const connectTotalMs = performance.now() - t0;
    const cloudCpuMsPerConnect = (cpuMs(cloud.pid) - cpu0) / edges.length;
    const connected = await metric(cloud.http, 'vigil_edges_connected');
    if (connected !== edges.length) throw new Error(`cloud counts ${connected} connected edges, expected ${edges.length}`);
    const rssConnectedBytes = rssBytes(cloud.pid);

    const before = await metric(cloud.http, 'vigil_mqtt_messages_total', 'kind="heartbeat",result="accepted"');
    const sampler = sampleRss(cloud.pid, 200);
    const hbCpu0 = cpuMs(cloud.pid);
    const hbT0 = performance.now();
    const hb = await heartbeatPhase(conns, o);
    const cloudCpuPctHeartbeat = ((cpuMs(cloud.pid) - hbCpu0) / (performance.now() - hbT0)) * 100;
    const rssPeakBytes = Math.max(rssConnectedBytes, sampler.stop());
    const rssEndBytes = rssBytes(cloud.pid);
    const accepted = (await metric(cloud.http, 'vigil_mqtt_messages_total', 'kind="heartbeat",result="accepted"')) - before;
    if (accepted !== hb.sent) throw new Error(`cloud accepted ${accepted} heartbeats, ${hb.sent} were acknowledged`);

    // The peak while connected and heartbeating is the honest per-edge cost: a fleet is never idle.
    const rssPerEdgeBytes = (rssPeakBytes - rssIdleBytes) / edges.length;
    const projectedBytes = rssIdleBytes + rssPerEdgeBytes * o.projectTo;
    return {
      edges: edges.length,
      connectTotalMs,
      connectMsPerEdge: connectTotalMs / edges.length,
      connectP50Ms: percentile(conns.map((c) => c.readyMs), 50),
      connectP99Ms: percentile(conns.map((c) => c.readyMs), 99),
      connackP50Ms: percentile(conns.map((c) => c.connackMs), 50),
      connackP99Ms: percentile(conns.map((c) => c.connackMs), 99),
      cloudCpuMsPerConnect,
      heartbeatsSent: hb.sent,
      cloudCpuPctHeartbeat,
      heartbeatAckP50Ms: percentile(hb.ackMs, 50),
      heartbeatAckP99Ms: percentile(hb.ackMs, 99),
      rssIdleBytes,
      rssConnectedBytes,
      rssPeakBytes,
      rssEndBytes,
      rssPerEdgeBytes,
      rssConnectedOverIdle: rssPeakBytes / rssIdleBytes,
      projectedBytes,
      projectedOverLimit: projectedBytes / o.limitBytes,
    };
  } finally {
    // A clean DISCONNECT, so the cloud sees shutdowns rather than 1,000 last wills at once.
    await pool(conns, 100, (c) => c.client.endAsync());
  }
}

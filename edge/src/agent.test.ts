import {
  decodeMessage,
  decoder,
  EdgeInfoSchema,
  encodeEnvelope,
  envelope,
  RpcErrorCode,
  topics,
  type RpcReplyData,
  type StatusData,
} from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, EXIT_REBOOT } from './agent.js';
import { Store } from './store.js';
import { startFakeCloud, type FakeCloud } from './test/cloud.js';
import { CODE, Lines, SERIAL, quietLog, tempDir, testConfig } from './test/util.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ cloud: FakeCloud; agent: Agent; lines: Lines; dir: string }> {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  const cloud = await startFakeCloud(SERIAL, CODE);
  cleanups.push(() => cloud.close());
  const lines = new Lines();
  const agent = await Agent.start(testConfig(tmp.dir), {
    log: quietLog,
    workers: [],
    mqttUrl: cloud.url,
    announce: lines.push,
    backoff: { initialMs: 20, maxMs: 100 },
  });
  cleanups.push(() => agent.shutdown('shutdown'));
  return { cloud, agent, lines, dir: tmp.dir };
}

const isStatus = (state: StatusData['state'], reason?: StatusData['reason']) => (m: { topic: string; payload: Buffer }) => {
  if (m.topic !== topics.status(SERIAL)) return false;
  const d = decodeMessage(m.topic, m.payload);
  if (!d.ok) return false;
  const data = d.value.envelope.data as StatusData;
  return data.state === state && (reason === undefined || data.reason === reason);
};

async function claimedAgent(): Promise<{ cloud: FakeCloud; agent: Agent; lines: Lines; dir: string }> {
  const s = await setup();
  s.cloud.claim();
  await s.lines.waitFor((l) => l.event === 'connected' && l.mode === 'edge');
  return s;
}

let nextId = 0;
async function call(cloud: FakeCloud, method: string, params: Record<string, unknown>, deadline = Date.now() + 10_000) {
  const id = `req-${Date.now()}-${nextId++}`;
  const reply = cloud.waitFor((m) => m.topic === topics.reply(SERIAL, id));
  await cloud.publish(topics.command(SERIAL, method), encodeEnvelope(envelope('command', { deadline, params }, { id })));
  const m = await reply;
  const d = decodeMessage(m.topic, m.payload);
  if (!d.ok) throw new Error(d.error);
  return { id, reply: d.value.envelope.data as RpcReplyData, qos: m.qos };
}

describe('claim flow', () => {
  it('waits in claim mode, switches to edge mode on credentials, returns to claim mode when refused', async () => {
    const { cloud, agent, lines, dir } = await setup();
    const claimLine = await lines.waitFor((l) => l.event === 'connected');
    expect(claimLine).toMatchObject({ mode: 'claim', serial: SERIAL });
    expect(cloud.logins[0]).toMatchObject({ username: `claim:${SERIAL}`, accepted: true });
    expect(cloud.logins[0]?.clientId).toMatch(new RegExp(`^claim:${SERIAL}:[A-Za-z0-9_-]{8,64}$`));

    // The installer adds the box some time after it came up.
    cloud.claim();
    await lines.waitFor((l) => l.event === 'claimed');
    await lines.waitFor((l) => l.event === 'connected' && l.mode === 'edge');
    expect(cloud.logins.at(-1)).toEqual({ username: `edge:${SERIAL}`, clientId: `edge:${SERIAL}`, accepted: true });
    const online = await cloud.waitFor(isStatus('online'));
    expect(online.retain).toBe(true);
    expect(online.qos).toBe(1);
    const inv = await cloud.waitFor((m) => m.topic === topics.inventory(SERIAL));
    expect(decodeMessage(inv.topic, inv.payload).ok).toBe(true);
    await cloud.waitFor((m) => m.topic === topics.heartbeat(SERIAL));
    expect(await agent.store.getCredentials()).toEqual({
      edgeId: SERIAL,
      username: `edge:${SERIAL}`,
      password: cloud.secret,
    });

    // Removed from its site: the stored secret is refused with code 4.
    cloud.remove();
    await lines.waitFor((l) => l.event === 'unclaimed');
    await lines.waitFor((l) => l.event === 'connected' && l.mode === 'claim', 1);
    expect(await agent.store.getCredentials()).toBeNull();
    expect(cloud.logins.some((l) => l.username === `edge:${SERIAL}` && !l.accepted)).toBe(true);
    const claimIds = cloud.logins.filter((l) => l.username === `claim:${SERIAL}`).map((l) => l.clientId);
    expect(new Set(claimIds).size).toBe(2);
    expect(dir).toBeTruthy();
  });
});

describe('RPC', () => {
  it('answers edge.info, refuses expired requests, unknown methods and bad params', async () => {
    const { cloud } = await claimedAgent();
    const info = await call(cloud, 'edge.info', {});
    expect(info.qos).toBe(1);
    expect(info.reply.ok).toBe(true);
    if (!info.reply.ok) return;
    expect(decoder(EdgeInfoSchema).decode(info.reply.result).ok).toBe(true);
    expect(info.reply.result).toMatchObject({ serial: SERIAL, devices: 0, workers: [] });

    const late = await call(cloud, 'edge.info', {}, Date.now() - 1_000);
    expect(late.reply).toMatchObject({ ok: false, error: { code: RpcErrorCode.deadlinePassed } });
    const unknown = await call(cloud, 'edge.teleport', {});
    expect(unknown.reply).toMatchObject({ ok: false, error: { code: RpcErrorCode.unknownMethod } });
    const bad = await call(cloud, 'edge.info', { verbose: true });
    expect(bad.reply).toMatchObject({ ok: false, error: { code: RpcErrorCode.badParams } });
  });

  it('answers a redelivered request once', async () => {
    const { cloud } = await claimedAgent();
    const dup = encodeEnvelope(envelope('command', { deadline: Date.now() + 10_000, params: {} }, { id: 'dup-request-1' }));
    await cloud.publish(topics.command(SERIAL, 'edge.info'), dup);
    await cloud.publish(topics.command(SERIAL, 'edge.info'), dup);
    // Requests are handled in arrival order, so a second reply to the duplicate would precede this one.
    await call(cloud, 'edge.info', {});
    expect(cloud.received.filter((m) => m.topic === topics.reply(SERIAL, 'dup-request-1'))).toHaveLength(1);
  });

  it('edge.reboot replies, then goes offline with reason reboot and exits with 75', async () => {
    const { cloud, agent } = await claimedAgent();
    const exit = new Promise<number>((resolve) => agent.once('exit', resolve));
    const r = await call(cloud, 'edge.reboot', {});
    expect(r.reply).toEqual({ ok: true, result: { accepted: true } });
    const offline = await cloud.waitFor(isStatus('offline', 'reboot'));
    expect(offline.retain).toBe(true);
    expect(await exit).toBe(EXIT_REBOOT);
    // A clean disconnect: the broker must not have published the last will.
    expect(cloud.received.filter(isStatus('offline', 'will'))).toHaveLength(0);
  });
});

describe('store reuse', () => {
  it('starts straight in edge mode with stored credentials', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const cloud = await startFakeCloud(SERIAL, CODE);
    cleanups.push(() => cloud.close());
    cloud.claim();
    // Claim once, stop, then start again from the same data dir.
    const lines = new Lines();
    const first = await Agent.start(testConfig(tmp.dir), { log: quietLog, workers: [], mqttUrl: cloud.url, announce: lines.push });
    await lines.waitFor((l) => l.event === 'connected' && l.mode === 'edge');
    await first.shutdown('shutdown');
    await cloud.waitFor(isStatus('offline', 'shutdown'));
    const store = await Store.open(tmp.dir);
    expect((await store.getCredentials())?.password).toBe(cloud.secret);
    await store.close();

    const lines2 = new Lines();
    const second = await Agent.start(testConfig(tmp.dir), { log: quietLog, workers: [], mqttUrl: cloud.url, announce: lines2.push });
    cleanups.push(() => second.shutdown('shutdown'));
    const line = await lines2.waitFor((l) => l.event === 'connected');
    expect(line.mode).toBe('edge');
  });
});

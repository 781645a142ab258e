import path from 'node:path';
import sqlite3 from 'sqlite3';
import { ARC_EVENT_TYPES } from '@vigil/protocol/api';
import { ArcReporter, Dc09ReceiverSimulator, type Dc09ReceiverOptions, type ReceivedDc09Message } from '@vigil/simulators';
import { defaultPanelArcSettings, type AlarmPanelConfig, type AlarmPathReport, type AlarmsConfigureParams } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { quietLog, tempDir } from '../test/util.js';
import { AlarmRelay } from './relay.js';
import { AlarmStore } from './store.js';
import { panelFrame, TestPanel } from './test/panel.js';
import { nextEvent, waitUntil } from './test/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ARC_ACCOUNT = 'ABC123';

async function startReceiver(opts: Dc09ReceiverOptions = {}): Promise<Dc09ReceiverSimulator> {
  const r = new Dc09ReceiverSimulator({ accounts: { [ARC_ACCOUNT]: null }, ...opts });
  await r.start();
  cleanups.push(() => r.stop());
  return r;
}

function panelConfig(receiver: Dc09ReceiverSimulator, over: Partial<AlarmPanelConfig> = {}): AlarmPanelConfig {
  return {
    account: '1234',
    arc: { host: '127.0.0.1', port: receiver.endpoints.tcp, transport: 'tcp', account: ARC_ACCOUNT },
    connectionMode: 'direct_or_server',
    retry: { ackTimeoutMs: 300, attempts: 3, backoffMs: 200, backoffMaxMs: 400 },
    pollingMs: 0,
    eventTypes: [...ARC_EVENT_TYPES],
    ...over,
  };
}

interface Running {
  relay: AlarmRelay;
  store: AlarmStore;
  port: number;
  stop: () => Promise<void>;
}

/** A relay on its own data dir, listening for panels on a free port; `params` configures it when given. */
async function startRelay(dir: string, params?: AlarmsConfigureParams, port = 0): Promise<Running> {
  const store = await AlarmStore.open(dir);
  const relay = await AlarmRelay.start({ store, log: quietLog, listen: { host: '127.0.0.1', port } });
  if (params) await relay.configure(relay.revision + 1, params);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await relay.stop();
    await store.close();
  };
  cleanups.push(stop);
  return { relay, store, port: relay.listening?.tcp ?? 0, stop };
}

async function panel(port: number, transport: 'tcp' | 'udp' = 'tcp'): Promise<TestPanel> {
  const p = transport === 'tcp' ? await TestPanel.tcp(port) : await TestPanel.udp(port);
  cleanups.push(() => p.close());
  return p;
}

async function dir(): Promise<string> {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  return tmp.dir;
}

/** Rows in the relay's file as another connection sees them: committed, not merely in this process's memory. */
async function committedEvents(dataDir: string): Promise<number> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(path.join(dataDir, 'alarms.sqlite'), sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
  });
  const rows = await new Promise<{ n: number }[]>((resolve, reject) =>
    db.all('SELECT COUNT(*) AS n FROM alarm_events', (err, r) => (err ? reject(err) : resolve(r as { n: number }[]))),
  );
  await new Promise<void>((resolve) => db.close(() => resolve()));
  return rows[0]?.n ?? 0;
}

const unique = (r: Dc09ReceiverSimulator): ReceivedDc09Message[] => r.messages.filter((m) => !m.duplicate);
const cid = (zone: number): string => `#1234|1130 01 ${String(zone).padStart(3, '0')}`;

describe('alarm relay, direct path', () => {
  it('acknowledges a panel only once the event is on disk, and the receiver gets it once with the ARC account', async () => {
    const receiver = await startReceiver();
    const d = await dir();
    const { relay, store, port } = await startRelay(d, { panels: [panelConfig(receiver)] });
    const tcp = await panel(port);

    const delivered = nextEvent(relay, 'delivered');
    const ack = await tcp.request(panelFrame({ sequence: 7, data: cid(15) }));
    expect(ack).toMatchObject({ id: 'ACK', sequence: 7, account: '1234' });
    expect(await committedEvents(d)).toBe(1);
    await delivered;
    expect(receiver.messages).toHaveLength(1);
    expect(receiver.messages[0]).toMatchObject({ account: ARC_ACCOUNT, sequence: 1, data: `#${ARC_ACCOUNT}|1130 01 015`, duplicate: false });
    expect(receiver.messages[0]?.event).toMatchObject({ kind: 'contact-id', code: 130, zone: 15 });

    // The panel did not hear the ACK and sends the same message again: acknowledged, kept once, relayed once.
    const again = nextEvent<[number, string, boolean]>(relay, 'stored');
    expect(await tcp.request(panelFrame({ sequence: 7, data: cid(15) }))).toMatchObject({ id: 'ACK', sequence: 7 });
    expect((await again)[2]).toBe(true);
    // An SIA event over UDP, after it: once it is delivered, anything relayed before it has arrived too.
    const udp = await panel(port, 'udp');
    const next = nextEvent(relay, 'delivered');
    expect(await udp.request(panelFrame({ id: 'SIA-DCS', sequence: 8, data: '#1234|Nri1/BA01' }))).toMatchObject({ id: 'ACK', sequence: 8 });
    await next;
    expect(receiver.messages.map((m) => [m.sequence, m.data, m.duplicate])).toEqual([
      [1, `#${ARC_ACCOUNT}|1130 01 015`, false],
      [2, `#${ARC_ACCOUNT}|Nri1/BA01`, false],
    ]);
    const events = await store.events('1234');
    expect(events.map((e) => e.state)).toEqual(['delivered', 'delivered']);
    for (const e of events) {
      expect(e.firstSentAt).toBeGreaterThanOrEqual(e.receivedAt);
      expect(e.ackedAt).toBeGreaterThanOrEqual(e.firstSentAt ?? Infinity);
    }
    const status = await relay.status();
    expect(status.panels[0]).toMatchObject({ account: '1234', path: 'ok', queued: 0, arc: { account: ARC_ACCOUNT, encrypted: false } });
    expect(status.timing).toMatchObject({ count: 2, class: 'D4' });
    expect(status.timing.p95Ms).toBeGreaterThanOrEqual(status.timing.meanMs ?? Infinity);
  });

  it('retransmits at the ACK timeout while the receiver is silent, keeps the event, and delivers it once when it answers', async () => {
    const receiver = await startReceiver({ silent: true });
    const { relay, store, port } = await startRelay(await dir(), {
      panels: [panelConfig(receiver, { retry: { ackTimeoutMs: 250, attempts: 3, backoffMs: 300, backoffMaxMs: 600 } })],
    });
    const tcp = await panel(port);
    const failed = nextEvent<[number, AlarmPathReport]>(relay, 'path', (_id, r) => r.state === 'failed');
    await tcp.request(panelFrame({ sequence: 1 }));
    const [, report] = await failed;
    expect(report).toMatchObject({ panel: '1234', state: 'failed', queued: 1, arc: { host: '127.0.0.1', account: ARC_ACCOUNT } });
    expect(report.reason).toMatch(/no answer within 250 ms \(3 attempts\)/);
    // The first round: the same message three times, one ACK timeout apart.
    const round = receiver.messages.slice(0, 3);
    expect(round.map((m) => [m.sequence, m.duplicate])).toEqual([
      [1, false],
      [1, true],
      [1, true],
    ]);
    for (let i = 1; i < round.length; i++) {
      const gap = Date.parse(round[i]?.receivedAt ?? '') - Date.parse(round[i - 1]?.receivedAt ?? '');
      expect(gap).toBeGreaterThanOrEqual(240);
    }
    expect((await store.events('1234'))[0]?.state).toBe('queued');
    expect((await relay.pendingPathReports()).map((p) => p.report.state)).toEqual(['failed']);

    const restored = nextEvent<[number, AlarmPathReport]>(relay, 'path', (_id, r) => r.state === 'ok');
    const delivered = nextEvent(relay, 'delivered');
    receiver.setSilent(false);
    await delivered;
    expect((await restored)[1]).toMatchObject({ state: 'ok', reason: 'the receiver answers again' });
    expect(unique(receiver)).toHaveLength(1);
    expect(new Set(receiver.messages.map((m) => m.sequence))).toEqual(new Set([1]));
    expect((await store.events('1234'))[0]?.state).toBe('delivered');
  });

  it('delivers a queue in order, once each, across a receiver restart', async () => {
    const receiver = await startReceiver({ delayMs: 50 });
    const { relay, store, port } = await startRelay(await dir(), {
      panels: [panelConfig(receiver, { retry: { ackTimeoutMs: 200, attempts: 2, backoffMs: 100, backoffMaxMs: 200 } })],
    });
    await receiver.down();
    const tcp = await panel(port);
    for (let zone = 1; zone <= 6; zone++) expect(await tcp.request(panelFrame({ sequence: zone, data: cid(zone) }))).toMatchObject({ id: 'ACK' });
    await receiver.up();
    // Restarted again after the second delivery, while the third is on its way.
    await waitUntil(() => unique(receiver).length >= 2, 'two deliveries');
    await receiver.restart();
    await waitUntil(async () => (await store.events('1234')).every((e) => e.state === 'delivered'), 'all six delivered');
    expect(unique(receiver).map((m) => m.event.kind === 'contact-id' && m.event.zone)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(unique(receiver).map((m) => m.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await relay.status()).panels[0]?.queued).toBe(0);
  });

  it('resumes a queue on disk after a restart of the relay: in order, once, with the sequence numbers it had', async () => {
    const receiver = await startReceiver({ silent: true });
    const d = await dir();
    const first = await startRelay(d, {
      panels: [panelConfig(receiver, { retry: { ackTimeoutMs: 200, attempts: 1, backoffMs: 5_000, backoffMaxMs: 5_000 } })],
    });
    const tcp = await panel(first.port);
    for (let zone = 1; zone <= 4; zone++) await tcp.request(panelFrame({ sequence: zone, data: cid(zone) }));
    // The first event went out (sequence 1 on disk) but was never acknowledged.
    await waitUntil(() => receiver.messages.length === 1, 'the first send');
    tcp.close();
    await first.stop();
    receiver.setSilent(false);

    // No configuration given: the relay runs from its own copy.
    const second = await startRelay(d, undefined, first.port);
    expect(second.relay.revision).toBe(1);
    await waitUntil(async () => (await second.store.events('1234')).every((e) => e.state === 'delivered'), 'the queue delivered');
    expect(unique(receiver).map((m) => [m.sequence, m.event.kind === 'contact-id' && m.event.zone])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
    expect(receiver.messages.filter((m) => m.duplicate).map((m) => m.sequence)).toEqual([1]);
    // Numbers are not handed out again after the restart.
    const p = await panel(second.port);
    const delivered = nextEvent(second.relay, 'delivered');
    await p.request(panelFrame({ sequence: 5, data: cid(5) }));
    await delivered;
    expect(receiver.messages.at(-1)?.sequence).toBe(5);
  });

  it('answers bad frames as a receiver does and keeps none of them', async () => {
    const receiver = await startReceiver();
    const KEY = '000102030405060708090A0B0C0D0E0F';
    const { store, port } = await startRelay(await dir(), {
      panels: [panelConfig(receiver), panelConfig(receiver, { account: '5678', key: KEY })],
    });
    const tcp = await panel(port);
    const good = (sequence: number): Buffer => panelFrame({ sequence, data: cid(sequence) });

    // Wrong CRC: no answer at all; the next frame's ACK is the first thing back.
    const corrupt = Buffer.from(good(1));
    corrupt[1] = corrupt[1] === 0x30 ? 0x31 : 0x30;
    tcp.send(corrupt);
    expect(await tcp.request(good(2))).toMatchObject({ id: 'ACK', sequence: 2 });
    // Longer than any frame: no answer either.
    tcp.send(Buffer.concat([Buffer.from('\n'), Buffer.alloc(5_000, 0x41), Buffer.from('\r')]));
    expect(await tcp.request(good(3))).toMatchObject({ id: 'ACK', sequence: 3 });
    // An account the box does not receive for, and a timestamp out of the window: NAK with the box's time.
    const nak1 = await tcp.request(panelFrame({ sequence: 4, account: '9999', data: '#9999|1130 01 004' }));
    expect(nak1).toMatchObject({ id: 'NAK', sequence: 0 });
    expect(Math.abs((nak1.timestamp?.getTime() ?? 0) - Date.now())).toBeLessThan(5_000);
    expect(await tcp.request(panelFrame({ sequence: 5, data: cid(5), timestamp: new Date(Date.now() - 5 * 60_000) }))).toMatchObject({ id: 'NAK' });
    // Intact but meaningless: DUH.
    expect(await tcp.request(panelFrame({ sequence: 6, data: '#1234|garbage' }))).toMatchObject({ id: 'DUH', sequence: 6 });
    // A panel with a key: encrypted messages get an encrypted ACK, plain ones a DUH.
    expect(await tcp.request(panelFrame({ sequence: 7, account: '5678', data: '#5678|1130 01 007', key: KEY }), KEY)).toMatchObject({
      id: 'ACK',
      encrypted: true,
      sequence: 7,
    });
    expect(await tcp.request(panelFrame({ sequence: 8, account: '5678', data: '#5678|1130 01 008' }))).toMatchObject({ id: 'DUH' });
    // The same over UDP: a datagram too long for a frame gets nothing, a good one its ACK.
    const udp = await panel(port, 'udp');
    udp.send(Buffer.alloc(9_000, 0x41));
    expect(await udp.request(good(9))).toMatchObject({ id: 'ACK', sequence: 9 });

    expect((await store.events('1234')).map((e) => e.data)).toEqual([cid(2), cid(3), cid(9)]);
    expect((await store.events('5678')).map((e) => e.data)).toEqual(['#5678|1130 01 007']);
    expect(await store.events('9999')).toEqual([]);
  });

  it('supervises an idle path with NULL messages and reports its failure and recovery', async () => {
    const receiver = await startReceiver();
    const { relay } = await startRelay(await dir(), {
      panels: [panelConfig(receiver, { pollingMs: 150, retry: { ackTimeoutMs: 200, attempts: 2, backoffMs: 200, backoffMaxMs: 400 } })],
    });
    await nextEvent(receiver, 'supervision', () => receiver.state.supervision.count >= 2);
    expect(receiver.state.supervision.byAccount[ARC_ACCOUNT]?.count).toBeGreaterThanOrEqual(2);
    expect((await relay.status()).panels[0]?.path).toBe('ok');
    // Unknown becoming ok is no news: nothing reported yet.
    expect(await relay.pendingPathReports()).toEqual([]);

    const failed = nextEvent<[number, AlarmPathReport]>(relay, 'path', (_id, r) => r.state === 'failed');
    await receiver.down();
    const [id, report] = await failed;
    expect(report.reason).toMatch(/^supervision: /);
    expect((await relay.status()).panels[0]?.path).toBe('failed');

    const restored = nextEvent<[number, AlarmPathReport]>(relay, 'path', (_i, r) => r.state === 'ok');
    await receiver.up();
    await restored;
    expect((await relay.pendingPathReports()).map((p) => p.report.state)).toEqual(['failed', 'ok']);
    await relay.ackPathReport(id);
    expect((await relay.pendingPathReports()).map((p) => p.report.state)).toEqual(['ok']);
  });

  it('sends again on the receiver time after a NAK for its clock', async () => {
    // The receiver's clock is two minutes ahead of the box's.
    const receiver = await startReceiver({ clockOffsetMs: 120_000 });
    const { relay, port } = await startRelay(await dir(), { panels: [panelConfig(receiver)] });
    const delivered = nextEvent(relay, 'delivered');
    await (await panel(port)).request(panelFrame({ sequence: 1 }));
    await delivered;
    expect(receiver.rejected.map((r) => r.reason)).toEqual(['timestamp']);
    expect(unique(receiver)).toHaveLength(1);
    expect(Math.abs(Date.parse(receiver.messages[0]?.timestamp ?? '') - (Date.now() + 120_000))).toBeLessThan(5_000);
  });

  it('relays to an encrypted UDP receiver, keeps server-only events queued, and forwards only the chosen event types', async () => {
    const KEY = 'F0E1D2C3B4A5968778695A4B3C2D1E0FF0E1D2C3B4A5968778695A4B3C2D1E0F';
    const receiver = await startReceiver({ accounts: { [ARC_ACCOUNT]: KEY } });
    const udpRoute = { host: '127.0.0.1', port: receiver.endpoints.udp, transport: 'udp' as const, account: ARC_ACCOUNT, key: KEY };
    const config = panelConfig(receiver, { arc: udpRoute, connectionMode: 'server_only', eventTypes: ['alarm', 'fire'] });
    const { relay, store, port } = await startRelay(await dir(), { panels: [config] });
    const tcp = await panel(port);
    await tcp.request(panelFrame({ sequence: 1, data: cid(1) }));
    // An opening (arm/disarm) is acknowledged and kept, but not for this ARC.
    await tcp.request(panelFrame({ sequence: 2, data: '#1234|1401 01 003' }));
    await tcp.request(panelFrame({ sequence: 3, id: 'SIA-DCS', data: '#1234|Nri1/FA02' }));
    await waitUntil(async () => (await relay.status()).panels[0]?.queued === 2, 'two events queued');
    expect((await relay.status()).panels[0]).toMatchObject({ path: 'server', queued: 2 });
    expect((await store.events('1234')).map((e) => e.state)).toEqual(['queued', 'filtered', 'queued']);

    await relay.configure(2, { panels: [{ ...config, connectionMode: 'direct_or_server' }] });
    await waitUntil(() => unique(receiver).length === 2, 'both forwarded events');
    expect(unique(receiver).map((m) => [m.encrypted, m.transport, m.data])).toEqual([
      [true, 'udp', `#${ARC_ACCOUNT}|1130 01 001`],
      [true, 'udp', `#${ARC_ACCOUNT}|Nri1/FA02`],
    ]);
  });

  it('relays a simulated AX PRO panel that reports to the box', async () => {
    const receiver = await startReceiver();
    const { relay, port } = await startRelay(await dir(), { panels: [panelConfig(receiver)] });
    const reporter = new ArcReporter({
      ...defaultPanelArcSettings(),
      enabled: true,
      accountCode: '1234',
      receiver: { host: '127.0.0.1', port, transport: 'tcp' },
      impulseCountingTimeSec: 1,
      pollingRateSec: 0.1,
    });
    cleanups.push(() => reporter.stop());
    reporter.start();
    const delivered = nextEvent(relay, 'delivered');
    reporter.report({ kind: 'burglary', area: 1, zone: 3 });
    await delivered;
    expect(unique(receiver).map((m) => m.data)).toEqual([`#${ARC_ACCOUNT}|1130 01 003`]);
    // The panel's NULL polls are answered by the box and seen in the status.
    await nextEvent(reporter, 'poll', (acknowledged: boolean) => acknowledged);
    expect((await relay.status()).panels[0]?.lastPanelMessageAt).not.toBeNull();
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { arcTo, drained, gaps, KEY_128, nextMessages, PanelLab, simControl, when } from './testing.js';
import type { PanelEventRecord } from './reporter.js';

const lab = new PanelLab();
afterEach(() => lab.close());

/** Timer slack allowed on a loaded machine (2 cores running the whole suite): never early, at most this late. */
const LATE_MS = 400;

describe('retransmission (seed scenario 14)', () => {
  it('sends exactly `attempts` times an impulse counting time apart to a receiver that withholds its ACK, then queues a communication failure', async () => {
    const r = await lab.receiver({ silent: true });
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r, { impulseCountingTimeSec: 0.2, attempts: 3, pollingRateSec: 0.3 }), retryDelayMs: 60_000 });
    const failed = when<[PanelEventRecord]>(p.arc, 'failed');
    await simControl(p, { fire: true });
    const [rec] = await failed;
    const copies = r.messages.filter((m) => m.event.kind === 'contact-id' && m.event.code === 110);
    expect(copies).toHaveLength(3);
    expect(new Set(copies.map((m) => m.sequence)).size).toBe(1);
    expect(copies.map((m) => m.duplicate)).toEqual([false, true, true]);
    for (const gap of gaps(copies.map((m) => m.receivedAt))) {
      expect(gap).toBeGreaterThanOrEqual(195);
      expect(gap).toBeLessThan(200 + LATE_MS);
    }
    expect(rec).toMatchObject({ kind: 'fire', delivery: 'queued', transmissions: 3 });
    expect(rec.failedAt).toHaveLength(1);
    // Nothing is given up: the alarm stays first, the trouble is queued behind it.
    const state = p.state.arc;
    expect(state).toMatchObject({ queued: 2, commFailure: true, counters: { failedRounds: 1 } });
    expect(state.events.map((e) => [e.kind, e.delivery])).toEqual([
      ['fire', 'queued'],
      ['comm_failure', 'queued'],
    ]);
    expect(state.transmissions.filter((t) => t.kind === 'event').map((t) => [t.attempt, t.result])).toEqual([
      [1, 'timeout'],
      [2, 'timeout'],
      [3, 'timeout'],
    ]);

    // Once the receiver answers a poll again, the alarm goes at once, then the trouble.
    r.setSilent(false);
    await drained(p);
    const delivered = r.messages.filter((m) => m.answer === 'ACK').map((m) => (m.event.kind === 'contact-id' ? [m.event.code, m.duplicate] : []));
    expect(delivered).toEqual([
      [110, true],
      [354, false],
    ]);
    expect(p.state.arc).toMatchObject({ queued: 0, commFailure: false, retryAt: null });
  });

  it('retransmits after a NAK, stamped with the receiver time it carries', async () => {
    const r = await lab.receiver({ accounts: { '1234': KEY_128 }, clockOffsetMs: 3_600_000 });
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r, { key: KEY_128, impulseCountingTimeSec: 0.2 }) });
    await simControl(p, { panic: true });
    await drained(p);
    expect(p.state.arc.transmissions.map((t) => t.result)).toEqual(['nak', 'ack']);
    expect(Math.abs(p.state.arc.clockOffsetMs - 3_600_000)).toBeLessThan(5000);
    expect(r.rejected.map((x) => x.reason)).toEqual(['timestamp']);
    expect(r.messages).toMatchObject([{ encrypted: true, answer: '*ACK' }]);
  });
});

describe('timers', () => {
  it('sends a periodic test at the set interval', async () => {
    const r = await lab.receiver();
    const tests = nextMessages(r, 3, (m) => m.event.kind === 'contact-id' && m.event.code === 602);
    const started = Date.now();
    await lab.panel({ model: 'AX PRO', arc: arcTo(r, { periodicTest: true, periodicTestIntervalSec: 0.3 }) });
    const got = await tests;
    expect(Date.parse(got[0]!.receivedAt) - started).toBeGreaterThanOrEqual(295);
    for (const gap of gaps(got.map((m) => m.receivedAt))) {
      expect(gap).toBeGreaterThanOrEqual(250);
      expect(gap).toBeLessThan(300 + LATE_MS);
    }
    expect(got[0]).toMatchObject({ data: '#1234|1602 00 000' });
  });

  it('reports a trouble present in the periodic test', async () => {
    const r = await lab.receiver();
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r) });
    const sent = nextMessages(r, 2);
    await simControl(p, { acLoss: true, periodicTest: true });
    expect((await sent).map((m) => m.data)).toEqual(['#1234|1301 00 000', '#1234|1608 00 000']);
  });

  it('sends NULL supervision messages at the polling rate, encrypted with the key', async () => {
    const r = await lab.receiver({ accounts: { '1234': KEY_128 } });
    const polls: number[] = [];
    const four = new Promise<void>((resolve) =>
      r.on('supervision', () => {
        if (polls.push(Date.now()) === 4) resolve();
      }),
    );
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r, { key: KEY_128, pollingRateSec: 0.2 }) });
    let answered = 0;
    const fourAnswered = when(p.arc, 'poll', (ack: boolean) => ack && ++answered === 4);
    await Promise.all([four, fourAnswered]);
    for (const gap of polls.slice(1).map((t, i) => t - polls[i]!)) {
      expect(gap).toBeGreaterThanOrEqual(180);
      expect(gap).toBeLessThan(200 + LATE_MS);
    }
    expect(r.messages).toHaveLength(0);
    expect(r.rejected).toHaveLength(0);
    expect(p.state.arc.counters).toMatchObject({ polls: 4, pollsAcknowledged: 4 });
  });
});

describe('queueing', () => {
  it('keeps events in order while the receiver is down and delivers them all once it is up', async () => {
    const r = await lab.receiver();
    await r.down();
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r, { impulseCountingTimeSec: 0.1, attempts: 2, pollingRateSec: 0.15 }), retryDelayMs: 60_000 });
    const failed = when(p.arc, 'failed');
    p.setAcPowerLoss(true);
    p.setBatteryLow(true);
    p.tamper();
    p.button('panic');
    await failed;
    expect(p.state.arc.events.map((e) => [e.kind, e.delivery])).toEqual([
      ['ac_loss', 'queued'],
      ['low_battery', 'queued'],
      ['tamper', 'queued'],
      ['panic', 'queued'],
      ['comm_failure', 'queued'],
    ]);
    expect(p.state.arc.transmissions.every((t) => t.result === 'unreachable')).toBe(true);
    await r.up();
    await drained(p);
    const got = r.messages.map((m) => (m.event.kind === 'contact-id' ? m.event.code : 0));
    expect(got).toEqual([301, 302, 137, 120, 354]);
    const sequences = r.messages.map((m) => m.sequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    expect(r.messages.every((m) => !m.duplicate)).toBe(true);
  });

  it('keeps sending over one TCP connection, and moves to a new receiver when told', async () => {
    const first = await lab.receiver();
    const second = await lab.receiver();
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(first) });
    await simControl(p, { acLoss: true, batteryLow: true });
    await drained(p);
    expect(first.state.counters.tcpConnections).toBe(1);
    expect(p.state.arc.connected).toBe(true);
    expect((await simControl(p, { arc: { receiver: { port: second.endpoints.tcp } } })).status).toBe(200);
    await simControl(p, { acLoss: false });
    await drained(p);
    expect(first.messages).toHaveLength(2);
    expect(second.messages.map((m) => m.data)).toEqual(['#1234|3301 00 000']);
  });
});

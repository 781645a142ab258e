import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ContactIdQualifier, decodeDc09Frame, Dc09FrameSplitter, Dc09Token, encodeContactId, encodeDc09Frame, type Dc09Key } from '@vigil/protocol';
import type { ArcTransmission } from '@vigil/protocol/api';
import { ALARM_ACCOUNT, ALARM_PORT, ARC_KEY, startAlarmSite, type AlarmSite } from '../harness/alarm-site.js';
import { lanUnsupported } from '../harness/lan.js';
import { isClosing, onRelease } from './procs.js';
import { fmt, percentile, printTable, round, verdict } from './report.js';

/**
 * The alarm path's targets (DESIGN.md): panel event to receiver ACK p99 < 250 ms direct and < 1 s via the cloud,
 * failover within the panel's impulse time x attempts, and a sustained rate with zero loss and zero duplicates.
 *
 * The site is the fault tests' (harness/alarm-site.ts): the box in its own network namespace, the cloud, the ARC's
 * receiver simulator. The bench speaks DC-09 to the box's panel port itself, as the panel would (account, plain
 * Contact ID, one message in flight), rather than through the panel simulator: it then stamps each send at the
 * socket write, with no HTTP trigger or simulator queue in between, and can offer alarms faster than a simulated
 * panel raises them. Arrival is the receiver's own record (`receivedAt`, the moment its ACK is decided, 1 ms
 * resolution: taken as the middle of its millisecond). The baselines are the same client sending the same
 * messages, encrypted as the box sends them, straight to that receiver from the root namespace.
 */

export interface AlarmBenchOptions {
  /** Alarms sent one at a time on each path, for the latency figures. */
  alarms: number;
  failoverRounds: number;
  /** How long alarms are offered back to back in the sustained run. */
  sustainSec: number;
  /** Messages in flight on the panel connection in the sustained run (a panel keeps one). */
  window: number;
}

const P99_DIRECT_MS = 250;
const P99_CLOUD_MS = 1000;
/** Impulse counting time and attempts for the failover rounds; polls every second so a restored path is seen. */
const FAILOVER_TRANSMISSION: ArcTransmission = { impulseCountingTimeSec: 1, attempts: 2, pollingRateSec: 1 };
const LATENCY_TRANSMISSION: ArcTransmission = { impulseCountingTimeSec: 1, attempts: 2, pollingRateSec: 0 };
/** The receiver simulator keeps its last 10,000 messages: a sustained run stays below that. */
const SUSTAIN_MAX_ALARMS = 9000;
const ANSWER_TIMEOUT_MS = 10_000;
/** Alarms by the measured path before measuring it. */
const WARMUP_ALARMS = 5;
/** Alarms raised back to back through the cloud, as when an intruder trips several zones at once. */
const BURST_ALARMS = 20;
const ARRIVAL_TIMEOUT_MS = 30_000;

/** Epoch milliseconds with a fraction, comparable with the receiver's Date-based `receivedAt`. */
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function checkOpen(): void {
  if (isClosing()) throw new Error('alarm bench interrupted');
}

/**
 * A DC-09 sender over one TCP connection: frames go out back to back, and the answers come back in order (the
 * box and the receiver both answer a connection's frames in order). A NAK or DUH fails its alarm; silence or a
 * closed connection fails every alarm in flight.
 */
class Dc09Client {
  private readonly waiting: { sequence: number; resolve: (at: number) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }[] = [];
  private readonly splitter = new Dc09FrameSplitter();

  private constructor(
    private readonly socket: Socket,
    private readonly key: Dc09Key | null,
    readonly name: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.splitter.push(chunk).frames) this.onAnswer(f);
    });
    socket.on('error', (err) => this.failAll(new Error(`${name}: ${err.message}`)));
    socket.on('close', () => this.failAll(new Error(`${name}: connection closed`)));
  }

  static open(name: string, host: string, port: number, key: Dc09Key | null): Promise<Dc09Client> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new Dc09Client(socket, key, name));
      });
      socket.once('error', reject);
    });
  }

  /** Sends an alarm; resolves with the time its ACK arrived. */
  send(n: number): Promise<number> {
    const alarm = alarmFrame(n, this.key);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.failAll(new Error(`${this.name}: no answer to alarm ${n} within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
      this.waiting.push({ sequence: alarm.sequence, resolve, reject, timer });
      this.socket.write(alarm.frame);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onAnswer(frame: Buffer): void {
    const at = now();
    const head = this.waiting.shift();
    if (!head) return;
    clearTimeout(head.timer);
    const decoded = decodeDc09Frame(frame, (h) => (h.encrypted ? this.key : null));
    if (decoded.ok && decoded.value.id === Dc09Token.ack && decoded.value.sequence === head.sequence) return head.resolve(at);
    const what = decoded.ok ? `${decoded.value.id} ${decoded.value.sequence}` : decoded.error;
    head.reject(new Error(`${this.name}: answered ${what} to sequence ${head.sequence}`));
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.socket.destroy();
  }
}

/**
 * Alarm n: a burglary on partition n / 999 and zone n % 999 + 1, so that every alarm of a run has its own content
 * (the box and the receiver take a repeat of account, sequence and content for a retransmission).
 */
function alarmContent(n: number): string {
  const cid = encodeContactId({ qualifier: ContactIdQualifier.newEvent, code: 130, partition: Math.floor(n / 999) % 100, zone: (n % 999) + 1 });
  if (!cid.ok) throw new Error(cid.error);
  return cid.value;
}

function alarmFrame(n: number, key: Dc09Key | null): { frame: Buffer; sequence: number } {
  const sequence = (n % 9999) + 1;
  const frame = encodeDc09Frame({ id: Dc09Token.contactId, sequence, account: ALARM_ACCOUNT, data: `#${ALARM_ACCOUNT}|${alarmContent(n)}`, timestamp: new Date(), key });
  if (!frame.ok) throw new Error(frame.error);
  return { frame: frame.value, sequence };
}

interface Arrival {
  n: number;
  /** `receivedAt` taken as the middle of its millisecond. */
  at: number;
  direct: boolean;
  duplicate: boolean;
}

/** What the receiver accepted of alarms `from` .. `from + count - 1`, in arrival order. */
async function arrivals(site: AlarmSite, from: number, count: number): Promise<Arrival[]> {
  const byContent = new Map<string, number>();
  for (let n = from; n < from + count; n++) byContent.set(alarmContent(n), n);
  const edgeIp = site.lan.uplink!.edgeIp;
  const out: Arrival[] = [];
  for (const m of await site.received()) {
    const n = byContent.get(m.data.slice(m.data.lastIndexOf('|') + 1));
    if (n === undefined) continue;
    out.push({ n, at: Date.parse(m.receivedAt) + 0.5, direct: m.remote.split(':')[0] === edgeIp, duplicate: m.duplicate });
  }
  return out;
}

/** Polls the receiver until alarm n is there. */
async function arrivalOf(site: AlarmSite, n: number, pollMs: number, timeoutMs = ARRIVAL_TIMEOUT_MS): Promise<Arrival> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    checkOpen();
    const a = (await arrivals(site, n, 1)).find((x) => !x.duplicate);
    if (a) return a;
    if (Date.now() > end) throw new Error(`alarm ${n} did not reach the receiver within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

interface Latency {
  p50: number;
  p99: number;
  max: number;
}
const latency = (samples: number[]): Latency => ({ p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples) });

export interface PathFigures {
  alarms: number;
  /** Panel send to receiver acceptance. */
  arrival: Latency;
  /** Panel send to the box's ACK (the alarm is on the box's disk). */
  boxAck: Latency;
  /** Alarms that arrived by the other path than the one measured. */
  otherPath: number;
}

export interface AlarmBenchResult {
  baseline: { alarms: number; ackRoundTrip: Latency; arrival: Latency };
  direct: PathFigures;
  cloud: PathFigures;
  /** Alarms sent back to back in server-only mode: each one's latency, and whether all arrived once, in order. */
  cloudBurst: { alarms: number; arrival: Latency; otherPath: number; intact: boolean };
  failover: {
    rounds: number;
    floorMs: number;
    ms: number[];
    medianMs: number;
    maxMs: number;
    viaCloud: number;
    /** From restoring the direct path to the box's first live poll through it, each round. */
    backMs: number[];
  };
  sustained: {
    seconds: number;
    window: number;
    alarms: number;
    /** The box's ACKs to the panel per second while alarms were offered. */
    intakePerSec: number;
    /** Alarms per second from the first send to the last arrival at the receiver. */
    relayedPerSec: number;
    /** The last arrival after the last ACK to the panel: the backlog the box worked off. */
    drainMs: number;
    missing: number;
    /** Alarms accepted under a second sequence number (retransmissions the receiver recognized are not counted). */
    duplicates: number;
    retransmissions: number;
    inOrder: boolean;
    baselinePerSec: number;
  };
}

/** Sets the panel's connection mode and transmission settings through the installer's API. */
async function setPanel(site: AlarmSite, connectionMode: 'direct_or_server' | 'server_only', transmission: ArcTransmission): Promise<void> {
  const res = await site.installer.call('PUT', `/sites/${site.siteId}/arc/panels/${site.panelId}`, {
    accountNumber: ALARM_ACCOUNT,
    eventTypes: ['alarm', 'panic', 'fire', 'tamper', 'fault'],
    connectionMode,
    transmission,
  });
  if (res.status !== 200) throw new Error(`changing the panel's ARC service failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Runs the alarm benchmarks on one site and prints their table; null (with the reason printed) where they cannot run. */
export async function runAlarmBench(logDir: string, opts: AlarmBenchOptions): Promise<AlarmBenchResult | null> {
  const unsupported = lanUnsupported();
  if (unsupported) {
    process.stdout.write(`Alarm path: skipped, ${unsupported}.\n\n`);
    return null;
  }
  // The cloud's production job poll, not the tests' 100 ms: a job queued while others run waits for the next poll.
  const site = await startAlarmSite({ dir: logDir, transmission: LATENCY_TRANSMISSION, cloudEnv: { VIGIL_JOB_POLL_MS: '1000' } });
  onRelease('alarm site', () => site.stop());
  checkOpen();
  const clients: Dc09Client[] = [];
  // The box's alarm worker may still be starting: its port is tried until it listens.
  const open = async (name: string, host: string, port: number, key: Dc09Key | null) => {
    const end = Date.now() + 60_000;
    for (;;) {
      checkOpen();
      try {
        const c = await Dc09Client.open(name, host, port, key);
        clients.push(c);
        return c;
      } catch (err) {
        if (Date.now() > end) throw err;
        await sleep(200);
      }
    }
  };
  try {
    const edgeIp = site.lan.uplink!.edgeIp;
    const panel = await open('panel connection to the box', edgeIp, ALARM_PORT, null);
    const straight = await open('connection straight to the receiver', site.receiver.host, site.receiver.tcp, ARC_KEY);
    const ids = new AlarmIds();

    // The box takes the panel's account only once the cloud has configured it: the first ACK says it has.
    await eventuallyAccepted(panel, ids);

    const baseline = await baselineLatency(site, straight, opts.alarms, ids);
    await warmUp(site, panel, true, ids);
    const direct = await pathLatency(site, panel, opts.alarms, true, ids);
    const sustained = await sustain(site, panel, straight, opts, ids);

    await setPanel(site, 'server_only', LATENCY_TRANSMISSION);
    await warmUp(site, panel, false, ids);
    const cloud = await pathLatency(site, panel, opts.alarms, false, ids);
    const cloudBurst = await burst(site, panel, BURST_ALARMS, ids);

    const configuredAt = Date.now();
    await setPanel(site, 'direct_or_server', FAILOVER_TRANSMISSION);
    // A live poll shows the box is on the direct path again, with the failover settings.
    await untilPolled(site, configuredAt);
    const failover = await failoverRounds(site, panel, opts.failoverRounds, ids);

    const result: AlarmBenchResult = { baseline, direct, cloud, cloudBurst, failover, sustained };
    print(result, opts);
    return result;
  } finally {
    for (const c of clients) c.close();
  }
}

/** Numbers the alarms of the whole run, so that no two share their content. */
class AlarmIds {
  private n = 0;
  get next(): number {
    return this.n;
  }
  take(count = 1): number {
    const first = this.n;
    this.n += count;
    return first;
  }
}

/** Sends alarms until one is acknowledged (the box refuses an account it does not know yet). */
async function eventuallyAccepted(panel: Dc09Client, ids: AlarmIds): Promise<void> {
  const end = Date.now() + 60_000;
  let last: unknown;
  while (Date.now() < end) {
    checkOpen();
    try {
      await panel.send(ids.take());
      return;
    } catch (err) {
      last = err;
      await sleep(200);
    }
  }
  throw new Error(`the box did not take the panel's alarms within 60 s: ${String(last)}`);
}

async function baselineLatency(site: AlarmSite, straight: Dc09Client, count: number, ids: AlarmIds): Promise<AlarmBenchResult['baseline']> {
  const first = ids.take(count);
  const sent: number[] = [];
  const roundTrips: number[] = [];
  for (let i = 0; i < count; i++) {
    checkOpen();
    const t = now();
    sent.push(t);
    roundTrips.push((await straight.send(first + i)) - t);
  }
  const got = (await arrivals(site, first, count)).filter((a) => !a.duplicate);
  if (got.length !== count) throw new Error(`the receiver kept ${got.length} of ${count} baseline alarms`);
  return { alarms: count, ackRoundTrip: latency(roundTrips), arrival: latency(got.map((a) => a.at - sent[a.n - first]!)) };
}

/** One alarm at a time: each is sent once the previous one is at the receiver, so none waits behind another. */
async function pathLatency(site: AlarmSite, panel: Dc09Client, count: number, direct: boolean, ids: AlarmIds): Promise<PathFigures> {
  const arrival: number[] = [];
  const boxAck: number[] = [];
  let otherPath = 0;
  for (let i = 0; i < count; i++) {
    const n = ids.take();
    const t = now();
    boxAck.push((await panel.send(n)) - t);
    const a = await arrivalOf(site, n, direct ? 5 : 20);
    arrival.push(a.at - t);
    if (a.direct !== direct) otherPath++;
  }
  return { alarms: count, arrival: latency(arrival), boxAck: latency(boxAck), otherPath };
}

/** Alarms back to back through the cloud (each sent once the box has acknowledged the one before). */
async function burst(site: AlarmSite, panel: Dc09Client, count: number, ids: AlarmIds): Promise<AlarmBenchResult['cloudBurst']> {
  const first = ids.take(count);
  const sent: number[] = [];
  for (let i = 0; i < count; i++) {
    sent.push(now());
    await panel.send(first + i);
  }
  await arrivalOf(site, first + count - 1, 50, ARRIVAL_TIMEOUT_MS * 2);
  const fresh = (await arrivals(site, first, count)).filter((a) => !a.duplicate);
  const intact = fresh.length === count && fresh.every((a, i) => a.n === first + i);
  return { alarms: count, arrival: latency(fresh.map((a) => a.at - sent[a.n - first]!)), otherPath: fresh.filter((a) => a.direct).length, intact };
}

/**
 * Sends alarms until one arrives by the wanted path (the box has applied a new connection mode), then a few more:
 * first connections and cold code are not what the latency figures are about.
 */
async function warmUp(site: AlarmSite, panel: Dc09Client, direct: boolean, ids: AlarmIds): Promise<void> {
  const end = Date.now() + 60_000;
  for (let onPath = 0; onPath < WARMUP_ALARMS; ) {
    if (Date.now() > end) throw new Error(`alarms still do not arrive ${direct ? 'directly' : 'through the cloud'} after 60 s`);
    const n = ids.take();
    await panel.send(n);
    if ((await arrivalOf(site, n, 20)).direct === direct) onPath++;
  }
}

/** Waits for the receiver's first live poll after `after`, and returns its time. */
async function untilPolled(site: AlarmSite, after: number): Promise<number> {
  const end = Date.now() + 60_000;
  for (;;) {
    checkOpen();
    const at = await site.lastPollAt();
    if (at > after) return at;
    if (Date.now() > end) throw new Error('the box did not poll the receiver within 60 s');
    await sleep(50);
  }
}

/**
 * Each round: with the direct path up (a live poll since it was restored), cut it, raise an alarm, and time it to
 * the receiver. The box must first give the direct path its attempts, each waiting the impulse counting time.
 */
async function failoverRounds(site: AlarmSite, panel: Dc09Client, rounds: number, ids: AlarmIds): Promise<AlarmBenchResult['failover']> {
  const floorMs = FAILOVER_TRANSMISSION.impulseCountingTimeSec * 1000 * FAILOVER_TRANSMISSION.attempts;
  const ms: number[] = [];
  const backMs: number[] = [];
  let viaCloud = 0;
  for (let r = 0; r < rounds; r++) {
    await site.cutDirect();
    const n = ids.take();
    const t = now();
    await panel.send(n);
    const a = await arrivalOf(site, n, 20, floorMs + ARRIVAL_TIMEOUT_MS);
    ms.push(a.at - t);
    if (!a.direct) viaCloud++;
    const restoredAt = Date.now();
    await site.restoreDirect();
    backMs.push((await untilPolled(site, restoredAt)) - restoredAt);
  }
  return { rounds, floorMs, ms, medianMs: percentile(ms, 50), maxMs: Math.max(...ms), viaCloud, backMs };
}

/** Keeps `window` alarms in flight on a connection for `seconds` (or up to `max` alarms); returns the sends' span. */
async function offer(client: Dc09Client, first: number, seconds: number, max: number, window: number): Promise<{ count: number; startedAt: number; lastAckAt: number }> {
  const startedAt = now();
  const until = startedAt + seconds * 1000;
  let count = 0;
  let lastAckAt = startedAt;
  const lane = async (): Promise<void> => {
    while (count < max && now() < until && !isClosing()) {
      const n = first + count++;
      lastAckAt = Math.max(lastAckAt, await client.send(n));
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  checkOpen();
  return { count, startedAt, lastAckAt };
}

/**
 * The box takes alarms back to back for a while and relays them; then every one must be at the receiver once, in
 * the order sent. The baseline is the receiver taking as many of the same alarms straight from the client.
 */
async function sustain(
  site: AlarmSite,
  panel: Dc09Client,
  straight: Dc09Client,
  opts: AlarmBenchOptions,
  ids: AlarmIds,
): Promise<AlarmBenchResult['sustained']> {
  await site.receiverControl({ clear: true });
  const first = ids.next;
  const run = await offer(panel, first, opts.sustainSec, SUSTAIN_MAX_ALARMS, opts.window);
  ids.take(run.count);
  // Until all are there, or nothing more arrives for a while (then what is missing shows in the figures).
  // Polled seldom: each answer carries the receiver's whole record.
  let got: Arrival[] = [];
  let seen = new Set<number>();
  for (let progressAt = Date.now(); seen.size < run.count && Date.now() - progressAt < ARRIVAL_TIMEOUT_MS; ) {
    checkOpen();
    await sleep(500);
    const latest = await arrivals(site, first, run.count);
    if (latest.length > got.length) progressAt = Date.now();
    got = latest;
    seen = new Set(got.filter((a) => !a.duplicate).map((a) => a.n));
  }
  const fresh = got.filter((a) => !a.duplicate);
  const lastAt = Math.max(...fresh.map((a) => a.at));
  const inOrder = fresh.every((a, i) => a.n === first + i);

  await site.receiverControl({ clear: true });
  const base = ids.next;
  const b = await offer(straight, base, 3600, run.count, opts.window);
  ids.take(b.count);
  const baseGot = (await arrivals(site, base, b.count)).filter((a) => !a.duplicate);
  if (baseGot.length !== b.count) throw new Error(`the receiver kept ${baseGot.length} of ${b.count} baseline alarms`);

  return {
    seconds: opts.sustainSec,
    window: opts.window,
    alarms: run.count,
    intakePerSec: run.count / ((run.lastAckAt - run.startedAt) / 1000),
    relayedPerSec: fresh.length / ((lastAt - run.startedAt) / 1000),
    drainMs: Math.max(0, lastAt - run.lastAckAt),
    missing: run.count - seen.size,
    duplicates: fresh.length - seen.size,
    retransmissions: got.length - fresh.length,
    inOrder,
    baselinePerSec: b.count / ((b.lastAckAt - b.startedAt) / 1000),
  };
}

const ms = (n: number, digits = 1) => `${fmt(n, digits)} ms`;

function print(r: AlarmBenchResult, opts: AlarmBenchOptions): void {
  const { baseline: b, direct: d, cloud: c, cloudBurst: cb, failover: f, sustained: s } = r;
  const burstOk = cb.arrival.max < P99_CLOUD_MS && cb.otherPath === 0 && cb.intact;
  const directOk = d.arrival.p99 < P99_DIRECT_MS && d.otherPath === 0;
  const cloudOk = c.arrival.p99 < P99_CLOUD_MS && c.otherPath === 0;
  printTable(
    `Alarm latency: ${fmt(opts.alarms)} Contact ID alarms one at a time, DC-09 sent as a panel does -> receiver acceptance (its recorded arrival)`,
    ['path', 'p50', 'p99', 'max', 'p50 ratio', 'p99 ratio', 'target'],
    [
      ['baseline: straight to the receiver, ACK round trip', ms(b.ackRoundTrip.p50, 2), ms(b.ackRoundTrip.p99, 2), ms(b.ackRoundTrip.max, 2), '', '', ''],
      ['baseline: straight to the receiver, arrival', ms(b.arrival.p50), ms(b.arrival.p99), ms(b.arrival.max), '', '', ''],
      ['direct: panel -> box -> receiver, ACK from the box', ms(d.boxAck.p50), ms(d.boxAck.p99), ms(d.boxAck.max), '', '', ''],
      [
        'direct: panel -> box -> receiver, arrival',
        ms(d.arrival.p50),
        ms(d.arrival.p99),
        ms(d.arrival.max),
        `${fmt(d.arrival.p50 / b.ackRoundTrip.p50, 1)} x baseline`,
        `${fmt(d.arrival.p99 / b.ackRoundTrip.p99, 1)} x baseline`,
        `p99 < ${P99_DIRECT_MS} ms ${verdict(directOk)}`,
      ],
      [
        'server only: panel -> box -> cloud -> receiver, arrival',
        ms(c.arrival.p50),
        ms(c.arrival.p99),
        ms(c.arrival.max),
        `${fmt(c.arrival.p50 / d.arrival.p50, 1)} x direct`,
        `${fmt(c.arrival.p99 / d.arrival.p99, 1)} x direct`,
        `p99 < ${fmt(P99_CLOUD_MS)} ms ${verdict(cloudOk)}`,
      ],
      [
        `server only, ${cb.alarms} back to back${cb.intact ? '' : ' (NOT all once, in order)'}`,
        ms(cb.arrival.p50),
        ms(cb.arrival.p99),
        ms(cb.arrival.max),
        `${fmt(cb.arrival.p50 / c.arrival.p50, 1)} x one at a time`,
        '',
        `max < ${fmt(P99_CLOUD_MS)} ms ${verdict(burstOk)}`,
      ],
    ],
  );
  if (d.otherPath + c.otherPath > 0) process.stdout.write(`  note: ${d.otherPath} direct and ${c.otherPath} server-only alarms arrived by the other path.\n\n`);

  const failoverOk = f.viaCloud === f.rounds && f.maxMs <= f.floorMs + P99_CLOUD_MS;
  printTable(
    `Failover: direct path cut (blackholed) just before an alarm; impulse counting time ${FAILOVER_TRANSMISSION.impulseCountingTimeSec} s x ${FAILOVER_TRANSMISSION.attempts} attempts; ${f.rounds} rounds`,
    ['figure', 'value'],
    [
      ['panel send -> receiver acceptance through the cloud, each round', f.ms.map((x) => ms(x, 0)).join(' / ')],
      ['median / max', `${ms(f.medianMs, 0)} / ${ms(f.maxMs, 0)}`],
      ['floor: impulse counting time x attempts', ms(f.floorMs, 0)],
      ['direct path restored -> first live poll through it, each round', f.backMs.map((x) => ms(x, 0)).join(' / ')],
      ['ratio median / floor', fmt(f.medianMs / f.floorMs, 3)],
      [
        `ratio max / floor (target <= ${fmt((f.floorMs + P99_CLOUD_MS) / f.floorMs, 2)}: the floor plus the cloud path's ${fmt(P99_CLOUD_MS)} ms)`,
        `${fmt(f.maxMs / f.floorMs, 3)} ${verdict(failoverOk)}`,
      ],
    ],
  );

  const sustainOk = s.missing === 0 && s.duplicates === 0 && s.inOrder;
  printTable(
    `Sustained: alarms offered back to back for ${s.seconds} s, ${s.window} in flight on the panel connection, direct path`,
    ['figure', 'value'],
    [
      ['alarms offered (each acknowledged by the box)', fmt(s.alarms)],
      ['box intake (ACKs to the panel)', `${fmt(s.intakePerSec)} /s`],
      ['relayed: first send -> last arrival at the receiver', `${fmt(s.relayedPerSec)} /s`],
      ['backlog: last arrival after the last ACK to the panel', ms(s.drainMs, 0)],
      ['baseline: the receiver taking them straight', `${fmt(s.baselinePerSec)} /s`],
      ['ratio relayed / baseline', fmt(s.relayedPerSec / s.baselinePerSec, 3)],
      ['missing / duplicated / out of order', `${s.missing} / ${s.duplicates} / ${s.inOrder ? 'none' : 'yes'} ${verdict(sustainOk)}`],
      ['retransmissions the receiver recognized', fmt(s.retransmissions)],
    ],
  );
}

/** The figures for the bench's JSON line. */
export function alarmJson(r: AlarmBenchResult, opts: AlarmBenchOptions) {
  const lat = (l: Latency) => ({ p50Ms: round(l.p50, 2), p99Ms: round(l.p99, 2), maxMs: round(l.max, 2) });
  const { baseline: b, direct: d, cloud: c, cloudBurst: cb, failover: f, sustained: s } = r;
  return {
    options: opts,
    baseline: { alarms: b.alarms, ackRoundTrip: lat(b.ackRoundTrip), arrival: lat(b.arrival) },
    direct: { alarms: d.alarms, arrival: lat(d.arrival), boxAck: lat(d.boxAck), otherPath: d.otherPath },
    cloud: { alarms: c.alarms, arrival: lat(c.arrival), boxAck: lat(c.boxAck), otherPath: c.otherPath },
    cloudBurst: { alarms: cb.alarms, arrival: lat(cb.arrival), otherPath: cb.otherPath, intact: cb.intact },
    ratioDirectOverBaselineP50: round(d.arrival.p50 / b.ackRoundTrip.p50, 2),
    ratioDirectOverBaselineP99: round(d.arrival.p99 / b.ackRoundTrip.p99, 2),
    ratioCloudOverDirectP50: round(c.arrival.p50 / d.arrival.p50, 2),
    ratioCloudOverDirectP99: round(c.arrival.p99 / d.arrival.p99, 2),
    failover: {
      rounds: f.rounds,
      floorMs: f.floorMs,
      ms: f.ms.map((x) => Math.round(x)),
      medianMs: Math.round(f.medianMs),
      maxMs: Math.round(f.maxMs),
      viaCloud: f.viaCloud,
      ratioMedianOverFloor: round(f.medianMs / f.floorMs, 3),
      ratioMaxOverFloor: round(f.maxMs / f.floorMs, 3),
      backMs: f.backMs,
    },
    sustained: {
      ...s,
      intakePerSec: Math.round(s.intakePerSec),
      relayedPerSec: Math.round(s.relayedPerSec),
      drainMs: Math.round(s.drainMs),
      baselinePerSec: Math.round(s.baselinePerSec),
      ratioRelayedOverBaseline: round(s.relayedPerSec / s.baselinePerSec, 3),
    },
    targets: { p99DirectMs: P99_DIRECT_MS, p99CloudMs: P99_CLOUD_MS, failoverMaxMs: f.floorMs + P99_CLOUD_MS },
    pass: {
      direct: d.arrival.p99 < P99_DIRECT_MS && d.otherPath === 0,
      cloud: c.arrival.p99 < P99_CLOUD_MS && c.otherPath === 0,
      cloudBurst: cb.arrival.max < P99_CLOUD_MS && cb.otherPath === 0 && cb.intact,
      failover: f.viaCloud === f.rounds && f.maxMs <= f.floorMs + P99_CLOUD_MS,
      sustained: s.missing === 0 && s.duplicates === 0 && s.inOrder,
    },
  };
}

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { connect, isIPv6, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodeDc09Frame,
  Dc09FrameSplitter,
  Dc09SequenceCounter,
  Dc09Token,
  encodeDc09Frame,
  ok,
  panelArcSettingsDoc,
  type PanelArcSettings,
  type PanelArcSettingsDoc,
} from '@vigil/protocol';
import type { ArcEventType } from '@vigil/protocol/api';
import { describePanelEvent, PanelEventKind, panelEventData, panelEventReportType, type PanelEventInput } from './events.js';

export const PanelDelivery = {
  /** Waiting for its turn, or for the next round of attempts after a failed one. */
  queued: 'queued',
  sending: 'sending',
  acknowledged: 'acknowledged',
  /** The ARC service is off or does not take this event type. */
  notReported: 'not_reported',
} as const;
export type PanelDelivery = (typeof PanelDelivery)[keyof typeof PanelDelivery];

/** An event the panel raised, and what became of it. */
export interface PanelEventRecord {
  id: number;
  /** ISO time it happened. */
  at: string;
  kind: PanelEventKind;
  restore: boolean;
  area: number;
  zone: number;
  user: number | null;
  zoneType?: PanelEventInput['zoneType'];
  trouble?: boolean;
  reportType: ArcEventType;
  description: string;
  delivery: PanelDelivery;
  /** The DC-09 sequence number, kept by every retransmission. */
  sequence: number | null;
  /** Frames sent for it. */
  transmissions: number;
  /** When each round of attempts ended without an acknowledgement. */
  failedAt: string[];
  acknowledgedAt: string | null;
}

/** How one attempt ended: `unreachable` when no frame could leave (no connection). */
export type Dc09AttemptResult = 'ack' | 'nak' | 'duh' | 'timeout' | 'unreachable' | 'error';

/** One attempt: an event message or a NULL poll. */
export interface Dc09TransmissionRecord {
  at: string;
  kind: 'event' | 'null';
  eventId: number | null;
  sequence: number;
  /** 1 to `attempts` within a round; 1 for a poll. */
  attempt: number;
  result: Dc09AttemptResult | 'pending';
  answeredAt: string | null;
  error?: string;
}

export interface ArcReporterCounters {
  framesSent: number;
  acks: number;
  naks: number;
  duhs: number;
  timeouts: number;
  unreachable: number;
  /** Rounds of `attempts` that all went unacknowledged. */
  failedRounds: number;
  polls: number;
  pollsAcknowledged: number;
}

export interface ArcReporterState {
  settings: PanelArcSettingsDoc;
  online: boolean;
  /** A TCP connection to the receiver is open. */
  connected: boolean;
  queued: number;
  /** A round failed and nothing was acknowledged since. */
  commFailure: boolean;
  /** ISO time of the next round after a failed one, or null. */
  retryAt: string | null;
  lastSequence: number;
  /** The receiver's clock minus ours, learnt from its NAK. */
  clockOffsetMs: number;
  counters: ArcReporterCounters;
  events: PanelEventRecord[];
  transmissions: Dc09TransmissionRecord[];
}

export interface ArcReporterEvents {
  event: [PanelEventRecord];
  transmission: [Dc09TransmissionRecord];
  delivered: [PanelEventRecord];
  /** A round of attempts failed; the event stays first in the queue. */
  failed: [PanelEventRecord];
  poll: [acknowledged: boolean];
}

export interface ArcReporterOptions {
  /** The wait after a failed round before the next one (default 10 s); an answered poll ends it early. */
  retryDelayMs?: number;
  /** Settled events and attempts kept (default 1000 each); queued events are always kept. */
  maxRecords?: number;
}

const iso = (ms = Date.now()): string => new Date(ms).toISOString();
const zeroCounters = (): ArcReporterCounters => ({ framesSent: 0, acks: 0, naks: 0, duhs: 0, timeouts: 0, unreachable: 0, failedRounds: 0, polls: 0, pollsAcknowledged: 0 });

/** Resolves true once the socket connects, false when it closes first or the deadline passes. */
function whenConnected(socket: Socket, deadline: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (up: boolean): void => {
      clearTimeout(timer);
      socket.off('connect', onUp);
      socket.off('close', onDown);
      resolve(up);
    };
    const onUp = (): void => done(true);
    const onDown = (): void => done(false);
    const timer = setTimeout(onDown, Math.max(0, deadline - Date.now()));
    socket.once('connect', onUp);
    socket.once('close', onDown);
  });
}

/**
 * A panel's alarm transmission to its ARC over SIA DC-09: events are queued in the order they happen and sent
 * one at a time, each with its own sequence number. Each is sent up to `attempts` times, one impulse counting
 * time apart, until acknowledged. When a whole round fails, the event stays first in the queue, a
 * communication failure event joins the queue's end (once until the next acknowledgement), and the next round
 * starts after the retry delay, or as soon as a NULL poll is answered or the panel comes back online.
 * Nothing queued is dropped while the reporter runs.
 */
export class ArcReporter extends EventEmitter<ArcReporterEvents> {
  private settings: PanelArcSettings;
  private readonly retryDelayMs: number;
  private readonly maxRecords: number;
  private readonly sequences = new Dc09SequenceCounter();
  private readonly records: PanelEventRecord[] = [];
  private readonly queue: PanelEventRecord[] = [];
  private readonly transmissions: Dc09TransmissionRecord[] = [];
  private readonly counters = zeroCounters();
  private nextId = 1;
  private running = false;
  private online = true;
  /** A round or a poll is on the wire. */
  private busy = false;
  private commFailure = false;
  private clockOffsetMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt: number | null = null;
  private pollTimer: NodeJS.Timeout | undefined;
  private abort = new AbortController();
  private tcp: Socket | undefined;
  private udp: UdpSocket | undefined;
  private waiter: { sequence: number; done: (r: Dc09AttemptResult) => void } | undefined;

  constructor(settings: PanelArcSettings, opts: ArcReporterOptions = {}) {
    super();
    this.settings = settings;
    this.retryDelayMs = opts.retryDelayMs ?? 10_000;
    this.maxRecords = opts.maxRecords ?? 1000;
  }

  get state(): ArcReporterState {
    return {
      settings: panelArcSettingsDoc(this.settings),
      online: this.online,
      connected: this.tcp !== undefined && !this.tcp.connecting && !this.tcp.destroyed,
      queued: this.queue.length,
      commFailure: this.commFailure,
      retryAt: this.retryAt === null ? null : iso(this.retryAt),
      lastSequence: this.sequences.last,
      clockOffsetMs: this.clockOffsetMs,
      counters: { ...this.counters },
      events: this.records.map((r) => ({ ...r, failedAt: [...r.failedAt] })),
      transmissions: this.transmissions.map((t) => ({ ...t })),
    };
  }

  get queued(): number {
    return this.queue.length;
  }

  get hasCommFailure(): boolean {
    return this.commFailure;
  }

  get arcSettings(): PanelArcSettings {
    return { ...this.settings, receiver: { ...this.settings.receiver }, reportTypes: [...this.settings.reportTypes] };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.schedulePolling();
    this.pump();
  }

  /** Stops sending; what is queued stays queued for a later start. */
  stop(): void {
    this.running = false;
    this.abort.abort();
    this.waiter?.done('timeout');
    this.cancelRetry();
    this.schedulePolling();
    this.closeTransport();
  }

  /** New settings (already checked); a changed receiver is reached on a new connection. */
  configure(next: PanelArcSettings): void {
    const before = this.settings.receiver;
    this.settings = { ...next, receiver: { ...next.receiver }, reportTypes: [...next.reportTypes] };
    const r = this.settings.receiver;
    if (r.host !== before.host || r.port !== before.port || r.transport !== before.transport) this.closeTransport();
    this.schedulePolling();
    this.pump();
  }

  /** Offline, nothing leaves the panel; back online, what waits is sent at once. */
  setOnline(online: boolean): void {
    if (this.online === online) return;
    this.online = online;
    if (!online) this.closeTransport();
    else {
      this.cancelRetry();
      this.pump();
    }
  }

  /** Records an event and queues it when the ARC takes its type. */
  report(input: PanelEventInput): PanelEventRecord {
    const reportType = panelEventReportType(input);
    const reported = this.settings.enabled && this.settings.reportTypes.includes(reportType);
    const rec: PanelEventRecord = {
      id: this.nextId++,
      at: iso(),
      kind: input.kind,
      restore: input.restore ?? false,
      area: input.area ?? 0,
      zone: input.zone ?? 0,
      user: input.user ?? null,
      ...(input.zoneType === undefined ? {} : { zoneType: input.zoneType }),
      ...(input.trouble ? { trouble: true } : {}),
      reportType,
      description: describePanelEvent(input),
      delivery: reported ? PanelDelivery.queued : PanelDelivery.notReported,
      sequence: null,
      transmissions: 0,
      failedAt: [],
      acknowledgedAt: null,
    };
    this.records.push(rec);
    this.trim();
    this.emit('event', rec);
    if (reported) {
      this.queue.push(rec);
      this.pump();
    }
    return rec;
  }

  // ------------------------------------------------------------------------------------------- sending

  private get impulseMs(): number {
    return Math.round(this.settings.impulseCountingTimeSec * 1000);
  }

  private pump(): void {
    if (!this.running || this.busy || this.retryTimer || !this.settings.enabled || !this.online) return;
    const head = this.queue[0];
    if (head) void this.deliver(head);
  }

  private async deliver(rec: PanelEventRecord): Promise<void> {
    this.busy = true;
    rec.delivery = PanelDelivery.sending;
    rec.sequence ??= this.sequences.next();
    const outcome = await this.round(rec).catch(() => 'stopped' as const);
    this.busy = false;
    if (outcome === 'ack') {
      rec.delivery = PanelDelivery.acknowledged;
      rec.acknowledgedAt = iso();
      this.queue.shift();
      this.commFailure = false;
      this.trim();
      this.emit('delivered', rec);
    } else {
      rec.delivery = PanelDelivery.queued;
      if (outcome === 'failed') {
        rec.failedAt.push(iso());
        this.counters.failedRounds++;
        // The retry wait starts first, so that the trouble event below is queued rather than sent right away.
        this.scheduleRetry();
        this.emit('failed', rec);
        if (!this.commFailure) {
          this.commFailure = true;
          this.report({ kind: PanelEventKind.commFailure });
        }
      }
    }
    this.pump();
  }

  /** Sends up to `attempts` times, one impulse counting time apart, until acknowledged. */
  private async round(rec: PanelEventRecord): Promise<'ack' | 'failed' | 'paused'> {
    const signal = this.abort.signal;
    for (let attempt = 1; attempt <= this.settings.attempts; attempt++) {
      if (!this.settings.enabled) return 'paused';
      const { result, until } = await this.exchange(rec, attempt, signal);
      if (result === 'ack') return 'ack';
      await sleep(Math.max(0, until - Date.now()), undefined, { signal });
    }
    return 'failed';
  }

  private schedulePolling(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    const ms = Math.round(this.settings.pollingRateSec * 1000);
    if (this.running && this.settings.enabled && ms > 0) this.pollTimer = setInterval(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    // A message on the wire shows the link is alive already.
    if (this.busy || !this.online) return;
    this.busy = true;
    const result = await this.exchange(null, 1, this.abort.signal).then(
      (x) => x.result,
      () => null,
    );
    this.busy = false;
    if (result === null) return;
    this.emit('poll', result === 'ack');
    // The receiver answers again: what waits for a retry goes now.
    if (result === 'ack') this.cancelRetry();
    this.pump();
  }

  private scheduleRetry(): void {
    this.cancelRetry();
    this.retryAt = Date.now() + this.retryDelayMs;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryAt = null;
      this.pump();
    }, this.retryDelayMs);
  }

  private cancelRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryAt = null;
  }

  /**
   * One attempt: an event (`rec`) or a NULL poll (null). `until` is one impulse counting time after the frame
   * left (or after trying to connect, when it could not): the earliest time for the next attempt. Rejects
   * once stopped.
   */
  private async exchange(rec: PanelEventRecord | null, attempt: number, signal: AbortSignal): Promise<{ result: Dc09AttemptResult; until: number }> {
    signal.throwIfAborted();
    let until = Date.now() + this.impulseMs;
    const s = this.settings;
    const sequence = rec?.sequence ?? this.sequences.next();
    const t: Dc09TransmissionRecord = { at: iso(), kind: rec ? 'event' : 'null', eventId: rec?.id ?? null, sequence, attempt, result: 'pending', answeredAt: null };
    this.transmissions.push(t);
    this.trim();
    const data = rec ? panelEventData({ ...rec, user: rec.user ?? undefined }, s) : ok('');
    const frame = data.ok
      ? encodeDc09Frame({
          id: rec ? s.protocol : Dc09Token.null,
          sequence,
          account: s.accountCode,
          data: data.value,
          timestamp: new Date(Date.now() + this.clockOffsetMs),
          key: s.key,
        })
      : data;
    let result: Dc09AttemptResult;
    if (!frame.ok) {
      result = 'error';
      t.error = frame.error;
    } else if (!(await this.send(frame.value, until))) {
      result = 'unreachable';
    } else {
      until = Date.now() + this.impulseMs;
      this.counters.framesSent++;
      if (rec) rec.transmissions++;
      result = await this.answer(sequence, until);
    }
    signal.throwIfAborted();
    t.result = result;
    if (result !== 'timeout' && result !== 'unreachable' && result !== 'error') t.answeredAt = iso();
    this.count(rec === null, result);
    this.emit('transmission', { ...t });
    return { result, until };
  }

  private count(poll: boolean, result: Dc09AttemptResult): void {
    const c = this.counters;
    if (poll) {
      c.polls++;
      if (result === 'ack') c.pollsAcknowledged++;
    }
    if (result === 'ack') c.acks++;
    else if (result === 'nak') c.naks++;
    else if (result === 'duh') c.duhs++;
    else if (result === 'timeout') c.timeouts++;
    else if (result === 'unreachable') c.unreachable++;
  }

  /** Puts a frame on the wire; false when it cannot leave (offline, no connection by the deadline). */
  private async send(frame: Buffer, deadline: number): Promise<boolean> {
    if (!this.online) return false;
    const { host, port, transport } = this.settings.receiver;
    if (transport === 'udp') {
      const udp = this.udp ?? this.openUdp(host);
      return new Promise((resolve) => udp.send(frame, port, host, (err) => resolve(!err)));
    }
    const socket = this.tcp ?? this.openTcp(host, port);
    if (socket.connecting && !(await whenConnected(socket, deadline))) {
      socket.destroy();
      return false;
    }
    if (socket.destroyed) return false;
    socket.write(frame);
    return true;
  }

  private openTcp(host: string, port: number): Socket {
    const socket = connect({ host, port });
    const splitter = new Dc09FrameSplitter();
    socket.on('data', (chunk: Buffer) => {
      for (const f of splitter.push(chunk).frames) this.onFrame(f);
    });
    // A refused or broken connection shows as a close; the attempt then fails or times out.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.tcp === socket) this.tcp = undefined;
    });
    this.tcp = socket;
    return socket;
  }

  private openUdp(host: string): UdpSocket {
    const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    udp.on('message', (m) => this.onFrame(m));
    // A lost datagram shows as a timeout.
    udp.on('error', () => undefined);
    this.udp = udp;
    return udp;
  }

  private closeTransport(): void {
    this.tcp?.destroy();
    this.tcp = undefined;
    this.udp?.close();
    this.udp = undefined;
  }

  /** The receiver's answer to `sequence`, or `timeout` at the deadline. */
  private answer(sequence: number, deadline: number): Promise<Dc09AttemptResult> {
    return new Promise((resolve) => {
      const w = {
        sequence,
        done: (r: Dc09AttemptResult): void => {
          clearTimeout(timer);
          if (this.waiter === w) this.waiter = undefined;
          resolve(r);
        },
      };
      const timer = setTimeout(() => w.done('timeout'), Math.max(0, deadline - Date.now()));
      this.waiter = w;
    });
  }

  private onFrame(frame: Buffer): void {
    const w = this.waiter;
    if (!w) return;
    const decoded = decodeDc09Frame(frame, this.settings.key);
    if (!decoded.ok) return;
    const msg = decoded.value;
    if (msg.id === Dc09Token.nak) {
      // A NAK carries the receiver's time: later messages are stamped by it.
      if (msg.timestamp) this.clockOffsetMs = msg.timestamp.getTime() - Date.now();
      w.done('nak');
    } else if (msg.sequence === w.sequence && msg.id === Dc09Token.ack) w.done('ack');
    else if (msg.sequence === w.sequence && msg.id === Dc09Token.duh) w.done('duh');
  }

  /** Drops the oldest settled events and attempts beyond maxRecords. */
  private trim(): void {
    while (this.records.length > this.maxRecords) {
      const i = this.records.findIndex((r) => r.delivery === PanelDelivery.acknowledged || r.delivery === PanelDelivery.notReported);
      if (i < 0) break;
      this.records.splice(i, 1);
    }
    if (this.transmissions.length > this.maxRecords) this.transmissions.splice(0, this.transmissions.length - this.maxRecords);
  }
}

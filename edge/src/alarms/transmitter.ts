import { AlarmPathState, encodeDc09Frame, rewriteDc09Account, type AlarmForward, type AlarmPanelConfig, type Result } from '@vigil/protocol';
import { ArcConnectionMode } from '@vigil/protocol/api';
import type { Logger } from '../log.js';
import { ReceiverLink } from './link.js';
import type { AlarmStore, PathState, QueuedAlarmEvent } from './store.js';

export interface TransmitterDeps {
  store: AlarmStore;
  log: Logger;
  now: () => number;
  /** The path changed state; `report` when the change is news for the cloud. Resolves once recorded. */
  onPath: (panel: AlarmPanelConfig, state: PathState, reason: string, report: boolean) => Promise<void>;
  onDelivered: (eventId: number) => void;
  /** Hands an event to the server path (the agent's outbox); confirmed by `forwarded`. */
  onForward: (forward: AlarmForward) => void;
}

/** Events handed to the server path at once, per panel. */
const SERVER_BATCH = 32;
/** An event the agent has not confirmed taking for the server path is handed over again after this long. */
const HANDOVER_RETRY_MS = 2_000;

/** A round of attempts ends acknowledged, failed (with the reason), or cut short by a stop or a new configuration. */
type RoundOutcome = { ok: true } | { ok: false; reason: string } | null;

/**
 * Sends one panel's events to its ARC receiver, oldest first and one at a time: the order per panel is part of
 * the promise. An event gets its sequence number once, on disk before its first send, and keeps it through every
 * resend, so that the receiver recognizes a repeat even after a restart. A round sends the message up to
 * `attempts` times, each waiting `ackTimeoutMs` for the answer; a NAK carrying the receiver's time corrects the
 * clock and sends again. After a failed round the path is failed and the event waits `backoffMs` (doubling up to
 * `backoffMaxMs`) for the next round: it stays queued until acknowledged. While idle, a NULL message every
 * `pollingMs` supervises the path.
 *
 * While the path is failed (`direct_or_server`), or always (`server_only`), the queued events are also handed to
 * the server path, with their sequence numbers: the receiver drops whichever copy comes second. An event leaves
 * the queue only on the receiver's ACK, by either path; one handed over is handed over again until the agent has
 * it in its outbox, and again after `backoffMaxMs` while it waits (the cloud may have lost it).
 */
export class PanelTransmitter {
  private link: ReceiverLink | null = null;
  /** Changes with every new configuration: a round in progress stops and the loop starts over. */
  private generation = 0;
  private stopped = false;
  private kicked = false;
  private wake: ((kick: boolean) => void) | null = null;
  private running: Promise<void> = Promise.resolve();
  /** The receiver's clock minus ours, from its last NAK. */
  private clockOffsetMs = 0;
  private lastExchangeAt: number;
  /** Events handed to the server path: when, and whether the agent confirmed taking them. */
  private readonly handed = new Map<number, { at: number; confirmed: boolean }>();
  path: { state: AlarmPathState; since: number | null };

  constructor(
    private panel: AlarmPanelConfig,
    initialPath: PathState | undefined,
    private readonly deps: TransmitterDeps,
  ) {
    this.path = initialPath ? { ...initialPath } : { state: AlarmPathState.unknown, since: null };
    // The first NULL goes out at once: the path's state is unknown until the receiver answers.
    this.lastExchangeAt = deps.now() - panel.pollingMs;
  }

  get config(): AlarmPanelConfig {
    return this.panel;
  }

  start(): void {
    this.running = this.loop().catch((err: unknown) => this.deps.log.error('transmitter stopped', { panel: this.panel.account, err }));
  }

  /** A new event is queued. */
  kick(): void {
    this.kicked = true;
    this.wake?.(true);
  }

  /** The agent has the event in its outbox for the server path. */
  forwarded(eventId: number): void {
    const h = this.handed.get(eventId);
    if (h) h.confirmed = true;
  }

  /** The server path delivered some of the queue (already on disk): look at the queue again now. */
  deliveredByServer(): void {
    this.wake?.(false);
  }

  update(panel: AlarmPanelConfig): void {
    if (JSON.stringify(panel) === JSON.stringify(this.panel)) return;
    if (JSON.stringify(panel.arc) !== JSON.stringify(this.panel.arc)) {
      this.link?.close();
      this.link = null;
      this.clockOffsetMs = 0;
    }
    this.panel = panel;
    this.generation++;
    this.wake?.(false);
  }

  /** Stops at once; the event in flight stays queued (and keeps its sequence number). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.link?.close();
    this.wake?.(false);
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step();
      } catch (err) {
        // Most likely the disk: nothing is lost (the queue is on it), so try again after a pause.
        this.deps.log.error('transmitter step failed', { err });
        await this.sleep(this.panel.retry.backoffMs, false);
      }
    }
  }

  /** One turn of the loop: a delivery, a supervision, or a wait. */
  private async step(): Promise<void> {
    const generation = this.generation;
    this.kicked = false;
    if (this.panel.connectionMode === ArcConnectionMode.serverOnly) {
      // Never sent directly: the server path has them; the status says what they wait for.
      this.path = { state: AlarmPathState.server, since: this.path.state === AlarmPathState.server ? this.path.since : this.deps.now() };
      await this.handOver();
      await this.sleep(this.handOverDueMs(), true);
      return;
    }
    if (this.path.state === AlarmPathState.server) this.path = { state: AlarmPathState.unknown, since: null };
    const event = await this.deps.store.nextQueued(this.panel.account);
    if (event) {
      await this.deliver(event, generation);
      return;
    }
    if (this.panel.pollingMs === 0) {
      await this.sleep(null, true);
      return;
    }
    const due = this.lastExchangeAt + this.panel.pollingMs - this.deps.now();
    if (due > 0) await this.sleep(due, true);
    else await this.supervise(generation);
  }

  private async deliver(event: QueuedAlarmEvent, generation: number): Promise<void> {
    const { store, now } = this.deps;
    const sequence = event.arcSequence ?? (await store.assignSequence(event.id, this.panel.account, now()));
    let backoff = this.panel.retry.backoffMs;
    // The direct path is known down: the server path need not wait for another failed round.
    if (this.path.state === AlarmPathState.failed) await this.handOver();
    while (!this.stopped && generation === this.generation) {
      const outcome = await this.round(event, sequence, generation);
      if (outcome === null) return;
      if (outcome.ok) {
        const taken = await store.markDelivered(event.id, now());
        this.handed.delete(event.id);
        this.lastExchangeAt = now();
        await this.pathOk();
        if (taken) this.deps.onDelivered(event.id);
        return;
      }
      await this.pathFailed(outcome.reason);
      await this.handOver();
      // New events do not cut the wait short: they queue behind this one (and go to the server path too).
      await this.sleep(backoff, false);
      if (!(await store.queuedPanels([event.id])).has(event.id)) return;
      backoff = Math.min(backoff * 2, this.panel.retry.backoffMaxMs);
    }
  }

  /**
   * Hands the oldest queued events to the server path, each with its sequence number (given now if it has none,
   * in queue order), unless handed over recently. Needs the cloud's id of the panel, which routes it there.
   */
  private async handOver(): Promise<void> {
    const { store, now } = this.deps;
    const deviceId = this.panel.deviceId;
    if (deviceId === undefined) return;
    const account = this.panel.arc.account.toUpperCase();
    const queued = await store.queued(this.panel.account, SERVER_BATCH);
    const waiting = new Set(queued.map((e) => e.id));
    for (const id of this.handed.keys()) if (!waiting.has(id)) this.handed.delete(id);
    for (const e of queued) {
      if (this.stopped) return;
      const h = this.handed.get(e.id);
      if (h && now() - h.at < (h.confirmed ? this.panel.retry.backoffMaxMs : HANDOVER_RETRY_MS)) continue;
      const sequence = e.arcSequence ?? (await store.assignSequence(e.id, this.panel.account, now()));
      this.handed.set(e.id, { at: now(), confirmed: false });
      this.deps.onForward({
        eventId: e.id,
        panel: e.panel,
        deviceId,
        token: e.token,
        sequence,
        data: rewriteDc09Account(e.data, account),
        xdata: e.xdata,
        receivedAt: e.receivedAt,
      });
    }
  }

  /** When the next hand-over falls due; null while nothing waits for one. */
  private handOverDueMs(): number | null {
    let due: number | null = null;
    for (const h of this.handed.values()) {
      const at = h.at + (h.confirmed ? this.panel.retry.backoffMaxMs : HANDOVER_RETRY_MS) - this.deps.now();
      due = due === null ? at : Math.min(due, at);
    }
    return due === null ? null : Math.max(1, due);
  }

  private async supervise(generation: number): Promise<void> {
    const outcome = await this.round(null, 0, generation);
    if (outcome === null) return;
    this.lastExchangeAt = this.deps.now();
    if (outcome.ok) await this.pathOk();
    else await this.pathFailed(`supervision: ${outcome.reason}`);
  }

  /** Sends an event (or a NULL when `event` is null) until acknowledged, at most `attempts` times. */
  private async round(event: QueuedAlarmEvent | null, sequence: number, generation: number): Promise<RoundOutcome> {
    const { ackTimeoutMs, attempts } = this.panel.retry;
    const account = this.panel.arc.account.toUpperCase();
    let reason = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.stopped || generation !== this.generation) return null;
      const frame = this.frame(event, sequence);
      if (!frame.ok) return { ok: false, reason: `cannot encode the message: ${frame.error}` };
      const startedAt = this.deps.now();
      const answer = await this.linkFor().exchange(frame.value, { sequence, account }, ackTimeoutMs);
      if (this.stopped || generation !== this.generation) return null;
      switch (answer.kind) {
        case 'ack':
          return { ok: true };
        case 'duh':
          return { ok: false, reason: 'the receiver answered DUH: it cannot process the message' };
        case 'nak':
          // Most often a clock the receiver finds out of its window: send again at once on its time.
          if (answer.receiverTime) this.clockOffsetMs = answer.receiverTime.getTime() - this.deps.now();
          reason = 'the receiver answered NAK';
          break;
        case 'timeout':
          reason = `no answer within ${ackTimeoutMs} ms`;
          break;
        case 'error':
          reason = answer.error;
          // Retransmissions keep the ACK timeout's pace even when the connection fails at once.
          await this.sleep(startedAt + ackTimeoutMs - this.deps.now(), false);
          break;
      }
    }
    return { ok: false, reason: `${reason} (${attempts} attempt${attempts === 1 ? '' : 's'})` };
  }

  /** The message as the ARC sees it: its account, the relay's sequence number and the receiver's time. */
  private frame(event: QueuedAlarmEvent | null, sequence: number): Result<Buffer> {
    const arc = this.panel.arc;
    const account = arc.account.toUpperCase();
    return encodeDc09Frame({
      id: event ? event.token : 'NULL',
      sequence,
      account,
      ...(arc.receiver === undefined ? {} : { receiver: arc.receiver }),
      line: arc.line ?? '0',
      data: event ? rewriteDc09Account(event.data, account) : '',
      xdata: event?.xdata ?? [],
      timestamp: new Date(this.deps.now() + this.clockOffsetMs),
      key: arc.key ?? null,
    });
  }

  private linkFor(): ReceiverLink {
    this.link ??= new ReceiverLink(this.panel.arc, this.panel.arc.key ?? null);
    return this.link;
  }

  private async pathOk(): Promise<void> {
    if (this.path.state === AlarmPathState.ok) return;
    const wasFailed = this.path.state === AlarmPathState.failed;
    const since = this.deps.now();
    this.path = { state: AlarmPathState.ok, since };
    await this.deps.onPath(this.panel, { state: 'ok', since }, 'the receiver answers again', wasFailed);
  }

  private async pathFailed(reason: string): Promise<void> {
    if (this.path.state === AlarmPathState.failed) return;
    const since = this.deps.now();
    this.path = { state: AlarmPathState.failed, since };
    this.deps.log.warn('alarm path failed', { panel: this.panel.account, host: this.panel.arc.host, port: this.panel.arc.port, reason });
    await this.deps.onPath(this.panel, { state: 'failed', since }, reason, true);
  }

  /** Waits `ms` (null: until woken); a stop or a new configuration always wakes it, a new event when `kicks`. */
  private sleep(ms: number | null, kicks: boolean): Promise<void> {
    if (this.stopped || (kicks && this.kicked)) return Promise.resolve();
    if (ms !== null && ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        if (timer) clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = ms === null ? null : setTimeout(done, ms);
      this.wake = (kick) => {
        if (!kick || kicks) done();
      };
    });
  }
}

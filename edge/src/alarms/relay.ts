import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  ALARM_EVENT_EVENT,
  ALARM_SENT_EVENT,
  alarmEventTypes,
  AlarmDeliveryPath,
  DEFAULT_ALARM_TIMING,
  encodeDc09Frame,
  parseDc09Key,
  rewriteDc09Account,
  summarizeAlarmEvent,
  type AlarmForward,
  type AlarmPanelConfig,
  type AlarmPanelStatus,
  type AlarmPathReport,
  type AlarmsConfigureParams,
  type AlarmsStatusResult,
} from '@vigil/protocol';
import type { ListenAddress } from '../config.js';
import type { Logger } from '../log.js';
import { PanelReceiver, UnprocessableMessage, type ListeningAddress, type PanelEntry, type PanelMessage } from './receiver.js';
import type { AlarmLogReport } from './reports.js';
import type { AlarmStore, AlarmToken, PathState } from './store.js';
import { transmissionTiming } from './timing.js';
import { PanelTransmitter } from './transmitter.js';

/** What the relay itself knows; the agent adds whether this is the configuration it stored. */
export type RelayStatus = Omit<AlarmsStatusResult, 'applied' | 'reportedAt'>;

export interface AlarmRelayOptions {
  store: AlarmStore;
  log: Logger;
  /** Where to listen for panels; null: no local receiver. */
  listen: ListenAddress | null;
  now?: () => number;
  /** How long a panel's repeated message counts as a retransmission. Default 10 minutes. */
  dedupWindowMs?: number;
}

interface AlarmRelayEvents {
  /** A panel's event is on disk (the panel is acknowledged right after); `duplicate` for a retransmission. */
  stored: [eventId: number, panel: string, duplicate: boolean];
  /** The receiver acknowledged an event, through either path. */
  delivered: [eventId: number, panel: string];
  /** An event for the server path, until `forwarded` confirms the agent has it. */
  forward: [forward: AlarmForward];
  /** A path report is on disk, waiting to be handed over (see pendingPathReports). */
  path: [id: number, report: AlarmPathReport];
  /** For the cloud's alarm log: an event stored (not a retransmission), or its delivery. Emitted once it is on disk. */
  report: [report: AlarmLogReport];
  /** Something the status shows has changed. */
  changed: [];
}

const DEFAULT_DEDUP_WINDOW_MS = 10 * 60_000;
/** Delivered events are kept at least this long, and at least the timing window. */
const RETENTION_MS = 7 * 24 * 3_600_000;
const PRUNE_EVERY_MS = 3_600_000;
/** A port that cannot be taken now (still held by a process going away) is tried again this often. */
const LISTEN_RETRY_MS = 1_000;

const routeSummary = (p: AlarmPanelConfig): AlarmPathReport['arc'] => ({
  host: p.arc.host,
  port: p.arc.port,
  transport: p.arc.transport,
  account: p.arc.account.toUpperCase(),
  encrypted: p.arc.key !== undefined,
});

/**
 * The alarm relay: the local DC-09 receiver for the panels, a transmitter per panel towards its ARC receiver, and
 * the queue between them on disk. It runs from its own copy of the configuration and needs neither the agent nor
 * the cloud to relay.
 */
export class AlarmRelay extends EventEmitter<AlarmRelayEvents> {
  private revisionNo = 0;
  private params: AlarmsConfigureParams = { panels: [] };
  private readonly panels = new Map<string, PanelEntry>();
  private readonly transmitters = new Map<string, PanelTransmitter>();
  /** Transmitters of panels taken out of the configuration, until they have stopped. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly lastPanelMessage = new Map<string, number>();
  private receiver: PanelReceiver | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private listenTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly now: () => number;
  private readonly log: Logger;

  private constructor(private readonly opts: AlarmRelayOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
  }

  static async start(opts: AlarmRelayOptions): Promise<AlarmRelay> {
    const relay = new AlarmRelay(opts);
    const stored = await opts.store.loadConfig();
    for (const u of stored?.unusable ?? []) relay.log.error('panel left out of the relay: its stored DC-09 keys cannot be opened', { panel: u.account, error: u.error });
    if (stored) relay.apply(stored.revision, stored.params, await opts.store.pathStates());
    if (opts.listen) await relay.listen(opts.listen);
    await relay.prune();
    relay.pruneTimer = setInterval(() => void relay.prune(), PRUNE_EVERY_MS).unref();
    return relay;
  }

  get revision(): number {
    return this.revisionNo;
  }

  get listening(): ListeningAddress | null {
    return this.receiver?.address ?? null;
  }

  /** Opens the panels' receiver; until it can, the queue is still relayed and the port tried again. */
  private async listen(at: ListenAddress): Promise<void> {
    try {
      const receiver = await PanelReceiver.start({
        ...at,
        log: this.log.child({ part: 'panels' }),
        panels: (account) => this.panels.get(account),
        accept: (m) => this.accept(m),
        now: this.now,
      });
      if (this.stopped) await receiver.stop();
      else this.receiver = receiver;
      this.emit('changed');
    } catch (err) {
      this.log.error('cannot listen for panels, trying again', { host: at.host, port: at.port, err });
      if (!this.stopped) this.listenTimer = setTimeout(() => void this.listen(at), LISTEN_RETRY_MS);
    }
  }

  /** Keeps the configuration on disk, then runs it. The same configuration again changes nothing. */
  async configure(revision: number, params: AlarmsConfigureParams): Promise<void> {
    if (revision === this.revisionNo && JSON.stringify(params) === JSON.stringify(this.params)) return;
    await this.opts.store.saveConfig(revision, params);
    this.apply(revision, params, await this.opts.store.pathStates());
    this.log.info('alarm relay configured', { revision, panels: params.panels.length });
  }

  private apply(revision: number, params: AlarmsConfigureParams, paths: Map<string, PathState>): void {
    this.revisionNo = revision;
    this.params = params;
    this.panels.clear();
    for (const p of params.panels) {
      const key = p.key === undefined ? null : parseDc09Key(p.key);
      this.panels.set(p.account.toUpperCase(), { account: p.account.toUpperCase(), key: key?.ok ? key.value : null });
    }
    for (const [account, t] of this.transmitters) {
      if (this.panels.has(account)) continue;
      this.transmitters.delete(account);
      const stopped = t.stop().finally(() => this.retiring.delete(stopped));
      this.retiring.add(stopped);
    }
    for (const p of params.panels) {
      const account = p.account.toUpperCase();
      const t = this.transmitters.get(account);
      if (t) {
        t.update(p);
        continue;
      }
      const created = new PanelTransmitter(p, paths.get(account), {
        store: this.opts.store,
        log: this.log.child({ part: 'transmitter', panel: account }),
        now: this.now,
        onPath: (panel, state, reason, report) => this.onPath(panel, state, reason, report),
        onDelivered: (eventId) => {
          this.emit('delivered', eventId, account);
          this.reportSent(eventId, account, AlarmDeliveryPath.direct);
          this.emit('changed');
        },
        onForward: (forward) => this.emit('forward', forward),
      });
      this.transmitters.set(account, created);
      created.start();
    }
    this.emit('changed');
  }

  /** Keeps a panel's message; resolves once it is on disk (the receiver acknowledges the panel after that). */
  private async accept(m: PanelMessage): Promise<void> {
    this.lastPanelMessage.set(m.panel, m.at);
    if (m.event === null) return;
    const panel = this.transmitters.get(m.panel)?.config;
    if (!panel) throw new Error(`panel ${m.panel} is no longer configured`);
    const token = m.message.id as AlarmToken;
    const { data, xdata } = m.message;
    // What cannot be relayed is refused now, rather than acknowledged and stuck at the head of the queue.
    const relayed = encodeDc09Frame({ id: token, sequence: 1, account: panel.arc.account.toUpperCase(), data: rewriteDc09Account(data, panel.arc.account.toUpperCase()), xdata });
    if (!relayed.ok) throw new UnprocessableMessage(`cannot relay the message: ${relayed.error}`);
    const types = alarmEventTypes(m.event);
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([m.panel, m.message.sequence, token, data, xdata]))
      .digest('base64url');
    const forward = types.some((t) => panel.eventTypes.includes(t));
    const stored = await this.opts.store.ingest({ panel: m.panel, fingerprint, token, data, xdata, types, forward, receivedAt: m.at }, this.opts.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS);
    this.emit('stored', stored.id, m.panel, stored.duplicate);
    if (stored.duplicate) return;
    this.transmitters.get(m.panel)?.kick();
    const deviceId = panel.deviceId === undefined ? {} : { deviceId: panel.deviceId };
    const event = summarizeAlarmEvent(m.event);
    this.emit('report', { kind: ALARM_EVENT_EVENT, report: { eventId: stored.id, panel: m.panel, ...deviceId, token, event, types, forwarded: forward, receivedAt: m.at } });
    this.emit('changed');
  }

  private async onPath(panel: AlarmPanelConfig, state: PathState, reason: string, report: boolean): Promise<void> {
    const queued = (await this.opts.store.queueSummary()).get(panel.account.toUpperCase())?.queued ?? 0;
    const r: AlarmPathReport = {
      reportId: randomUUID(),
      panel: panel.account.toUpperCase(),
      ...(panel.deviceId === undefined ? {} : { deviceId: panel.deviceId }),
      arc: routeSummary(panel),
      state: state.state,
      at: state.since,
      reason,
      queued,
    };
    const id = await this.opts.store.setPathState(r.panel, state, report ? r : undefined);
    if (id !== null) this.emit('path', id, r);
    this.emit('changed');
  }

  private reportSent(eventId: number, panel: string, path: AlarmDeliveryPath): void {
    const deviceId = this.transmitters.get(panel)?.config.deviceId;
    this.emit('report', { kind: ALARM_SENT_EVENT, report: { eventId, panel, path, ackedAt: this.now(), ...(deviceId === undefined ? {} : { deviceId }) } });
  }

  /** Path reports not yet acknowledged by the agent, oldest first. */
  pendingPathReports(): Promise<{ id: number; report: AlarmPathReport }[]> {
    return this.opts.store.pendingPathReports();
  }

  /** The agent has the report in its outbox. */
  ackPathReport(id: number): Promise<void> {
    return this.opts.store.deletePathReport(id);
  }

  /** The agent has a handed-over event in its outbox. */
  forwarded(panel: string, eventId: number): void {
    this.transmitters.get(panel.toUpperCase())?.forwarded(eventId);
  }

  /** The receiver acknowledged these events through the server path: they leave the queue. */
  async deliveredByServer(eventIds: number[]): Promise<void> {
    const { store } = this.opts;
    const panels = await store.queuedPanels(eventIds);
    for (const [id, panel] of panels) {
      if (!(await store.markDelivered(id, this.now()))) continue;
      this.emit('delivered', id, panel);
      this.reportSent(id, panel, AlarmDeliveryPath.server);
    }
    for (const panel of new Set(panels.values())) this.transmitters.get(panel)?.deliveredByServer();
    if (panels.size > 0) this.emit('changed');
  }

  async status(): Promise<RelayStatus> {
    const timing = this.params.timing ?? DEFAULT_ALARM_TIMING;
    const { store } = this.opts;
    const [queues, acks, samples] = await Promise.all([store.queueSummary(), store.lastAcks(), store.timingSamples(this.now() - timing.windowMs)]);
    const panels: AlarmPanelStatus[] = [];
    for (const [account, t] of this.transmitters) {
      const p = t.config;
      const q = queues.get(account);
      panels.push({
        account,
        ...(p.deviceId === undefined ? {} : { deviceId: p.deviceId }),
        arc: routeSummary(p),
        connectionMode: p.connectionMode,
        path: t.path.state,
        pathSince: t.path.since,
        queued: q?.queued ?? 0,
        oldestQueuedAt: q?.oldest ?? null,
        lastAckAt: acks.get(account) ?? null,
        lastPanelMessageAt: this.lastPanelMessage.get(account) ?? null,
      });
    }
    let unrouted = 0;
    for (const [account, q] of queues) if (!this.transmitters.has(account)) unrouted += q.queued;
    return { revision: this.revisionNo, listening: this.listening, panels, unrouted, timing: transmissionTiming(samples, timing) };
  }

  private async prune(): Promise<void> {
    const keepMs = Math.max(RETENTION_MS, (this.params.timing ?? DEFAULT_ALARM_TIMING).windowMs);
    try {
      await this.opts.store.prune(this.now() - keepMs);
    } catch (err) {
      this.log.error('pruning delivered alarms failed', { err });
    }
  }

  /** Stops receiving and sending; everything not yet acknowledged by the receiver stays queued on disk. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.listenTimer) clearTimeout(this.listenTimer);
    await this.receiver?.stop();
    await Promise.all([...this.transmitters.values()].map((t) => t.stop()));
    await Promise.all([...this.retiring]);
  }
}

import {
  ALARM_EVENT_EVENT,
  ALARM_FORWARD_EVENT,
  ALARM_PATH_EVENT,
  ALARM_SENT_EVENT,
  AlarmEventReportSchema,
  AlarmForwardSchema,
  AlarmPathReportSchema,
  AlarmSentReportSchema,
  DEFAULT_ALARM_TIMING,
  decoder,
  RpcErrorCode,
  RpcMethod,
  type AlarmsConfigureParams,
  type AlarmsStatusResult,
} from '@vigil/protocol';
import { receiverHostProblem } from '@vigil/protocol/api';
import { BusTopic, type BusHub, type WorkerManager } from '../bus.js';
import type { Logger } from '../log.js';
import { RpcFailure, type RpcServer } from '../rpc.js';
import type { Store } from '../store.js';
import type { RelayStatus } from './relay.js';
import { openAlarmKeys, sealAlarmKeys } from './store.js';
import { transmissionTiming } from './timing.js';

/** The worker process that runs the relay. */
export const ALARMS_WORKER = 'alarms';
const SETTING = 'alarms.config';
/** How long `alarms.configure` waits for the relay to take the new configuration before answering. */
const APPLY_WAIT_MS = 3_000;
/** How long `alarms.status` waits for a fresh report before answering with the last one. */
const STATUS_WAIT_MS = 1_000;

export interface AlarmControlOptions {
  serial: string;
  store: Store;
  hub: BusHub;
  workers: WorkerManager;
  log: Logger;
  /** Queues an event for the cloud through the outbox; resolves once it is on disk. */
  enqueueEvent: (kind: string, details: Record<string, unknown>, at: number) => Promise<void>;
  say: (line: Record<string, unknown>) => void;
}

interface StoredConfig {
  revision: number;
  params: AlarmsConfigureParams;
}

const pathDecoder = decoder(AlarmPathReportSchema);
const forwardDecoder = decoder(AlarmForwardSchema);
const logDecoders = { [ALARM_EVENT_EVENT]: decoder(AlarmEventReportSchema), [ALARM_SENT_EVENT]: decoder(AlarmSentReportSchema) };

/** What is wrong with a configuration beyond its schema, or undefined. */
export function alarmsConfigProblem(params: AlarmsConfigureParams): string | undefined {
  const seen = new Set<string>();
  for (const [i, p] of params.panels.entries()) {
    const account = p.account.toUpperCase();
    if (seen.has(account)) return `panels/${i}: account ${account} is listed twice`;
    seen.add(account);
    const host = receiverHostProblem(p.arc.host);
    if (host) return `panels/${i}/arc/host: ${host}`;
    if (p.retry.backoffMaxMs < p.retry.backoffMs) return `panels/${i}/retry: backoffMaxMs is below backoffMs`;
  }
  return undefined;
}

/**
 * The agent's side of the alarm relay: answers `alarms.configure` and `alarms.status`, keeps the configuration
 * in the agent's store and hands it to the relay worker (again each time the worker starts), and turns the
 * worker's path reports into `alarm.path` events in the outbox. For the server path, it puts the events the worker
 * hands over into the outbox as `alarm.forward` events, and passes the cloud's `alarms.delivered` to the worker.
 * The worker's alarm log reports become `alarm.event` and `alarm.sent` events.
 * Keys stay on the box and are never logged.
 */
export class AlarmControl {
  private relayRevision: number | null = null;
  private status: RelayStatus | null = null;
  private reportedAt: number | null = null;
  private announced = '';
  /** Reports already in the outbox: a report sent again by the worker is acknowledged, not queued twice. */
  private readonly queuedReports = new Set<string>();
  private readonly appliedWaiters = new Set<() => void>();
  private readonly statusWaiters = new Set<() => void>();
  /** Calls of `alarms.delivered` waiting for the worker to confirm event ids. */
  private readonly deliveredWaiters = new Set<(eventIds: number[]) => void>();

  private constructor(
    private readonly opts: AlarmControlOptions,
    private stored: StoredConfig | null,
  ) {
    opts.hub.on('message', (topic, payload) => this.onMessage(topic, payload));
    opts.workers.on('ready', (name) => {
      if (name === ALARMS_WORKER) this.push();
    });
    opts.workers.on('exit', (name) => {
      if (name === ALARMS_WORKER) this.relayRevision = null;
    });
  }

  /** Reads the stored configuration (keys sealed, see store.ts); keys an older version kept in plain text are sealed now. */
  static async load(opts: AlarmControlOptions): Promise<AlarmControl> {
    const raw = await opts.store.getSetting(SETTING);
    if (raw === null) return new AlarmControl(opts, null);
    const saved = JSON.parse(raw) as StoredConfig;
    const { params, unusable, plain } = openAlarmKeys(saved.params, opts.store.sealer);
    for (const u of unusable) opts.log.error('panel left out of the relay configuration: its stored DC-09 keys cannot be opened', { panel: u.account, error: u.error });
    if (plain) {
      await opts.store.setSetting(SETTING, JSON.stringify({ ...saved, params: sealAlarmKeys(saved.params, opts.store.sealer) }));
      await opts.store.compact();
    }
    return new AlarmControl(opts, { revision: saved.revision, params });
  }

  register(rpc: RpcServer): void {
    rpc.register(RpcMethod.alarmsConfigure, async (params, ctx) => {
      const problem = alarmsConfigProblem(params);
      if (problem) throw new RpcFailure(RpcErrorCode.badParams, problem);
      // Numbered before any wait, so that requests handled side by side get distinct revisions.
      const stored = { revision: (this.stored?.revision ?? 0) + 1, params };
      this.stored = stored;
      await this.opts.store.setSetting(SETTING, JSON.stringify({ ...stored, params: sealAlarmKeys(params, this.opts.store.sealer) }));
      this.push();
      const applied = await this.waitFor(this.appliedWaiters, () => this.relayRevision === stored.revision, Math.min(APPLY_WAIT_MS, ctx.deadline - Date.now() - 500));
      this.opts.log.info('alarm relay configuration stored', { requestId: ctx.requestId, revision: stored.revision, panels: params.panels.length, applied });
      return { revision: stored.revision, panels: params.panels.length, applied };
    });
    rpc.register(RpcMethod.alarmsStatus, async (_params, ctx) => {
      const since = this.reportedAt;
      const fresh = this.waitFor(this.statusWaiters, () => this.reportedAt !== since, Math.min(STATUS_WAIT_MS, ctx.deadline - Date.now() - 500));
      await this.opts.hub.publish(BusTopic.alarmsStatusRequest, {});
      await fresh;
      return this.result();
    });
    rpc.register(RpcMethod.alarmsDelivered, async (params, ctx) => {
      const pending = new Set(params.eventIds);
      const confirmed = new Promise<boolean>((resolve) => {
        const check = (ids: number[]): void => {
          for (const id of ids) pending.delete(id);
          if (pending.size > 0) return;
          clearTimeout(timer);
          this.deliveredWaiters.delete(check);
          resolve(true);
        };
        const timer = setTimeout(() => {
          this.deliveredWaiters.delete(check);
          resolve(false);
        }, Math.max(0, Math.min(APPLY_WAIT_MS, ctx.deadline - Date.now() - 500)));
        this.deliveredWaiters.add(check);
      });
      await this.opts.hub.publish(BusTopic.alarmsDeliveredByServer, { eventIds: params.eventIds });
      // Answered only once on the relay's disk: until then the cloud asks again.
      if (!(await confirmed)) throw new RpcFailure(RpcErrorCode.failed, 'the alarm relay did not confirm the delivery');
      return { accepted: true as const };
    });
  }

  private result(): AlarmsStatusResult {
    const s = this.status;
    return {
      revision: this.stored?.revision ?? 0,
      applied: this.relayRevision === (this.stored?.revision ?? 0),
      reportedAt: this.reportedAt,
      listening: s?.listening ?? null,
      panels: s?.panels ?? [],
      unrouted: s?.unrouted ?? 0,
      timing: s?.timing ?? transmissionTiming([], DEFAULT_ALARM_TIMING),
    };
  }

  /** Hands the stored configuration to the relay worker (it keeps its own copy). */
  private push(): void {
    if (!this.stored) return;
    this.opts.hub.publish(BusTopic.alarmsConfig, this.stored).catch((err: unknown) => this.opts.log.error('alarm configuration not sent to the relay', { err }));
  }

  /** Resolves true once `done()` holds, false after `ms`. */
  private waitFor(waiters: Set<() => void>, done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        resolve(false);
      }, Math.max(0, ms));
      waiters.add(check);
    });
  }

  private onMessage(topic: string, payload: unknown): void {
    if (topic === BusTopic.alarmsApplied) {
      const revision = (payload as { revision?: unknown }).revision;
      if (typeof revision === 'number') this.relayRevision = revision;
      for (const w of [...this.appliedWaiters]) w();
    } else if (topic === BusTopic.alarmsStatus) {
      this.onStatus(payload as RelayStatus);
    } else if (topic === BusTopic.alarmsPath) {
      this.onPathReport(payload);
    } else if (topic === BusTopic.alarmsForward) {
      this.onForward(payload);
    } else if (topic === BusTopic.alarmsLog) {
      this.onLogReport(payload);
    } else if (topic === BusTopic.alarmsDelivered) {
      const ids = (payload as { eventIds?: unknown }).eventIds;
      if (Array.isArray(ids)) for (const w of [...this.deliveredWaiters]) w(ids.filter((id): id is number => typeof id === 'number'));
    }
  }

  private onStatus(status: RelayStatus): void {
    this.status = status;
    this.reportedAt = Date.now();
    this.relayRevision = status.revision;
    const l = status.listening;
    const line = l ? JSON.stringify(l) : '';
    if (l && line !== this.announced) this.opts.say({ event: 'alarm-listen', serial: this.opts.serial, host: l.host, tcp: l.tcp, udp: l.udp });
    this.announced = line;
    for (const w of [...this.statusWaiters]) w();
    for (const w of [...this.appliedWaiters]) w();
  }

  /** An event for the server path: into the outbox, then the worker stops handing it over. */
  private onForward(payload: unknown): void {
    const f = forwardDecoder.decode((payload as { forward?: unknown }).forward);
    if (!f.ok) {
      this.opts.log.warn('bus: dropped invalid alarm forward', { error: f.error });
      return;
    }
    const { panel, eventId } = f.value;
    this.opts
      .enqueueEvent(ALARM_FORWARD_EVENT, f.value, f.value.receivedAt)
      .then(() => this.opts.hub.publish(BusTopic.alarmsForwardAck, { panel, eventId }))
      .catch((err: unknown) => this.opts.log.error('alarm event not queued for the server path', { panel, eventId, err }));
  }

  /** Into the outbox, then the worker forgets it; one sent again before the ack is queued again (the cloud keeps it once). */
  private onLogReport(payload: unknown): void {
    const { id, kind, report } = payload as { id?: unknown; kind?: unknown; report?: unknown };
    const decode = kind === ALARM_EVENT_EVENT || kind === ALARM_SENT_EVENT ? logDecoders[kind] : undefined;
    const r = decode?.decode(report);
    if (typeof id !== 'number' || !decode || !r?.ok) {
      this.opts.log.warn('bus: dropped invalid alarm log report', { kind, error: r && !r.ok ? r.error : 'no id or kind' });
      return;
    }
    const at = 'ackedAt' in r.value ? r.value.ackedAt : r.value.receivedAt;
    this.opts
      .enqueueEvent(kind as string, r.value, at)
      .then(() => this.opts.hub.publish(BusTopic.alarmsLogAck, { id }))
      .catch((err: unknown) => this.opts.log.error('alarm log report not queued', { kind, err }));
  }

  private onPathReport(payload: unknown): void {
    const p = payload as { id?: unknown; report?: unknown };
    const r = pathDecoder.decode(p.report);
    if (typeof p.id !== 'number' || !r.ok) {
      this.opts.log.warn('bus: dropped invalid alarm path report', { error: r.ok ? 'no id' : r.error });
      return;
    }
    const { id } = p;
    const report = r.value;
    const queued = this.queuedReports.has(report.reportId) ? Promise.resolve() : this.opts.enqueueEvent(ALARM_PATH_EVENT, report, report.at);
    queued
      .then(() => {
        this.queuedReports.add(report.reportId);
        this.opts.log.info('alarm path report queued', { panel: report.panel, state: report.state, reason: report.reason });
        return this.opts.hub.publish(BusTopic.alarmsPathAck, { id });
      })
      .catch((err: unknown) => this.opts.log.error('alarm path report not queued', { err }));
  }
}

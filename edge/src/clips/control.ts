import {
  CLIP_DROPPED_EVENT,
  ClipDroppedReportSchema,
  ClipsConfigureParamsSchema,
  decoder,
  DeviceKind,
  RpcErrorCode,
  RpcMethod,
  type ClipsBandwidthTestResult,
  type ClipsConfigureParams,
  type ClipsStatusResult,
  type DeviceReport,
} from '@vigil/protocol';
import { BusTopic, WorkerRequests, type BusHub, type WorkerManager } from '../bus.js';
import type { Logger } from '../log.js';
import type { DeviceAccount } from '../media/devices.js';
import { RpcFailure, type RpcServer } from '../rpc.js';
import type { Store } from '../store.js';
import { scheduleProblem } from './schedule.js';
import type { ClipServiceConfig, ResolvedClipChannel } from './service.js';

/** The worker process that records and uploads clips. */
export const CLIPS_WORKER = 'clips';
const SETTING = 'clips.config';
/** How long `clips.configure` waits for the worker to take the new settings before answering. */
const APPLY_WAIT_MS = 3_000;
/** The longest the agent waits for the worker's answer to a status request. */
const STATUS_WAIT_MS = 5_000;
/** Time kept back from the RPC deadline to send the reply. */
const REPLY_MARGIN_MS = 300;

/** What the agent puts on the bus for the clips worker besides its settings. */
export type ClipsRequest =
  | { id: string; method: typeof RpcMethod.clipsStatus; params: Record<string, never> }
  | { id: string; method: typeof RpcMethod.clipsBandwidthTest; params: { uploadUrl: string; seconds: number; serial: string; secret: string } };

export interface ClipControlOptions {
  serial: string;
  store: Store;
  hub: BusHub;
  workers: WorkerManager;
  /** The registry's record of a device, by id. */
  device: (deviceId: string) => DeviceReport | undefined;
  /** The box's login on its cameras. */
  account: DeviceAccount;
  log: Logger;
  /** Queues an event for the cloud through the outbox; resolves once it is on disk. */
  enqueueEvent: (kind: string, details: Record<string, unknown>, at: number) => Promise<void>;
}

const paramsDecoder = decoder(ClipsConfigureParamsSchema);
const droppedDecoder = decoder(ClipDroppedReportSchema);

/** What is wrong with settings beyond their schema, or undefined. */
export function clipsConfigProblem(params: ClipsConfigureParams): string | undefined {
  const seen = new Set<string>();
  for (const [i, c] of params.channels.entries()) {
    if (seen.has(c.channelKey)) return `channels/${i}: channel ${c.channelKey} is listed twice`;
    seen.add(c.channelKey);
    const schedule = scheduleProblem(c.schedule);
    if (schedule) return `channels/${i}/schedule: ${schedule}`;
  }
  return undefined;
}

/**
 * The agent's side of event clips: answers `clips.configure`, `clips.status` and `clips.bandwidthTest`, keeps the
 * settings in the agent's store sealed (recorder passwords are in them) and hands them to the clips worker each
 * time it starts, so a box restarted without its cloud goes on recording. The worker gets each channel's device
 * resolved (a camera through the registry and the box's device account) and the box's upload login (its serial
 * and MQTT secret); it is given them again when the registry or the login change. Clips the worker gave up become
 * `clip.dropped` events in the outbox.
 */
export class ClipControl {
  private revision = 0;
  private workerRevision: number | null = null;
  /** The last settings handed to the worker, to hand them again only when they change. */
  private pushed = '';
  private pushing: Promise<void> = Promise.resolve();
  private readonly appliedWaiters = new Set<() => void>();
  private readonly requests: WorkerRequests;
  /** Reports going into (or in) the outbox: one sent again by the worker is acknowledged, not queued twice. */
  private readonly queuedReports = new Map<string, Promise<void>>();

  private constructor(
    private readonly opts: ClipControlOptions,
    private params: ClipsConfigureParams | null,
  ) {
    this.requests = new WorkerRequests(opts.hub, opts.workers, CLIPS_WORKER, { request: BusTopic.clipsRequest, reply: BusTopic.clipsReply });
    opts.hub.on('message', (topic, payload) => this.onMessage(topic, payload));
    opts.workers.on('ready', (name) => {
      if (name === CLIPS_WORKER) void this.push(true);
    });
    opts.workers.on('exit', (name) => {
      if (name === CLIPS_WORKER) this.workerRevision = null;
    });
  }

  /** Reads the stored settings; settings that cannot be opened (another box key) are left out, and said so. */
  static async load(opts: ClipControlOptions): Promise<ClipControl> {
    const raw = await opts.store.getSetting(SETTING);
    if (raw === null) return new ClipControl(opts, null);
    const opened = opts.store.sealer.open(raw);
    if (!opened.ok) {
      opts.log.error('stored clips settings left out: they cannot be opened', { error: opened.error });
      return new ClipControl(opts, null);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(opened.value);
    } catch {
      parsed = undefined;
    }
    const params = paramsDecoder.decode(parsed);
    if (!params.ok) {
      opts.log.error('stored clips settings left out: they are not valid', { error: params.error });
      return new ClipControl(opts, null);
    }
    return new ClipControl(opts, params.value);
  }

  register(rpc: RpcServer): void {
    rpc.register(RpcMethod.clipsConfigure, async (params, ctx) => {
      const problem = clipsConfigProblem(params);
      if (problem) throw new RpcFailure(RpcErrorCode.badParams, problem);
      await this.opts.store.setSetting(SETTING, this.opts.store.sealer.seal(JSON.stringify(params)));
      this.params = params;
      const revision = await this.push(true);
      // Answered once the worker runs them, so that a `clips.status` right after shows them (a worker starting gets them when ready).
      const applied = this.requests.workerReady && (await this.waitForApplied(revision, Math.min(APPLY_WAIT_MS, ctx.deadline - Date.now() - REPLY_MARGIN_MS)));
      this.opts.log.info('clips settings stored', { requestId: ctx.requestId, channels: params.channels.length, applied });
      return { channels: params.channels.length };
    });
    rpc.register(RpcMethod.clipsStatus, async (_params, ctx) => {
      const result = await this.ask<ClipsStatusResult>(RpcMethod.clipsStatus, {}, Math.min(STATUS_WAIT_MS, ctx.deadline - Date.now() - REPLY_MARGIN_MS));
      if (!result) throw new RpcFailure(RpcErrorCode.failed, 'the clips worker did not answer (not running or busy)');
      return result;
    });
    rpc.register(RpcMethod.clipsBandwidthTest, async (params, ctx) => {
      const creds = await this.opts.store.getCredentials().catch(() => null);
      if (!creds) return { ok: false as const, message: 'the box has no cloud login to upload with' };
      const request = { uploadUrl: params.uploadUrl, seconds: params.seconds, serial: this.opts.serial, secret: creds.password };
      const result = await this.ask<ClipsBandwidthTestResult>(RpcMethod.clipsBandwidthTest, request, ctx.deadline - Date.now() - REPLY_MARGIN_MS);
      return result ?? { ok: false as const, message: 'the clips worker did not finish the test in time (not running or busy)' };
    });
  }

  /** Hands the settings again if what they resolve to changed (after a discovery round, a new login). */
  refresh(): void {
    void this.push(false);
  }

  /** Resolves each channel's device and hands the settings to the worker; returns their revision. */
  private push(force: boolean): Promise<number> {
    const run = this.pushing.then(async () => {
      if (!this.params) return this.revision;
      const config = await this.resolve(this.params);
      const text = JSON.stringify(config);
      if (!force && text === this.pushed) return this.revision;
      this.pushed = text;
      this.revision += 1;
      await this.opts.hub.publish(BusTopic.clipsConfig, { revision: this.revision, config });
      return this.revision;
    });
    this.pushing = run.then(
      () => undefined,
      (err: unknown) => this.opts.log.error('clips settings not sent to the worker', { err }),
    );
    return run.catch(() => this.revision);
  }

  private async resolve(params: ClipsConfigureParams): Promise<ClipServiceConfig> {
    const creds = await this.opts.store.getCredentials().catch((err: unknown) => {
      this.opts.log.error('the box login cannot be read: clips are kept, not uploaded', { err });
      return null;
    });
    const upload = creds ? { uploadUrl: params.uploadUrl, serial: this.opts.serial, secret: creds.password, limitKbps: params.uploadLimitKbps } : null;
    return { upload, channels: params.channels.map((c) => this.resolveChannel(c)) };
  }

  private resolveChannel(c: ClipsConfigureParams['channels'][number]): ResolvedClipChannel {
    const s = c.source;
    if (s.kind === 'recorder') return { ...c, target: { kind: 'recorder', ...s.recorder, channel: s.channel } };
    const d = this.opts.device(s.deviceKey);
    // A camera offline now keeps its last address: the worker tries it until it answers.
    if (!d || d.kind !== DeviceKind.camera) return { ...c, target: null, problem: `the box knows no camera ${s.deviceKey}` };
    return { ...c, target: { kind: 'camera', deviceKey: d.deviceId, host: d.host, port: d.port, serial: d.serial, ...this.opts.account } };
  }

  private waitForApplied(revision: number, ms: number): Promise<boolean> {
    const done = (): boolean => this.workerRevision !== null && this.workerRevision >= revision;
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.appliedWaiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.appliedWaiters.delete(check);
        resolve(false);
      }, Math.max(0, ms));
      this.appliedWaiters.add(check);
    });
  }

  /** Hands one request to the worker; undefined when it is not running or does not answer within `ms`. */
  private async ask<T>(method: ClipsRequest['method'], params: Record<string, unknown>, ms: number): Promise<T | undefined> {
    const answer = await this.requests.ask({ method, params }, ms);
    return 'result' in answer ? (answer.result as T) : undefined;
  }

  private onMessage(topic: string, payload: unknown): void {
    if (topic === BusTopic.clipsApplied) {
      const revision = (payload as { revision?: unknown }).revision;
      if (typeof revision === 'number') this.workerRevision = revision;
      for (const w of [...this.appliedWaiters]) w();
    } else if (topic === BusTopic.clipsDropped) {
      this.onDropped(payload);
    }
  }

  /** Into the outbox, then the worker forgets it. */
  private onDropped(payload: unknown): void {
    const { id, report } = payload as { id?: unknown; report?: unknown };
    const r = droppedDecoder.decode(report);
    if (typeof id !== 'number' || !r.ok) {
      this.opts.log.warn('bus: dropped invalid clip.dropped report', { error: r.ok ? 'no id' : r.error });
      return;
    }
    const key = `${id}:${r.value.channelKey}:${r.value.droppedAt}`;
    let queued = this.queuedReports.get(key);
    if (!queued) {
      queued = this.opts.enqueueEvent(CLIP_DROPPED_EVENT, r.value, r.value.droppedAt);
      this.queuedReports.set(key, queued);
      queued.then(
        () => this.opts.log.info('clip.dropped queued', { channelKey: r.value.channelKey, reason: r.value.reason }),
        () => this.queuedReports.delete(key),
      );
    }
    queued
      .then(() => this.opts.hub.publish(BusTopic.clipsDroppedAck, { id }))
      .catch((err: unknown) => this.opts.log.error('clip.dropped report not queued', { err }));
  }
}

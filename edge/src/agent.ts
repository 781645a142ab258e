import { EventEmitter } from 'node:events';
import os from 'node:os';
import {
  decoder,
  DeviceReportSchema,
  encodeEnvelope,
  envelope,
  LanSnapshotSchema,
  ONSITE_PROGRESS_EVENT,
  RpcMethod,
  shortSerial,
  topics,
  type DeviceReport,
  type EdgeInfo,
  type InitProgress,
  type LanSnapshot,
} from '@vigil/protocol';
import { ALARMS_WORKER, AlarmControl } from './alarms/index.js';
import { BusHub, BusTopic, WorkerManager, siblingModule, type WorkerSpec } from './bus.js';
import { CLIPS_WORKER, ClipControl } from './clips/index.js';
import type { EdgeConfig } from './config.js';
import { DeviceRegistry } from './devices.js';
import { LanReport } from './lan/index.js';
import { MEDIA_WORKER, MediaControl } from './media/index.js';
import { announce, type Logger } from './log.js';
import { NvrChannels, OnsiteJobs, runLanOperation } from './onsite/index.js';
import { RpcServer } from './rpc.js';
import { Sealer } from './security/sealed.js';
import { Store } from './store.js';
import { Uplink, type UplinkMode } from './uplink.js';
import { AGENT_VERSION } from './version.js';

/** The agent exits with this code to be restarted at once by the supervisor (EX_TEMPFAIL). */
export const EXIT_REBOOT = 75;

export interface AgentOptions {
  log: Logger;
  /** Overrides the workers to fork (tests); defaults to the discovery, lan, alarms, media and clips workers. */
  workers?: WorkerSpec[];
  /** Overrides the broker URL derived from the cloud URL (tests against a plain TCP broker). */
  mqttUrl?: string;
  /** Where progress lines go; stdout by default. */
  announce?: (line: Record<string, unknown>) => void;
  backoff?: { initialMs: number; maxMs: number };
  /** Initialization jobs: per-request timeout and settle time after a network change (tests shorten them). */
  onsite?: { requestTimeoutMs?: number; settleTimeoutMs?: number; concurrency?: number };
}

interface AgentEvents {
  /** The agent has stopped and wants the process to exit with this code. */
  exit: [code: number];
  connected: [mode: UplinkMode];
  ready: [];
  /** A discovery round has been applied (its messages are in the outbox). */
  round: [devices: DeviceReport[]];
  /** A LAN snapshot has been handled: queued for the cloud (a meaningful change) or not (noise only). */
  lan: [snapshot: LanSnapshot, queued: boolean];
}

const deviceDecoder = decoder(DeviceReportSchema);
const lanDecoder = decoder(LanSnapshotSchema);

export class Agent extends EventEmitter<AgentEvents> {
  readonly startedAt = Date.now();
  private stopping: Promise<void> | null = null;
  private roundChain: Promise<void> = Promise.resolve();
  private eventChain: Promise<void> = Promise.resolve();
  readonly onsite: OnsiteJobs;
  private announcedReady = false;

  private constructor(
    readonly config: EdgeConfig,
    readonly store: Store,
    readonly registry: DeviceRegistry,
    readonly lan: LanReport,
    readonly hub: BusHub,
    readonly workers: WorkerManager,
    readonly uplink: Uplink,
    readonly rpc: RpcServer,
    private readonly log: Logger,
    private readonly say: (line: Record<string, unknown>) => void,
    onsite: AgentOptions['onsite'] = {},
  ) {
    super();
    this.onsite = new OnsiteJobs({
      ...onsite,
      platformUrl: config.cloudUrl,
      log: log.child({ part: 'onsite' }),
      send: (progress) => this.enqueueProgress(progress),
      locate: (serial) => this.locate(serial),
    });
  }

  static async start(config: EdgeConfig, opts: AgentOptions): Promise<Agent> {
    const { log } = opts;
    const say = opts.announce ?? announce;
    const store = await Store.open(config.dataDir, await Sealer.load({ dataDir: config.dataDir, keyHex: config.secretKey, log }));
    const registry = new DeviceRegistry(await store.listDevices());
    const hub = await BusHub.start(config.dataDir, log.child({ part: 'bus' }));
    const lan = new LanReport();
    const discovery = siblingModule(import.meta.url, 'workers/discovery');
    const lanWorker = siblingModule(import.meta.url, 'workers/lan');
    const alarmsWorker = siblingModule(import.meta.url, 'workers/alarms');
    const mediaWorker = siblingModule(import.meta.url, 'workers/media');
    const clipsWorker = siblingModule(import.meta.url, 'workers/clips');
    const workers = new WorkerManager(
      hub,
      log.child({ part: 'workers' }),
      opts.workers ?? [
        { name: 'discovery', module: discovery.module, execArgv: discovery.execArgv },
        { name: 'lan', module: lanWorker.module, execArgv: lanWorker.execArgv },
        { name: ALARMS_WORKER, module: alarmsWorker.module, execArgv: alarmsWorker.execArgv },
        { name: MEDIA_WORKER, module: mediaWorker.module, execArgv: mediaWorker.execArgv },
        { name: CLIPS_WORKER, module: clipsWorker.module, execArgv: clipsWorker.execArgv },
      ],
    );
    const uplink = new Uplink({
      serial: config.serial,
      verificationCode: config.verificationCode,
      mqttUrl: opts.mqttUrl ?? config.mqttUrl,
      store,
      log: log.child({ part: 'uplink' }),
      agentVersion: AGENT_VERSION,
      startedAt: Date.now(),
      heartbeatSec: config.heartbeatSec,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      heartbeat: async () => ({
        uptimeSec: Math.floor(process.uptime()),
        rssBytes: process.memoryUsage().rss,
        outboxDepth: await store.outboxDepth(),
        devicesOnline: registry.onlineCount,
        devicesTotal: registry.size,
      }),
      inventory: () => Promise.resolve({ devices: registry.list() }),
      lan: () => lan.takeForConnect(),
    });
    const rpc = new RpcServer(log.child({ part: 'rpc' }), (requestId, reply) =>
      uplink.publish(topics.reply(config.serial, requestId), encodeEnvelope(envelope('reply', reply)), { qos: 1 }),
    );
    const a = new Agent(config, store, registry, lan, hub, workers, uplink, rpc, log, say, opts.onsite);

    rpc.register(RpcMethod.edgeInfo, () => a.info());
    rpc.register(RpcMethod.edgeReboot, (_params, ctx) => {
      ctx.afterReply(() => {
        log.info('rebooting on command', { requestId: ctx.requestId });
        a.shutdown('reboot').catch((err: unknown) => log.error('reboot failed', { err }));
      });
      return Promise.resolve({ accepted: true as const });
    });
    rpc.register(RpcMethod.lanInitialize, (params, ctx) => {
      // Accepted at once; the job starts once the reply is out and reports through the outbox.
      ctx.afterReply(() => {
        if (!a.onsite.start(params)) log.info('initialization job not started: already known or stopping', { jobId: params.jobId });
      });
      return Promise.resolve({ accepted: true as const });
    });

    rpc.register(RpcMethod.lanOperate, async (params, ctx) => {
      log.info('LAN operation', { requestId: ctx.requestId, operation: params.operation, devices: params.devices.length });
      const result = await runLanOperation(params, {
        deadline: ctx.deadline,
        ...(opts.onsite?.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.onsite.requestTimeoutMs } : {}),
        ...(opts.onsite?.concurrency !== undefined ? { concurrency: opts.onsite.concurrency } : {}),
        busy: (serial) => {
          const job = a.onsite.busyWith(serial);
          return job === undefined ? undefined : `the device is busy in initialization job ${job}`;
        },
      });
      log.info('LAN operation done', { requestId: ctx.requestId, failed: result.results.filter((r) => !r.ok).length });
      return result;
    });
    new NvrChannels({
      ...(opts.onsite?.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.onsite.requestTimeoutMs } : {}),
      busy: (serial) => {
        const job = a.onsite.busyWith(serial);
        return job === undefined ? undefined : `The recorder is busy in initialization job ${job}.`;
      },
    }).register(rpc);
    const alarms = await AlarmControl.load({
      serial: config.serial,
      store,
      hub,
      workers,
      log: log.child({ part: 'alarms' }),
      enqueueEvent: (kind, details, at) => a.enqueueEvent(kind, details, at),
      say,
    });
    alarms.register(rpc);
    new MediaControl({
      hub,
      workers,
      device: (deviceId) => registry.list().find((d) => d.deviceId === deviceId),
      account: { username: config.deviceUser, password: config.devicePassword },
      log: log.child({ part: 'media' }),
    }).register(rpc);
    const clips = await ClipControl.load({
      serial: config.serial,
      store,
      hub,
      workers,
      device: (deviceId) => registry.list().find((d) => d.deviceId === deviceId),
      account: { username: config.deviceUser, password: config.devicePassword },
      log: log.child({ part: 'clips' }),
      enqueueEvent: (kind, details, at) => a.enqueueEvent(kind, details, at),
    });
    clips.register(rpc);
    // A camera's address found by discovery, or a new login after a claim, reaches the clips worker.
    a.on('round', () => clips.refresh());
    a.on('connected', () => clips.refresh());

    uplink.on('command', (msg) => {
      rpc.handle(msg).catch((err: unknown) => log.error('command handling failed', { err }));
    });
    uplink.on('connected', (mode) => {
      say({ event: 'connected', mode, serial: config.serial, pid: process.pid });
      a.emit('connected', mode);
    });
    uplink.on('claimed', () => say({ event: 'claimed', serial: config.serial }));
    uplink.on('unclaimed', (returnCode) => say({ event: 'unclaimed', serial: config.serial, returnCode }));

    hub.on('message', (topic, payload) => {
      if (topic === BusTopic.discoveryResult) a.onDiscovery(payload);
      else if (topic === BusTopic.lanSnapshot) a.onLanSnapshot(payload);
    });
    workers.on('allReady', () => {
      if (a.announcedReady) return;
      a.announcedReady = true;
      say({ event: 'ready', ready: true, serial: config.serial, pid: process.pid, workers: workers.info() });
      a.emit('ready');
    });

    workers.start();
    uplink.start();
    return a;
  }

  async info(): Promise<EdgeInfo> {
    return {
      serial: this.config.serial,
      agentVersion: AGENT_VERSION,
      startedAt: this.startedAt,
      uptimeSec: Math.floor((Date.now() - this.startedAt) / 1000),
      rssBytes: process.memoryUsage().rss,
      outboxDepth: await this.store.outboxDepth(),
      devices: this.registry.size,
      workers: this.workers.info(),
      platform: { node: process.version, os: `${os.platform()} ${os.release()}`, arch: os.arch() },
    };
  }

  /**
   * Queues an event for the cloud on `v1/edge/{serial}/event/{kind}` through the outbox: on disk when the
   * promise resolves, sent in the order of the calls.
   */
  enqueueEvent(kind: string, details: Record<string, unknown>, at = Date.now()): Promise<void> {
    const topic = topics.event(this.config.serial, kind);
    const payload = encodeEnvelope(envelope('event', { at, details }));
    const queued = this.eventChain.then(async () => {
      await this.store.enqueue(topic, payload);
      this.uplink.outbox.kick();
    });
    this.eventChain = queued.catch(() => undefined);
    return queued;
  }

  /** One initialization progress report (`onsite.progress`). */
  enqueueProgress(progress: InitProgress): Promise<void> {
    return this.enqueueEvent(ONSITE_PROGRESS_EVENT, progress);
  }

  /** Where LAN discovery last saw this device. */
  private locate(serial: string): { ip: string } | null {
    const short = shortSerial(serial) ?? serial;
    const d = this.lan.latest?.devices.find((x) => x.serial === serial || (shortSerial(x.serial) ?? x.serial) === short);
    return d ? { ip: d.network.ipv4 } : null;
  }

  private onDiscovery(payload: unknown): void {
    const p = payload as { at?: unknown; devices?: unknown };
    if (typeof p.at !== 'number' || !Array.isArray(p.devices)) {
      this.log.warn('bus: dropped malformed discovery result');
      return;
    }
    const found: DeviceReport[] = [];
    for (const d of p.devices) {
      const r = deviceDecoder.decode(d);
      if (r.ok) found.push(r.value);
      else this.log.warn('bus: dropped invalid device report', { error: r.error });
    }
    const at = p.at;
    // Rounds are applied one after the other so that the outbox sees their messages in order.
    this.roundChain = this.roundChain
      .then(() => this.applyRound(found, at))
      .catch((err: unknown) => this.log.error('applying discovery round failed', { err }));
  }

  private async applyRound(found: DeviceReport[], at: number): Promise<void> {
    const { serial } = this.config;
    const outcome = this.registry.applyRound(found, at);
    await this.store.saveDevices(outcome.updated);
    for (const change of outcome.changes) {
      await this.store.enqueue(topics.deviceState(serial, change.deviceId), encodeEnvelope(envelope('deviceState', change)));
    }
    if (outcome.inventoryChanged) {
      const inventory = envelope('inventory', { devices: this.registry.list() });
      await this.store.enqueue(topics.inventory(serial), encodeEnvelope(inventory), { replaceSameTopic: true });
    }
    for (const deviceId of outcome.added) this.say({ event: 'device', serial, deviceId, online: true, at, new: true });
    for (const c of outcome.changes) this.say({ event: 'device', serial, deviceId: c.deviceId, online: c.online, at: c.at });
    if (outcome.changes.length > 0 || outcome.inventoryChanged) {
      this.log.info('devices changed', { changes: outcome.changes.length, total: this.registry.size });
      this.uplink.outbox.kick();
    }
    this.emit('round', found);
  }

  private onLanSnapshot(payload: unknown): void {
    const r = lanDecoder.decode(payload);
    if (!r.ok) {
      this.log.warn('bus: dropped invalid lan snapshot', { error: r.error });
      return;
    }
    const snapshot = r.value;
    // Same chain as the discovery rounds: the outbox sees snapshots in the order they came.
    this.roundChain = this.roundChain
      .then(() => this.applyLanSnapshot(snapshot))
      .catch((err: unknown) => this.log.error('applying lan snapshot failed', { err }));
  }

  private async applyLanSnapshot(snapshot: LanSnapshot): Promise<void> {
    const reasons = this.lan.offer(snapshot);
    if (reasons.length === 0) {
      this.emit('lan', snapshot, false);
      return;
    }
    const { serial } = this.config;
    // A newer snapshot supersedes any older one still waiting in the outbox.
    await this.store.enqueue(topics.lan(serial), encodeEnvelope(envelope('lan', snapshot)), { replaceSameTopic: true });
    this.log.info('lan changed', { devices: snapshot.devices.length, reasons: reasons.slice(0, 10) });
    this.say({ event: 'lan', serial, devices: snapshot.devices.length });
    this.uplink.outbox.kick();
    this.emit('lan', snapshot, true);
  }

  /**
   * Stops everything in order; emits `exit` with 0 after a shutdown and EXIT_REBOOT after a reboot.
   * Safe to call more than once.
   */
  shutdown(reason: 'shutdown' | 'reboot'): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping', { reason });
      await this.uplink.stop(reason);
      await this.onsite.stop();
      await this.workers.stop();
      this.hub.close();
      await this.roundChain;
      await this.eventChain;
      await this.store.close();
      this.emit('exit', reason === 'reboot' ? EXIT_REBOOT : 0);
    })();
    return this.stopping;
  }
}

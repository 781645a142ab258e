import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import type { Logger } from './log.js';

/**
 * The edge's internal bus. Every message is two frames: a topic and a JSON payload.
 * Workers publish into the agent's XSUB and listen on its XPUB; the agent relays between the two and
 * is itself a participant. Topics of the readiness handshake:
 *   ctl/welcome/{token}   agent -> worker, sent once the worker's subscription to it is seen on the XPUB
 *   ctl/ready             worker -> agent, {name, token, pid}
 * Results:
 *   discovery/result      discovery worker -> agent, {at, devices: DeviceReport[]}
 *   lan/snapshot          lan worker -> agent, LanSnapshot after every SADP round
 * The alarm relay (see alarms/):
 *   alarms/status         alarms worker -> agent, the relay's status after a change or a request
 *   alarms/applied        alarms worker -> agent, {revision}: the relay runs this configuration
 *   alarms/path           alarms worker -> agent, {id, report}: a route failed or recovered; sent again until acked
 *   alarms/cmd/config     agent -> alarms worker, {revision, params}
 *   alarms/cmd/path-ack   agent -> alarms worker, {id}: the report is in the outbox
 *   alarms/cmd/status     agent -> alarms worker, {}: publish a fresh status
 *   alarms/forward        alarms worker -> agent, {forward}: an event for the server path; sent again until acked
 *   alarms/cmd/forward-ack agent -> alarms worker, {panel, eventId}: the event is in the outbox
 *   alarms/cmd/delivered  agent -> alarms worker, {eventIds}: the receiver acknowledged them through the server
 *   alarms/delivered      alarms worker -> agent, {eventIds}: they are out of the queue, on disk
 *   alarms/log            alarms worker -> agent, {id, kind, report}: for the alarm log; sent again until acked
 *   alarms/cmd/log-ack    agent -> alarms worker, {id}: the report is in the outbox
 * Video (see media/):
 *   media/cmd/request     agent -> media worker, {id, method, params, target}: a media.* RPC with its device resolved
 *   media/reply           media worker -> agent, {id, result}: the RPC's result (refusals included)
 * Event clips (see clips/):
 *   clips/cmd/config      agent -> clips worker, {revision, config}: the channels with their devices resolved, the upload login
 *   clips/applied         clips worker -> agent, {revision}: the worker runs this configuration
 *   clips/cmd/request     agent -> clips worker, {id, method, params}: clips.status or clips.bandwidthTest
 *   clips/reply           clips worker -> agent, {id, result}
 *   clips/dropped         clips worker -> agent, {id, report}: a clip given up; sent again until acked
 *   clips/cmd/dropped-ack agent -> clips worker, {id}: the report is in the outbox
 */
export const BusTopic = {
  welcomePrefix: 'ctl/welcome/',
  ready: 'ctl/ready',
  discoveryResult: 'discovery/result',
  lanSnapshot: 'lan/snapshot',
  alarmsStatus: 'alarms/status',
  alarmsApplied: 'alarms/applied',
  alarmsPath: 'alarms/path',
  alarmsCommandPrefix: 'alarms/cmd/',
  alarmsConfig: 'alarms/cmd/config',
  alarmsPathAck: 'alarms/cmd/path-ack',
  alarmsStatusRequest: 'alarms/cmd/status',
  alarmsForward: 'alarms/forward',
  alarmsForwardAck: 'alarms/cmd/forward-ack',
  alarmsDeliveredByServer: 'alarms/cmd/delivered',
  alarmsDelivered: 'alarms/delivered',
  alarmsLog: 'alarms/log',
  alarmsLogAck: 'alarms/cmd/log-ack',
  mediaCommandPrefix: 'media/cmd/',
  mediaRequest: 'media/cmd/request',
  mediaReply: 'media/reply',
  clipsCommandPrefix: 'clips/cmd/',
  clipsConfig: 'clips/cmd/config',
  clipsApplied: 'clips/applied',
  clipsRequest: 'clips/cmd/request',
  clipsReply: 'clips/reply',
  clipsDropped: 'clips/dropped',
  clipsDroppedAck: 'clips/cmd/dropped-ack',
} as const;

export interface WorkerInfo {
  name: string;
  pid: number;
  ready: boolean;
  restarts: number;
}

export const BUS_ENV = { in: 'VIGIL_BUS_IN', out: 'VIGIL_BUS_OUT', name: 'VIGIL_WORKER_NAME', token: 'VIGIL_WORKER_TOKEN' } as const;

/** Serializes sends: a zeromq socket accepts one send at a time. */
export class SendQueue {
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly socket: zmq.Writable) {}
  send(frames: (string | Buffer)[]): Promise<void> {
    const next = this.chain.then(() => this.socket.send(frames));
    this.chain = next.catch(() => undefined);
    return next;
  }
}

const MAX_IPC_PATH = 100;

async function bindLocal(socket: zmq.Socket, dataDir: string, name: string): Promise<string> {
  const ipcPath = path.join(dataDir, `${name}.sock`);
  if (ipcPath.length <= MAX_IPC_PATH) {
    try {
      await socket.bind(`ipc://${ipcPath}`);
      return `ipc://${ipcPath}`;
    } catch {
      // Some file systems refuse unix sockets; loopback TCP works everywhere.
    }
  }
  await socket.bind('tcp://127.0.0.1:*');
  const ep = socket.lastEndpoint;
  if (!ep) throw new Error(`no endpoint for bus socket ${name}`);
  return ep;
}

interface HubEvents {
  message: [topic: string, payload: unknown];
  subscribe: [prefix: string];
}

export class BusHub extends EventEmitter<HubEvents> {
  private readonly outQueue: SendQueue;
  private closed = false;

  private constructor(
    private readonly xsub: zmq.XSubscriber,
    private readonly xpub: zmq.XPublisher,
    readonly inUrl: string,
    readonly outUrl: string,
    private readonly log: Logger,
  ) {
    super();
    this.outQueue = new SendQueue(xpub);
  }

  static async start(dataDir: string, log: Logger): Promise<BusHub> {
    const xsub = new zmq.XSubscriber();
    const xpub = new zmq.XPublisher();
    const inUrl = await bindLocal(xsub, dataDir, 'bus-in');
    const outUrl = await bindLocal(xpub, dataDir, 'bus-out');
    // Subscribe to everything: each publisher that connects later receives this subscription.
    await xsub.send(Buffer.from([1]));
    const hub = new BusHub(xsub, xpub, inUrl, outUrl, log);
    hub.loop(hub.relayUp(), 'relay');
    hub.loop(hub.watchSubscriptions(), 'subscriptions');
    return hub;
  }

  private loop(p: Promise<void>, what: string): void {
    p.catch((err: unknown) => {
      if (!this.closed) this.log.error(`bus ${what} loop stopped`, { err });
    });
  }

  /** Publishes to the workers. */
  publish(topic: string, payload: unknown): Promise<void> {
    return this.outQueue.send([topic, JSON.stringify(payload)]);
  }

  private async relayUp(): Promise<void> {
    for await (const frames of this.xsub) {
      const [topicBuf, bodyBuf] = frames;
      if (!topicBuf || !bodyBuf || frames.length !== 2) {
        this.log.warn('bus: dropped malformed message', { frames: frames.length });
        continue;
      }
      // Workers hear each other through the agent.
      await this.outQueue.send([topicBuf, bodyBuf]);
      let payload: unknown;
      try {
        payload = JSON.parse(bodyBuf.toString('utf8'));
      } catch {
        this.log.warn('bus: dropped non-JSON payload', { topic: topicBuf.toString('utf8') });
        continue;
      }
      this.emit('message', topicBuf.toString('utf8'), payload);
    }
  }

  private async watchSubscriptions(): Promise<void> {
    for await (const [frame] of this.xpub) {
      if (frame && frame.length > 0 && frame[0] === 1) this.emit('subscribe', frame.subarray(1).toString('utf8'));
    }
  }

  close(): void {
    this.closed = true;
    this.xsub.close();
    this.xpub.close();
  }
}

export interface WorkerSpec {
  name: string;
  /** Absolute path of the worker's entry module. */
  module: string;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
}

interface WorkerState {
  spec: WorkerSpec;
  child: ChildProcess | null;
  token: string;
  ready: boolean;
  restarts: number;
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

interface ManagerEvents {
  ready: [name: string, pid: number];
  allReady: [];
  exit: [name: string, code: number | null, signal: NodeJS.Signals | null];
}

/**
 * Forks the workers, counts one ready only after the handshake over the bus, and restarts any that dies
 * (at once after a long run, with growing delays while it keeps crashing).
 */
export class WorkerManager extends EventEmitter<ManagerEvents> {
  private readonly workers = new Map<string, WorkerState>();
  private stopping = false;

  constructor(
    private readonly hub: BusHub,
    private readonly log: Logger,
    specs: readonly WorkerSpec[],
  ) {
    super();
    for (const spec of specs) {
      this.workers.set(spec.name, { spec, child: null, token: '', ready: false, restarts: 0, startedAt: 0, timer: null });
    }
    hub.on('subscribe', (prefix) => this.onSubscribe(prefix));
    hub.on('message', (topic, payload) => {
      if (topic === BusTopic.ready) this.onReady(payload);
    });
  }

  start(): void {
    for (const w of this.workers.values()) this.spawn(w);
  }

  info(): WorkerInfo[] {
    return [...this.workers.values()].map((w) => ({
      name: w.spec.name,
      pid: w.child?.pid ?? 0,
      ready: w.ready,
      restarts: w.restarts,
    }));
  }

  get allReady(): boolean {
    return [...this.workers.values()].every((w) => w.ready);
  }

  private spawn(w: WorkerState): void {
    w.token = randomBytes(9).toString('base64url');
    w.ready = false;
    w.startedAt = Date.now();
    const child = fork(w.spec.module, [], {
      execArgv: w.spec.execArgv ?? [],
      env: {
        ...process.env,
        ...w.spec.env,
        [BUS_ENV.in]: this.hub.inUrl,
        [BUS_ENV.out]: this.hub.outUrl,
        [BUS_ENV.name]: w.spec.name,
        [BUS_ENV.token]: w.token,
      },
      // stdout belongs to the agent's progress lines: a worker's stdout goes to stderr.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    w.child = child;
    this.log.info('worker started', { worker: w.spec.name, pid: child.pid });
    child.on('error', (err) => this.log.error('worker process error', { worker: w.spec.name, err }));
    child.on('exit', (code, signal) => {
      if (w.child !== child) return;
      w.child = null;
      w.ready = false;
      this.emit('exit', w.spec.name, code, signal);
      if (this.stopping) return;
      w.restarts++;
      const ranMs = Date.now() - w.startedAt;
      const delay = ranMs > 30_000 ? 0 : Math.min(10_000, 100 * 2 ** Math.min(w.restarts, 7));
      this.log.warn('worker exited, restarting', { worker: w.spec.name, code, signal, delayMs: delay });
      w.timer = setTimeout(() => {
        w.timer = null;
        if (!this.stopping) this.spawn(w);
      }, delay);
    });
  }

  private onSubscribe(prefix: string): void {
    if (!prefix.startsWith(BusTopic.welcomePrefix)) return;
    const token = prefix.slice(BusTopic.welcomePrefix.length);
    const w = [...this.workers.values()].find((x) => x.token === token);
    if (!w) return;
    this.hub
      .publish(prefix, { type: 'welcome', name: w.spec.name })
      .catch((err: unknown) => this.log.error('welcome not sent', { worker: w.spec.name, err }));
  }

  private onReady(payload: unknown): void {
    const p = payload as { name?: unknown; token?: unknown; pid?: unknown };
    const w = typeof p.name === 'string' ? this.workers.get(p.name) : undefined;
    if (!w || p.token !== w.token || w.ready) return;
    w.ready = true;
    this.log.info('worker ready', { worker: w.spec.name, pid: p.pid });
    this.emit('ready', w.spec.name, typeof p.pid === 'number' ? p.pid : 0);
    if (this.allReady) this.emit('allReady');
  }

  /** Stops every worker and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    const waits: Promise<void>[] = [];
    for (const w of this.workers.values()) {
      if (w.timer) clearTimeout(w.timer);
      const child = w.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      waits.push(new Promise((resolve) => child.once('exit', () => resolve())));
      child.kill('SIGTERM');
    }
    await Promise.all(waits);
  }
}

/** Why a worker gave no answer: it was not running, it did not answer in time, or it stopped meanwhile. */
export type WorkerSilence = 'not-running' | 'timeout' | 'exited';

/**
 * Requests from the agent to one worker over the bus, each with an id its reply carries back: `ask` resolves with
 * the reply's `result`, or with why there is none.
 */
export class WorkerRequests {
  private readonly pending = new Map<string, (answer: { result: unknown } | { silence: WorkerSilence }) => void>();

  constructor(
    private readonly hub: BusHub,
    private readonly workers: WorkerManager,
    private readonly worker: string,
    private readonly topics: { request: string; reply: string },
  ) {
    hub.on('message', (topic, payload) => {
      if (topic !== topics.reply) return;
      const { id, result } = payload as { id?: unknown; result?: unknown };
      if (typeof id === 'string') this.pending.get(id)?.({ result });
    });
    workers.on('exit', (name) => {
      if (name !== worker) return;
      for (const settle of [...this.pending.values()]) settle({ silence: 'exited' });
    });
  }

  get workerReady(): boolean {
    return this.workers.info().some((w) => w.name === this.worker && w.ready);
  }

  async ask(request: object, waitMs: number): Promise<{ result: unknown } | { silence: WorkerSilence }> {
    if (!this.workerReady) return { silence: 'not-running' };
    const id = randomUUID();
    const answer = new Promise<{ result: unknown } | { silence: WorkerSilence }>((resolve) => {
      const timer = setTimeout(() => settle({ silence: 'timeout' }), Math.max(0, waitMs));
      const settle = (a: { result: unknown } | { silence: WorkerSilence }): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(a);
      };
      this.pending.set(id, settle);
    });
    await this.hub.publish(this.topics.request, { ...request, id });
    return answer;
  }
}

/**
 * Where a sibling entry module lives and how to run it: the compiled .js next to this file, or the
 * TypeScript source through tsx when running from sources (tests).
 */
export function siblingModule(fromUrl: string, relative: string): { module: string; execArgv: string[] } {
  const here = fileURLToPath(fromUrl);
  const fromSource = here.endsWith('.ts');
  const module = path.join(path.dirname(here), `${relative}${fromSource ? '.ts' : '.js'}`);
  return { module, execArgv: fromSource ? ['--import', 'tsx', '--conditions=source'] : [] };
}

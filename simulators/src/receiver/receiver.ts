import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, isIPv6, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import {
  buildDc09Ack,
  buildDc09Duh,
  buildDc09Nak,
  checkDc09Timestamp,
  dc09AnswerFor,
  decodeDc09Event,
  Dc09FrameSplitter,
  Dc09Token,
  openDc09Frame,
  parseDc09Frame,
  parseDc09Key,
  type Dc09Echo,
  type Dc09Event,
  type Dc09ExtendedData,
  type Dc09FailReason,
  type Dc09Key,
  type Dc09Refusal,
} from '@vigil/protocol';
import { clampLatency, controlProblem, MAX_LATENCY_MS, readBody, sendJson } from '../http.js';

export type Dc09Transport = 'tcp' | 'udp';

/** Why a frame was refused: a decoder reason, or one of the receiver's own checks. */
export type Dc09RejectReason = Dc09FailReason | 'truncated' | 'unknown-account' | 'encryption-required' | 'timestamp' | 'event';

/** An accepted event message, as kept by the receiver. */
export interface ReceivedDc09Message {
  /** Arrival order among accepted messages, from 1. */
  index: number;
  /** ISO time of arrival (the receiver's clock, without clockOffsetMs). */
  receivedAt: string;
  transport: Dc09Transport;
  /** `address:port` of the sender. */
  remote: string;
  id: typeof Dc09Token.sia | typeof Dc09Token.contactId;
  encrypted: boolean;
  /** From the header, or from the data block when the header has none. */
  account: string;
  sequence: number;
  receiver?: string;
  line?: string;
  data: string;
  xdata: Dc09ExtendedData[];
  /** ISO form of the message's own timestamp, when it has one. */
  timestamp?: string;
  event: Dc09Event;
  /** Same account, sequence and content as a message accepted within the de-duplication window. */
  duplicate: boolean;
  /** What was answered: null when the receiver was silent. */
  answer: 'ACK' | '*ACK' | null;
}

export interface RejectedDc09Frame {
  receivedAt: string;
  transport: Dc09Transport;
  remote: string;
  reason: Dc09RejectReason;
  error: string;
  /** What the standard prescribes (null: no answer at all); nothing is sent while silent. */
  answer: Dc09Refusal;
  /** The start of the frame as received (one character per byte), for diagnosis. */
  excerpt: string;
}

export interface Dc09SupervisionState {
  /** NULL messages acknowledged. */
  count: number;
  byAccount: Record<string, { count: number; lastAt: string }>;
}

export interface Dc09ReceiverCounters {
  /** Frames examined (complete ones, from TCP or UDP). */
  frames: number;
  /** Event messages accepted, duplicates included. */
  accepted: number;
  duplicates: number;
  /** Answers decided, ACK and *ACK together (sent unless silent). */
  acks: number;
  naks: number;
  duhs: number;
  /** Frames left unanswered because of an integrity error (CRC, length, framing, size, truncation). */
  ignored: number;
  /** Answers withheld because the receiver was silent. */
  silenced: number;
  tcpConnections: number;
  /** TCP bytes outside any frame. */
  junkBytes: number;
}

export interface Dc09ReceiverEndpoints {
  host: string;
  tcp: number;
  udp: number;
  http: number;
}

export interface Dc09ReceiverState extends Dc09ReceiverEndpoints {
  /** Whether the TCP and UDP listeners are open. */
  up: boolean;
  silent: boolean;
  delayMs: number;
  clockOffsetMs: number;
  dedupWindowMs: number;
  /** The accounts known and whether each is encrypted (keys are never shown); null when any account is taken. */
  accounts: { account: string; encrypted: boolean }[] | null;
  counters: Dc09ReceiverCounters;
  supervision: Dc09SupervisionState;
  messages: ReceivedDc09Message[];
  rejected: RejectedDc09Frame[];
}

export interface Dc09ReceiverOptions {
  host?: string;
  /** 0 (the default) picks a free port; the port is kept across down/up. */
  tcpPort?: number;
  udpPort?: number;
  httpPort?: number;
  /**
   * The key of each account (32/48/64 hex characters or 16/24/32 bytes), or null for an unencrypted one.
   * Messages from other accounts get a NAK. Leave out to take any account, unencrypted only.
   */
  accounts?: Record<string, Dc09Key | null> | null;
  /** Wait before each answer. */
  delayMs?: number;
  /** Receive and keep messages but never answer. */
  silent?: boolean;
  /** How long a repeated account + sequence + content counts as a retransmission. Default 10 minutes. */
  dedupWindowMs?: number;
  /** Added to the clock for DC-09 purposes only: the timestamp check and the time sent in NAK and *ACK. */
  clockOffsetMs?: number;
  clock?: () => number;
  /** Accepted messages kept (oldest dropped first). Default 10,000. */
  maxMessages?: number;
}

export interface Dc09ReceiverEvents {
  message: [ReceivedDc09Message];
  rejected: [RejectedDc09Frame];
  supervision: [account: string];
}

const DEFAULT_DEDUP_WINDOW_MS = 10 * 60_000;
const MAX_REJECTED = 1000;
const MAX_CLOCK_OFFSET_MS = 24 * 3600_000;
const EXCERPT_BYTES = 120;
const ACCOUNT = /^[0-9A-Za-z]{1,16}$/;

const zeroCounters = (): Dc09ReceiverCounters => ({
  frames: 0,
  accepted: 0,
  duplicates: 0,
  acks: 0,
  naks: 0,
  duhs: 0,
  ignored: 0,
  silenced: 0,
  tcpConnections: 0,
  junkBytes: 0,
});

/** What is wrong with an account table (`{account: key or null}`, or null), or undefined. */
export function accountsProblem(input: unknown): string | undefined {
  if (input === null) return undefined;
  if (typeof input !== 'object' || Array.isArray(input)) return 'accounts must be an object of account to key (or null)';
  for (const [account, key] of Object.entries(input)) {
    if (!ACCOUNT.test(account)) return `account ${JSON.stringify(account)} is not 1 to 16 letters or digits`;
    if (key === null) continue;
    if (typeof key !== 'string' && !(key instanceof Uint8Array)) return `the key of account ${account} must be hex text or null`;
    const k = parseDc09Key(key);
    if (!k.ok) return `account ${account}: ${k.error}`;
  }
  return undefined;
}

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const bool = (name: string) => (v: unknown) => (typeof v === 'boolean' ? undefined : `${name} must be a boolean`);
const yes = (name: string) => (v: unknown) => (v === true ? undefined : `${name} must be true`);

const RECEIVER_CONTROL: Record<string, (v: unknown) => string | undefined> = {
  delayMs: (v) => (isInt(v, 0, MAX_LATENCY_MS) ? undefined : `delayMs must be an integer from 0 to ${MAX_LATENCY_MS}`),
  silent: bool('silent'),
  down: bool('down'),
  up: bool('up'),
  restart: yes('restart'),
  clear: yes('clear'),
  clockOffsetMs: (v) => (isInt(v, -MAX_CLOCK_OFFSET_MS, MAX_CLOCK_OFFSET_MS) ? undefined : `clockOffsetMs must be an integer within ±${MAX_CLOCK_OFFSET_MS}`),
  accounts: accountsProblem,
};

interface Arrival {
  transport: Dc09Transport;
  remote: string;
  at: number;
  frame?: Buffer;
}

/**
 * An alarm receiving centre's DC-09 receiver (the "IP Receiver Pro" role), on TCP and UDP. It answers as
 * ANSI/SIA DC-09 says: ACK (or *ACK, encrypted, for an encrypted message) for a good message, NAK with its
 * own time for a timestamp outside the window or a message it cannot decrypt or whose account it does not
 * know, DUH for an intact message it cannot process, and nothing for a CRC or length error. Retransmissions
 * (same account, sequence and content) are acknowledged again and kept, marked as duplicates. NULL
 * (supervision) messages are acknowledged and counted apart.
 *
 * Tests steer it in-process or over HTTP: `GET /__sim/state`, `POST /__sim/control` with `delayMs`,
 * `silent`, `down`/`up`/`restart` (close and reopen the listeners on the same ports), `clear`,
 * `clockOffsetMs` and `accounts`; `latencyMs` and `reachable` work as for the other simulators.
 */
export class Dc09ReceiverSimulator extends EventEmitter<Dc09ReceiverEvents> {
  readonly host: string;
  private tcpPort: number;
  private udpPort: number;
  private httpPort: number;
  private readonly wantedHttpPort: number;
  private accounts: Map<string, Buffer | null> | null = null;
  private delay: number;
  private silentMode: boolean;
  private clockOffset: number;
  private readonly dedupWindowMs: number;
  private readonly clock: () => number;
  private readonly maxMessages: number;
  private http: HttpServer | undefined;
  private tcp: TcpServer | undefined;
  private udp: UdpSocket | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private transition: Promise<void> = Promise.resolve();
  private received: ReceivedDc09Message[] = [];
  private rejectedFrames: RejectedDc09Frame[] = [];
  private counters = zeroCounters();
  private supervision: Dc09SupervisionState = { count: 0, byAccount: {} };
  private readonly seen = new Map<string, number>();
  private nextIndex = 1;

  constructor(opts: Dc09ReceiverOptions = {}) {
    super();
    this.host = opts.host ?? '127.0.0.1';
    this.tcpPort = opts.tcpPort ?? 0;
    this.udpPort = opts.udpPort ?? 0;
    this.wantedHttpPort = opts.httpPort ?? 0;
    this.httpPort = 0;
    this.delay = clampLatency(opts.delayMs ?? 0);
    this.silentMode = opts.silent ?? false;
    this.clockOffset = opts.clockOffsetMs ?? 0;
    this.dedupWindowMs = opts.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS;
    this.clock = opts.clock ?? Date.now;
    this.maxMessages = opts.maxMessages ?? 10_000;
    this.setAccounts(opts.accounts ?? null);
  }

  get endpoints(): Dc09ReceiverEndpoints {
    return { host: this.host, tcp: this.tcpPort, udp: this.udpPort, http: this.httpPort };
  }

  /** Accepted event messages in arrival order (duplicates included). */
  get messages(): readonly ReceivedDc09Message[] {
    return this.received;
  }

  get rejected(): readonly RejectedDc09Frame[] {
    return this.rejectedFrames;
  }

  get state(): Dc09ReceiverState {
    return {
      ...this.endpoints,
      up: this.tcp !== undefined,
      silent: this.silentMode,
      delayMs: this.delay,
      clockOffsetMs: this.clockOffset,
      dedupWindowMs: this.dedupWindowMs,
      accounts: this.accounts ? [...this.accounts].sort(([a], [b]) => a.localeCompare(b)).map(([account, key]) => ({ account, encrypted: key !== null })) : null,
      counters: { ...this.counters },
      supervision: { count: this.supervision.count, byAccount: structuredClone(this.supervision.byAccount) },
      messages: [...this.received],
      rejected: [...this.rejectedFrames],
    };
  }

  setDelay(ms: number): void {
    this.delay = clampLatency(ms);
  }

  setSilent(silent: boolean): void {
    this.silentMode = silent;
  }

  setClockOffset(ms: number): void {
    this.clockOffset = Number.isFinite(ms) ? Math.round(ms) : 0;
  }

  /** Replaces the account table; null takes any account, unencrypted. Throws on a bad key. */
  setAccounts(table: Record<string, Dc09Key | null> | null): void {
    const problem = accountsProblem(table);
    if (problem) throw new Error(problem);
    if (table === null) {
      this.accounts = null;
      return;
    }
    const accounts = new Map<string, Buffer | null>();
    for (const [account, key] of Object.entries(table)) {
      const k = key === null ? null : parseDc09Key(key);
      if (k && !k.ok) throw new Error(k.error);
      accounts.set(account.toUpperCase(), k ? k.value : null);
    }
    this.accounts = accounts;
  }

  /** Forgets every message, rejection, counter and the de-duplication memory. */
  clear(): void {
    this.received = [];
    this.rejectedFrames = [];
    this.counters = zeroCounters();
    this.supervision = { count: 0, byAccount: {} };
    this.seen.clear();
    this.nextIndex = 1;
  }

  async start(): Promise<Dc09ReceiverEndpoints> {
    if (!this.http) {
      const http = createHttpServer((req, res) => this.onHttp(req, res));
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(this.wantedHttpPort, this.host, () => {
          http.off('error', reject);
          resolve();
        });
      });
      this.http = http;
      this.httpPort = (http.address() as AddressInfo).port;
    }
    try {
      await this.up();
    } catch (e) {
      await this.stop();
      throw e;
    }
    return this.endpoints;
  }

  async stop(): Promise<void> {
    await this.down();
    const http = this.http;
    this.http = undefined;
    if (http) {
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    }
  }

  /** Opens the TCP and UDP listeners (on the ports used before, if any). */
  up(): Promise<void> {
    return this.serially(async () => {
      if (this.tcp) return;
      const tcp = createTcpServer((s) => this.onConnection(s));
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(this.tcpPort, this.host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      const udp = createSocket({ type: isIPv6(this.host) ? 'udp6' : 'udp4' });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(this.udpPort, this.host, () => {
            udp.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        udp.close();
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
        throw e;
      }
      // A failed send (the sender went away) must not take the receiver down.
      udp.on('error', () => undefined);
      udp.on('message', (msg, from) => this.onDatagram(udp, msg, from));
      this.tcp = tcp;
      this.udp = udp;
      this.tcpPort = (tcp.address() as AddressInfo).port;
      this.udpPort = udp.address().port;
    });
  }

  /** Closes the listeners and drops every connection: senders see refused connections and lost datagrams. */
  down(): Promise<void> {
    return this.serially(async () => {
      const tcp = this.tcp;
      const udp = this.udp;
      this.tcp = undefined;
      this.udp = undefined;
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      await Promise.all([
        tcp ? new Promise<void>((resolve) => tcp.close(() => resolve())) : undefined,
        udp ? new Promise<void>((resolve) => udp.close(() => resolve())) : undefined,
      ]);
    });
  }

  /** down() then up(): what a receiver restart looks like from the premises. Kept messages survive. */
  async restart(): Promise<void> {
    await this.down();
    await this.up();
  }

  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.transition.then(step);
    this.transition = run.catch(() => undefined);
    return run;
  }

  // ------------------------------------------------------------------------------------------ transports

  private onConnection(socket: Socket): void {
    this.counters.tcpConnections++;
    this.sockets.add(socket);
    const splitter = new Dc09FrameSplitter();
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const arrival = (frame?: Buffer): Arrival => ({ transport: 'tcp', remote, at: this.clock(), ...(frame ? { frame } : {}) });
    socket.on('data', (chunk: Buffer) => {
      const out = splitter.push(chunk);
      this.counters.junkBytes += out.junkBytes;
      for (let i = 0; i < out.truncated; i++) this.refuse(arrival(), 'truncated', 'frame cut short by the start of the next one');
      for (let i = 0; i < out.oversized; i++) this.refuse(arrival(), 'oversized', 'frame longer than any DC-09 frame');
      for (const frame of out.frames) {
        const answer = this.handle(frame, arrival(frame));
        this.answerLater(answer, () => !socket.destroyed && this.sockets.has(socket), (b) => socket.write(b));
      }
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      const pending = splitter.reset();
      if (pending > 0) this.refuse(arrival(), 'truncated', `connection closed ${pending} bytes into a frame`);
    });
    socket.on('error', () => undefined);
  }

  private onDatagram(udp: UdpSocket, msg: Buffer, from: RemoteInfo): void {
    const answer = this.handle(msg, { transport: 'udp', remote: `${from.address}:${from.port}`, at: this.clock(), frame: msg });
    this.answerLater(
      answer,
      () => this.udp === udp,
      (b) => udp.send(b, from.port, from.address),
    );
  }

  /** Sends an answer after the configured delay, unless silent or the channel is gone by then. */
  private answerLater(answer: Buffer | null, alive: () => boolean, send: (b: Buffer) => void): void {
    if (!answer) return;
    if (this.silentMode) {
      this.counters.silenced++;
      return;
    }
    const go = (): void => {
      if (alive()) send(answer);
    };
    if (this.delay === 0) return go();
    const t = setTimeout(() => {
      this.timers.delete(t);
      go();
    }, this.delay);
    this.timers.add(t);
  }

  // ------------------------------------------------------------------------------------------ protocol

  private lookup(account: string | undefined): Buffer | null | undefined {
    return account === undefined || !this.accounts ? undefined : this.accounts.get(account.toUpperCase());
  }

  /** Decides the answer to one frame and keeps what it received. Returns the bytes to send, or null. */
  private handle(frame: Buffer, arrival: Arrival): Buffer | null {
    this.counters.frames++;
    const dc09Now = new Date(arrival.at + this.clockOffset);
    const parsed = parseDc09Frame(frame);
    if (!parsed.ok) return this.refuse(arrival, parsed.reason, parsed.error, parsed.header);
    const raw = parsed.value;
    if (raw.id !== Dc09Token.sia && raw.id !== Dc09Token.contactId && raw.id !== Dc09Token.null)
      return this.refuse(arrival, 'unsupported', `a receiver does not take ${raw.id}`, raw);
    let key: Buffer | null = null;
    if (raw.encrypted) {
      const known = this.lookup(raw.account);
      if (known === undefined && this.accounts) return this.refuse(arrival, 'unknown-account', `unknown account ${raw.account ?? '(none)'}`, raw);
      if (!known) return this.refuse(arrival, 'no-key', `no key for account ${raw.account ?? '(none)'}`, raw);
      key = known;
    }
    const opened = openDc09Frame(raw, key);
    if (!opened.ok) return this.refuse(arrival, opened.reason, opened.error, raw);
    const msg = opened.value;
    if (msg.timestamp) {
      const inWindow = checkDc09Timestamp(msg.timestamp, dc09Now);
      if (!inWindow.ok) return this.refuse(arrival, 'timestamp', inWindow.error, raw);
    }
    let event: Dc09Event | null = null;
    if (msg.id !== Dc09Token.null) {
      const decoded = decodeDc09Event(msg);
      if (!decoded.ok) return this.refuse(arrival, 'event', decoded.error, raw);
      event = decoded.value;
    }
    const account = msg.account ?? event?.account;
    if (account === undefined) return this.refuse(arrival, 'format', 'no account in the header or the data', raw);
    if (!msg.encrypted) {
      const known = this.lookup(account);
      if (known === undefined && this.accounts) return this.refuse(arrival, 'unknown-account', `unknown account ${account}`, raw);
      if (known) return this.refuse(arrival, 'encryption-required', `account ${account} sends encrypted messages only`, raw);
    }
    const ack = buildDc09Ack(msg, { key: msg.encrypted ? key : null, now: dc09Now });
    if (!ack.ok) return this.refuse(arrival, 'format', ack.error, raw);
    this.counters.acks++;
    const answer = this.silentMode ? null : msg.encrypted ? '*ACK' : 'ACK';
    const receivedAt = new Date(arrival.at).toISOString();
    if (event === null) {
      this.supervision.count++;
      const entry = (this.supervision.byAccount[account] ??= { count: 0, lastAt: receivedAt });
      entry.count++;
      entry.lastAt = receivedAt;
      this.emit('supervision', account);
      return ack.value;
    }
    const duplicate = this.isDuplicate(`${account}|${msg.sequence}|${msg.id}|${msg.data}|${JSON.stringify(msg.xdata)}`, arrival.at);
    const record: ReceivedDc09Message = {
      index: this.nextIndex++,
      receivedAt,
      transport: arrival.transport,
      remote: arrival.remote,
      id: msg.id as ReceivedDc09Message['id'],
      encrypted: msg.encrypted,
      account,
      sequence: msg.sequence,
      ...(msg.receiver === undefined ? {} : { receiver: msg.receiver }),
      ...(msg.line === undefined ? {} : { line: msg.line }),
      data: msg.data,
      xdata: msg.xdata,
      ...(msg.timestamp ? { timestamp: msg.timestamp.toISOString() } : {}),
      event,
      duplicate,
      answer,
    };
    this.counters.accepted++;
    if (duplicate) this.counters.duplicates++;
    this.received.push(record);
    if (this.received.length > this.maxMessages) this.received.shift();
    this.emit('message', record);
    return ack.value;
  }

  /** Whether the same content was accepted within the window; remembers it otherwise. */
  private isDuplicate(key: string, at: number): boolean {
    for (const [k, first] of this.seen) {
      if (at - first <= this.dedupWindowMs) break;
      this.seen.delete(k);
    }
    const first = this.seen.get(key);
    if (first !== undefined && at - first <= this.dedupWindowMs) return true;
    this.seen.set(key, at);
    return false;
  }

  /** Records a refusal and builds the prescribed answer (NAK, DUH or nothing). */
  private refuse(arrival: Arrival, reason: Dc09RejectReason, error: string, header?: Dc09Echo): Buffer | null {
    const kind: Dc09Refusal =
      reason === 'truncated' ? null : reason === 'unknown-account' || reason === 'timestamp' ? 'NAK' : reason === 'encryption-required' || reason === 'event' ? 'DUH' : dc09AnswerFor(reason);
    const record: RejectedDc09Frame = {
      receivedAt: new Date(arrival.at).toISOString(),
      transport: arrival.transport,
      remote: arrival.remote,
      reason,
      error,
      answer: kind,
      excerpt: arrival.frame ? arrival.frame.subarray(0, EXCERPT_BYTES).toString('latin1') : '',
    };
    this.rejectedFrames.push(record);
    if (this.rejectedFrames.length > MAX_REJECTED) this.rejectedFrames.shift();
    this.emit('rejected', record);
    if (kind === null) {
      this.counters.ignored++;
      return null;
    }
    const built = kind === 'NAK' ? buildDc09Nak(new Date(arrival.at + this.clockOffset)) : buildDc09Duh(header ?? { sequence: 0 });
    if (!built.ok) return null;
    if (kind === 'NAK') this.counters.naks++;
    else this.counters.duhs++;
    return built.value;
  }

  // ------------------------------------------------------------------------------------------ HTTP

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const route = `${req.method ?? 'GET'} ${new URL(req.url ?? '/', 'http://receiver').pathname}`;
    if (route === 'GET /__sim/state') return sendJson(res, 200, this.state);
    if (route !== 'POST /__sim/control') return sendJson(res, 404, { statusCode: 404, code: 'NOT_FOUND', message: `no route ${route}` });
    readBody(req, (body) => {
      if (body === undefined) return sendJson(res, 413, { statusCode: 413, code: 'BODY_TOO_LARGE', message: 'body too large' });
      this.onControl(body, res);
    });
  }

  private onControl(body: Buffer, res: ServerResponse): void {
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      return sendJson(res, 400, { statusCode: 400, code: 'BAD_JSON', message: 'body is not JSON' });
    }
    const problem = controlProblem(input, RECEIVER_CONTROL);
    if (problem) return sendJson(res, 400, { statusCode: 400, code: 'BAD_CONTROL', message: problem });
    const c = input as {
      reachable?: boolean;
      latencyMs?: number;
      delayMs?: number;
      silent?: boolean;
      down?: boolean;
      up?: boolean;
      restart?: true;
      clear?: true;
      clockOffsetMs?: number;
      accounts?: Record<string, string | null> | null;
    };
    const goDown = c.down === true || c.reachable === false;
    const goUp = c.up === true || c.down === false || c.reachable === true;
    if ([goDown, goUp, c.restart === true].filter(Boolean).length > 1)
      return sendJson(res, 400, { statusCode: 400, code: 'BAD_CONTROL', message: 'ask for one of down, up and restart at a time' });
    if (c.clear) this.clear();
    if (c.accounts !== undefined) this.setAccounts(c.accounts);
    const delay = c.delayMs ?? c.latencyMs;
    if (delay !== undefined) this.setDelay(delay);
    if (c.silent !== undefined) this.setSilent(c.silent);
    if (c.clockOffsetMs !== undefined) this.setClockOffset(c.clockOffsetMs);
    const step = c.restart ? this.restart() : goDown ? this.down() : goUp ? this.up() : Promise.resolve();
    step.then(
      () => sendJson(res, 200, this.state),
      (e: unknown) => sendJson(res, 500, { statusCode: 500, code: 'LISTEN_FAILED', message: e instanceof Error ? e.message : String(e) }),
    );
  }
}

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createServer, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';
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
  type Dc09Echo,
  type Dc09Event,
  type Dc09Message,
  type Dc09Refusal,
} from '@vigil/protocol';
import type { Logger } from '../log.js';

export type PanelTransport = 'tcp' | 'udp';

/** Panels keep a connection each; more than this from the LAN is refused. */
const MAX_CONNECTIONS = 256;

export interface PanelEntry {
  /** Upper-case. */
  account: string;
  /** When set, the panel's messages must be encrypted with it. */
  key: Buffer | null;
}

/** A message the receiver accepted from a panel. */
export interface PanelMessage {
  panel: string;
  message: Dc09Message;
  /** Null for a NULL (supervision) message. */
  event: Dc09Event | null;
  transport: PanelTransport;
  at: number;
}

/** Thrown by `accept` for an intact message the box cannot relay: the panel gets a DUH. */
export class UnprocessableMessage extends Error {}

export interface PanelRefusal {
  transport: PanelTransport;
  remote: string;
  reason: string;
  error: string;
  /** What was answered: nothing for an integrity error. */
  answer: Dc09Refusal;
}

export interface ListeningAddress {
  host: string;
  tcp: number;
  udp: number;
}

export interface PanelReceiverOptions {
  host: string;
  /** TCP and UDP on the same port; 0 picks a free one (the UDP socket then takes the TCP port). */
  port: number;
  /** The panel with this upper-case account, if the box receives for it. */
  panels: (account: string) => PanelEntry | undefined;
  /**
   * Keeps the message; the panel is acknowledged only once this resolves, gets a DUH if it throws
   * UnprocessableMessage, and no answer at all for any other failure (it will send again).
   */
  accept: (m: PanelMessage) => Promise<void>;
  log: Logger;
  now?: () => number;
}

/**
 * The box's DC-09 receiver for the panels on its LAN, over TCP and UDP. It answers as a receiver does: ACK (or
 * *ACK, encrypted with the panel's key) once the message is kept, NAK with its own time for a timestamp out of
 * the window, an unknown account or a message it cannot decrypt, DUH for an intact message it cannot process,
 * and nothing for a CRC, length or size error. Answers on a TCP connection keep the order of the frames.
 */
export class PanelReceiver extends EventEmitter<{ refused: [PanelRefusal] }> {
  private readonly sockets = new Set<Socket>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly now: () => number;
  private closed = false;

  private constructor(
    private readonly opts: PanelReceiverOptions,
    private readonly tcp: Server,
    private readonly udp: UdpSocket,
  ) {
    super();
    this.now = opts.now ?? Date.now;
  }

  static async start(opts: PanelReceiverOptions): Promise<PanelReceiver> {
    const tcp = createServer();
    tcp.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(opts.port, opts.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    const udp = createSocket({ type: isIPv6(opts.host) ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind((tcp.address() as AddressInfo).port, opts.host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      throw err;
    }
    const r = new PanelReceiver(opts, tcp, udp);
    tcp.on('connection', (s) => r.onConnection(s));
    // A panel that went away before its answer must not take the receiver down.
    udp.on('error', (err) => opts.log.warn('panel receiver: UDP error', { err }));
    udp.on('message', (msg, from) => {
      r.track(r.answer(msg, 'udp', `${from.address}:${from.port}`)).then(
        (answer) => {
          if (answer && !r.closed) udp.send(answer, from.port, from.address);
        },
        (err: unknown) => opts.log.error('panel receiver: answering failed', { err }),
      );
    });
    return r;
  }

  /** Null once closing: a status asked for during a stop gets no address rather than an error. */
  get address(): ListeningAddress | null {
    const tcp = this.tcp.address() as AddressInfo | null;
    if (!tcp) return null;
    try {
      return { host: this.opts.host, tcp: tcp.port, udp: this.udp.address().port };
    } catch {
      return null; // the UDP socket is closed already
    }
  }

  /** Closes the listeners and connections, then waits for the messages being kept. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await Promise.all([new Promise<void>((resolve) => this.tcp.close(() => resolve())), new Promise<void>((resolve) => this.udp.close(() => resolve()))]);
    await Promise.allSettled([...this.inFlight]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const forget = (): void => {
      this.inFlight.delete(p);
    };
    p.then(forget, forget);
    return p;
  }

  private onConnection(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const splitter = new Dc09FrameSplitter();
    let chain: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      const out = splitter.push(chunk);
      for (let i = 0; i < out.oversized; i++) this.refuse('tcp', remote, 'oversized', 'frame longer than any DC-09 frame', null);
      for (let i = 0; i < out.truncated; i++) this.refuse('tcp', remote, 'truncated', 'frame cut short by the start of the next one', null);
      for (const frame of out.frames) {
        chain = chain
          .then(() => this.track(this.answer(frame, 'tcp', remote)))
          .then((answer) => {
            if (answer && !socket.destroyed) socket.write(answer);
          })
          .catch((err: unknown) => this.opts.log.error('panel receiver: answering failed', { err }));
      }
    });
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  /** The bytes to answer one frame with, or null for none. Resolves once an accepted message is kept. */
  private async answer(frame: Buffer, transport: PanelTransport, remote: string): Promise<Buffer | null> {
    const at = this.now();
    const refuse = (reason: string, error: string, answer: Dc09Refusal, header?: Dc09Echo): Buffer | null =>
      this.refuse(transport, remote, reason, error, answer, header, at);
    const parsed = parseDc09Frame(frame);
    if (!parsed.ok) return refuse(parsed.reason, parsed.error, dc09AnswerFor(parsed.reason), parsed.header);
    const raw = parsed.value;
    if (raw.id !== Dc09Token.sia && raw.id !== Dc09Token.contactId && raw.id !== Dc09Token.null)
      return refuse('unsupported', `a receiver does not take ${raw.id}`, 'DUH', raw);
    // A plain message may carry its account in the data only; an encrypted one needs it in the header for the key.
    let panel = raw.account === undefined ? undefined : this.opts.panels(raw.account.toUpperCase());
    if (raw.encrypted && !panel) return refuse('unknown-account', `unknown account ${raw.account ?? '(none)'}`, 'NAK', raw);
    if (raw.encrypted && !panel?.key) return refuse('no-key', `no key for account ${raw.account ?? '(none)'}`, 'NAK', raw);
    const opened = openDc09Frame(raw, raw.encrypted ? panel?.key : null);
    if (!opened.ok) return refuse(opened.reason, opened.error, dc09AnswerFor(opened.reason), raw);
    const message = opened.value;
    if (message.timestamp) {
      const inWindow = checkDc09Timestamp(message.timestamp, at);
      if (!inWindow.ok) return refuse('timestamp', inWindow.error, 'NAK', raw);
    }
    let event: Dc09Event | null = null;
    if (message.id !== Dc09Token.null) {
      const decoded = decodeDc09Event(message);
      if (!decoded.ok) return refuse('event', decoded.error, 'DUH', raw);
      event = decoded.value;
    }
    if (!panel) {
      const account = event?.account;
      panel = account === undefined ? undefined : this.opts.panels(account.toUpperCase());
      if (!panel) return refuse('unknown-account', `unknown account ${account ?? '(none)'}`, 'NAK', raw);
    }
    if (!message.encrypted && panel.key) return refuse('encryption-required', `account ${panel.account} sends encrypted messages only`, 'DUH', raw);
    const ack = buildDc09Ack(message, { key: message.encrypted ? panel.key : null, now: new Date(at) });
    if (!ack.ok) return refuse('format', ack.error, 'DUH', raw);
    try {
      await this.opts.accept({ panel: panel.account, message, event, transport, at });
    } catch (err) {
      if (err instanceof UnprocessableMessage) return refuse('unprocessable', err.message, 'DUH', raw);
      throw err;
    }
    return ack.value;
  }

  private refuse(
    transport: PanelTransport,
    remote: string,
    reason: string,
    error: string,
    answer: Dc09Refusal,
    header?: Dc09Echo,
    at = this.now(),
  ): Buffer | null {
    this.emit('refused', { transport, remote, reason, error, answer });
    this.opts.log.info('panel message refused', { transport, remote, reason, error, answer });
    if (answer === null) return null;
    const built = answer === 'NAK' ? buildDc09Nak(new Date(at)) : buildDc09Duh(header ?? { sequence: 0 });
    return built.ok ? built.value : null;
  }
}

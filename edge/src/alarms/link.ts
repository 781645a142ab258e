import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6, type Socket } from 'node:net';
import { decodeDc09Frame, Dc09FrameSplitter, Dc09Token, type AlarmRoute, type Dc09Key, type Dc09Message } from '@vigil/protocol';

/** What came back for one sent frame. */
export type LinkAnswer =
  | { kind: 'ack' }
  /** The receiver refused the message; it sends its own time so that the sender can correct its clock. */
  | { kind: 'nak'; receiverTime: Date | undefined }
  /** The receiver cannot process the message. */
  | { kind: 'duh' }
  | { kind: 'timeout' }
  /** The connection could not be made or broke. */
  | { kind: 'error'; error: string };

export interface LinkTarget {
  host: string;
  port: number;
  transport: AlarmRoute['transport'];
}

interface Waiter {
  sequence: number;
  account: string;
  resolve: (a: LinkAnswer) => void;
}

/**
 * One panel's connection to its ARC receiver: a TCP connection kept open between messages, or a UDP socket.
 * One exchange at a time (the relay keeps one message in flight per panel), so a NAK, which names no message,
 * answers the one in flight. Answers to an encrypted message must be encrypted with the same key.
 */
export class ReceiverLink {
  private tcp: Socket | null = null;
  private udp: UdpSocket | null = null;
  private waiter: Waiter | null = null;
  private closed = false;

  constructor(
    readonly target: LinkTarget,
    private readonly key: Dc09Key | null,
  ) {}

  /** Sends a frame and waits up to `timeoutMs` (connecting included) for the answer to `sequence`. */
  async exchange(frame: Buffer, expect: { sequence: number; account: string }, timeoutMs: number): Promise<LinkAnswer> {
    if (this.closed) return { kind: 'error', error: 'link closed' };
    const deadline = Date.now() + timeoutMs;
    const answer = new Promise<LinkAnswer>((resolve) => {
      this.waiter = { ...expect, resolve };
    });
    const timer = setTimeout(() => this.settle({ kind: 'timeout' }), timeoutMs);
    try {
      const sent = this.target.transport === 'tcp' ? await this.sendTcp(frame, deadline) : await this.sendUdp(frame);
      if (sent) this.settle({ kind: 'error', error: sent });
      return await answer;
    } finally {
      clearTimeout(timer);
      this.waiter = null;
    }
  }

  close(): void {
    this.closed = true;
    this.settle({ kind: 'error', error: 'link closed' });
    this.tcp?.destroy();
    this.tcp = null;
    this.udp?.close();
    this.udp = null;
  }

  private settle(a: LinkAnswer): void {
    const w = this.waiter;
    this.waiter = null;
    w?.resolve(a);
  }

  /** Returns an error message, or undefined once the frame is written. */
  private async sendTcp(frame: Buffer, deadline: number): Promise<string | undefined> {
    if (!this.tcp) {
      const error = await this.connectTcp(deadline);
      if (error) return error;
    }
    this.tcp?.write(frame);
    return undefined;
  }

  private connectTcp(deadline: number): Promise<string | undefined> {
    const socket = connect({ host: this.target.host, port: this.target.port, noDelay: true });
    const splitter = new Dc09FrameSplitter();
    socket.on('data', (chunk: Buffer) => {
      for (const f of splitter.push(chunk).frames) this.onFrame(f);
    });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(`no connection within ${Math.max(0, deadline - Date.now())} ms`);
      }, Math.max(0, deadline - Date.now()));
      socket.once('connect', () => {
        clearTimeout(timer);
        if (this.closed) {
          socket.destroy();
          resolve('link closed');
          return;
        }
        this.tcp = socket;
        resolve(undefined);
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        resolve(err.message);
      });
      socket.once('close', () => {
        if (this.tcp === socket) {
          this.tcp = null;
          this.settle({ kind: 'error', error: 'connection closed by the receiver' });
        }
      });
    });
  }

  private async sendUdp(frame: Buffer): Promise<string | undefined> {
    if (!this.udp) {
      const udp = createSocket({ type: isIPv6(this.target.host) ? 'udp6' : 'udp4' });
      // An ICMP "port unreachable" (receiver down) shows as an error on a connected socket.
      udp.on('error', (err) => this.settle({ kind: 'error', error: err.message }));
      udp.on('message', (msg) => this.onFrame(msg));
      const error = await new Promise<string | undefined>((resolve) => {
        udp.connect(this.target.port, this.target.host, () => resolve(undefined));
        udp.once('error', (err) => resolve(err.message));
      });
      if (error) {
        udp.close();
        return error;
      }
      if (this.closed) {
        udp.close();
        return 'link closed';
      }
      this.udp = udp;
    }
    return new Promise((resolve) => this.udp?.send(frame, (err) => resolve(err?.message)));
  }

  private onFrame(frame: Buffer): void {
    const w = this.waiter;
    if (!w) return;
    const decoded = decodeDc09Frame(frame, (h) => (h.encrypted ? this.key : null));
    if (!decoded.ok) return;
    const m: Dc09Message = decoded.value;
    if (m.id === Dc09Token.nak) return this.settle({ kind: 'nak', receiverTime: m.timestamp });
    if (m.sequence !== w.sequence || (m.account !== undefined && m.account.toUpperCase() !== w.account)) return;
    if (m.id === Dc09Token.duh) return this.settle({ kind: 'duh' });
    // An answer in plain text to an encrypted message proves nothing: it could come from anyone.
    if (m.id === Dc09Token.ack && m.encrypted === (this.key !== null)) this.settle({ kind: 'ack' });
  }
}

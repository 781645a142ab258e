import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { decodeDc09Frame, Dc09FrameSplitter, encodeDc09Frame, type Dc09Key, type Dc09Message, type Dc09Outgoing } from '@vigil/protocol';

/** A panel's message as bytes; throws on what the encoder refuses. */
export function panelFrame(msg: Partial<Dc09Outgoing> & Pick<Dc09Outgoing, 'sequence'>): Buffer {
  const r = encodeDc09Frame({ id: 'ADM-CID', account: '1234', data: '#1234|1130 01 015', timestamp: new Date(), ...msg });
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/**
 * A tiny DC-09 sender standing in for a panel: writes frames over TCP or UDP and hands back the box's answers
 * in the order they come.
 */
export class TestPanel {
  private readonly answers: Buffer[] = [];
  private waiter: (() => void) | null = null;

  private constructor(
    private readonly tcp: Socket | null,
    private readonly udp: UdpSocket | null,
    private readonly port: number,
    private readonly host: string,
  ) {}

  static async tcp(port: number, host = '127.0.0.1'): Promise<TestPanel> {
    const socket = connect(port, host);
    await once(socket, 'connect');
    const panel = new TestPanel(socket, null, port, host);
    const splitter = new Dc09FrameSplitter();
    socket.on('data', (chunk: Buffer) => panel.arrived(splitter.push(chunk).frames));
    socket.on('error', () => undefined);
    return panel;
  }

  static async udp(port: number, host = '127.0.0.1'): Promise<TestPanel> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const panel = new TestPanel(null, socket, port, host);
    socket.on('message', (msg) => panel.arrived([msg]));
    return panel;
  }

  private arrived(frames: Buffer[]): void {
    this.answers.push(...frames);
    this.waiter?.();
  }

  send(frame: Buffer): void {
    if (this.tcp) this.tcp.write(frame);
    else this.udp?.send(frame, this.port, this.host);
  }

  /** The next answer, decoded with `key` when it is encrypted. */
  async next(key: Dc09Key | null = null, timeoutMs = 5_000): Promise<Dc09Message> {
    const deadline = Date.now() + timeoutMs;
    while (this.answers.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no answer from the box');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    const frame = this.answers.shift() as Buffer;
    const decoded = decodeDc09Frame(frame, key);
    if (!decoded.ok) throw new Error(`unreadable answer: ${decoded.error}`);
    return decoded.value;
  }

  /** Sends a frame and returns the answer to it. */
  async request(frame: Buffer, key: Dc09Key | null = null): Promise<Dc09Message> {
    this.send(frame);
    return this.next(key);
  }

  close(): void {
    this.tcp?.destroy();
    this.udp?.close();
  }
}

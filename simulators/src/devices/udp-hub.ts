import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/** Called with each datagram; `reply` sends from the handler's own address to the sender. */
export type UdpHandler = (msg: Buffer, from: RemoteInfo, reply: (data: Buffer) => void, via: 'unicast' | 'multicast') => void;

interface Bound {
  socket: Socket;
  handlers: Set<UdpHandler>;
}

/**
 * One UDP port shared by many simulated devices in a process: a socket per device address (unicast probes,
 * and the source of every answer), plus one socket bound to the multicast group that has joined the group on
 * each device address's interface. Several devices on one address share its socket and all answer. Sockets
 * use SO_REUSEADDR, so other processes on the host may listen on the same port too.
 */
export class UdpHub {
  private readonly bound = new Map<string, Bound>();
  private multicastSocket: Socket | undefined;
  private readonly joined = new Set<string>();
  private port: number;
  private closed = false;

  constructor(
    private readonly opts: { port: number; group: string; multicast: boolean },
  ) {
    this.port = opts.port;
  }

  /** The port every socket of the hub listens on (known once one is bound). */
  get boundPort(): number {
    return this.port;
  }

  /** Listens for `handler` on ip:port (creating the socket on first use) and joins the group there. */
  async register(ip: string, handler: UdpHandler, multicastInterface?: string): Promise<number> {
    if (this.closed) throw new Error('hub closed');
    let b = this.bound.get(ip);
    if (!b) {
      const socket = createSocket({ type: 'udp4', reuseAddr: true });
      try {
        await bind(socket, this.port, ip);
      } catch (e) {
        socket.close();
        throw e;
      }
      this.port = socket.address().port;
      const entry: Bound = { socket, handlers: new Set() };
      socket.on('error', () => undefined);
      socket.on('message', (msg, from) => {
        for (const h of entry.handlers) h(msg, from, (data) => socket.send(data, from.port, from.address), 'unicast');
      });
      this.bound.set(ip, entry);
      b = entry;
    }
    b.handlers.add(handler);
    if (this.opts.multicast) await this.join(multicastInterface ?? ip);
    return this.port;
  }

  unregister(ip: string, handler: UdpHandler): void {
    const b = this.bound.get(ip);
    if (!b) return;
    b.handlers.delete(handler);
    if (b.handlers.size === 0) {
      this.bound.delete(ip);
      b.socket.close();
    }
  }

  /** Whether any device listens on this address. */
  has(ip: string): boolean {
    return this.bound.has(ip);
  }

  private async join(iface: string): Promise<void> {
    if (this.joined.has(iface)) return;
    if (!this.multicastSocket) {
      const socket = createSocket({ type: 'udp4', reuseAddr: true });
      try {
        // Bound to the group address, it gets only multicast: unicast stays with the per-address sockets.
        await bind(socket, this.port, this.opts.group);
      } catch {
        socket.close();
        return;
      }
      socket.on('error', () => undefined);
      socket.on('message', (msg, from) => this.onMulticast(msg, from));
      this.multicastSocket = socket;
    }
    this.joined.add(iface);
    try {
      if (iface === '0.0.0.0') this.multicastSocket.addMembership(this.opts.group);
      else this.multicastSocket.addMembership(this.opts.group, iface);
    } catch {
      // Already joined on that interface through another of its addresses, or no multicast there.
    }
  }

  private onMulticast(msg: Buffer, from: RemoteInfo): void {
    const fromLoopback = from.address.startsWith('127.');
    for (const [ip, b] of this.bound) {
      // A device on the loopback address only answers probes from the host itself, and the other way round.
      if (ip !== '0.0.0.0' && ip.startsWith('127.') !== fromLoopback) continue;
      for (const h of b.handlers) h(msg, from, (data) => b.socket.send(data, from.port, from.address), 'multicast');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const sockets = [...[...this.bound.values()].map((b) => b.socket), ...(this.multicastSocket ? [this.multicastSocket] : [])];
    this.bound.clear();
    this.multicastSocket = undefined;
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function bind(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port, address, exclusive: false }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

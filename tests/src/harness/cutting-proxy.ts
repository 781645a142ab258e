import net from 'node:net';

/**
 * A TCP proxy on loopback in front of an HTTP server that can cut a connection in the middle of a request body:
 * after `cutNext(method, bytes)`, the connection carrying the next request of that method is closed once that many
 * bytes of the request have gone through. Everything else passes untouched.
 */
export class CuttingProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private pendingCut: { method: string; afterBytes: number } | null = null;
  /** Connections cut so far, with the request line each carried. */
  readonly cuts: string[] = [];
  /** Request lines seen, in order. */
  readonly requests: string[] = [];
  target: { host: string; port: number } | null = null;

  private constructor() {
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(): Promise<CuttingProxy> {
    const proxy = new CuttingProxy();
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  cutNext(method: string, afterBytes: number): void {
    this.pendingCut = { method, afterBytes };
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    if (!this.target) return void client.destroy();
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.pipe(client);
    // Counted from the start of the request to cut (requests on a kept-alive connection each start a new chunk).
    let seen = 0;
    let cutAt: number | null = null;
    let cutLine = '';
    client.on('data', (chunk: Buffer) => {
      const line = /^[A-Z]+ \S+ HTTP\/1\.1\r\n/.exec(chunk.subarray(0, 2048).toString('latin1'))?.[0].trimEnd();
      if (line) {
        this.requests.push(line);
        if (cutAt === null && this.pendingCut && line.startsWith(`${this.pendingCut.method} `)) {
          cutAt = this.pendingCut.afterBytes;
          cutLine = line;
          seen = 0;
          this.pendingCut = null;
        }
      }
      if (cutAt !== null && seen + chunk.length >= cutAt) {
        upstream.write(chunk.subarray(0, cutAt - seen), () => {
          this.cuts.push(cutLine);
          upstream.destroy();
          client.destroy();
        });
        cutAt = null;
        client.pause();
        return;
      }
      seen += chunk.length;
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

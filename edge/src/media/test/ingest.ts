import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { IngestMessage, MediaOpenParams } from '@vigil/protocol';

export const INGEST_TOKEN = 'ingest-token-0123456789';

/** One message an ingest connection got: a control message or a binary chunk. */
export type Received = { kind: 'text'; message: IngestMessage } | { kind: 'binary'; data: Buffer };

export interface IngestConnection {
  sessionId: string;
  authorization: string | undefined;
  received: Received[];
  closed: boolean;
  socket: WebSocket;
}

/** A local stand-in for the cloud's ingest: records what each session's socket receives. */
export class TestIngest {
  readonly connections = new Map<string, IngestConnection>();
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly server: WebSocketServer) {
    server.on('connection', (socket, req) => {
      const sessionId = (req.url ?? '').split('/').pop() ?? '';
      const c: IngestConnection = { sessionId, authorization: req.headers.authorization, received: [], closed: false, socket };
      this.connections.set(sessionId, c);
      socket.on('message', (data, isBinary) => {
        const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
        c.received.push(isBinary ? { kind: 'binary', data: buf } : { kind: 'text', message: JSON.parse(buf.toString('utf8')) as IngestMessage });
        this.wake();
      });
      socket.on('close', () => {
        c.closed = true;
        this.wake();
      });
      this.wake();
    });
  }

  static async start(): Promise<TestIngest> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new TestIngest(server);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/ingest`;
  }

  /** Fresh open params for a session whose ingest is this server. */
  params(over: Partial<MediaOpenParams> & Pick<MediaOpenParams, 'source'>): MediaOpenParams {
    const sessionId = randomUUID();
    return { sessionId, stream: 'main', mode: { kind: 'live' }, ingest: { url: `${this.url}/${sessionId}`, token: INGEST_TOKEN }, ...over };
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once `pred` holds (checked on every message and every 100 ms), or rejects after `ms`. */
  waitFor<T>(what: string, pred: () => T | undefined | false, ms = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const v = pred();
        if (v === undefined || v === false) return;
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
        resolve(v);
      };
      const poll = setInterval(check, 100);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }

  close(): Promise<void> {
    for (const c of this.connections.values()) c.socket.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export const texts = (c: IngestConnection | undefined): IngestMessage[] =>
  (c?.received ?? []).flatMap((r) => (r.kind === 'text' ? [r.message] : []));
export const binaries = (c: IngestConnection | undefined): Buffer[] => (c?.received ?? []).flatMap((r) => (r.kind === 'binary' ? [r.data] : []));
/** The top-level MP4 box types at the start of a chunk. */
export const boxTypes = (b: Buffer): string[] => {
  const out: string[] = [];
  for (let at = 0; at + 8 <= b.length; ) {
    out.push(b.toString('latin1', at + 4, at + 8));
    const size = b.readUInt32BE(at);
    if (size < 8) break;
    at += size;
  }
  return out;
};

/** Whether a process is still running (a zombie waiting for its parent to reap it counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes, type AedesOptions, type AedesPublishPacket, type Client } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';

export interface TestBroker {
  broker: Aedes;
  /** ws://127.0.0.1:{port}/mqtt, as the edge derives it from the cloud URL. */
  url: string;
  /** Publishes as the cloud would, resolving once the broker has routed the message. */
  publish(topic: string, payload: Uint8Array, opts?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  /** Every message a client published, in arrival order, with the number of its connection. */
  received: { topic: string; payload: Buffer; retain: boolean; qos: number; conn: number }[];
  /** Resolves with the first received message (past or future) that matches. */
  waitFor(pred: (m: TestBroker['received'][number]) => boolean): Promise<TestBroker['received'][number]>;
  close(): Promise<void>;
}

/** An in-process aedes broker behind MQTT over WebSocket on a loopback port chosen by the OS. */
export async function startBroker(hooks: Partial<AedesOptions> = {}): Promise<TestBroker> {
  const broker = await Aedes.createBroker(hooks);
  const http: Server = createServer();
  const wss = new WebSocketServer({ server: http, path: '/mqtt' });
  wss.on('connection', (ws, req) => {
    broker.handle(createWebSocketStream(ws), req);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;

  const connNumbers = new WeakMap<Client, number>();
  let conns = 0;
  broker.on('client', (c) => connNumbers.set(c, ++conns));

  const received: TestBroker['received'] = [];
  const waiters: { pred: (m: TestBroker['received'][number]) => boolean; resolve: (m: TestBroker['received'][number]) => void }[] = [];
  broker.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
    if (!client) return;
    const m = {
      topic: packet.topic,
      payload: Buffer.from(packet.payload),
      retain: packet.retain,
      qos: packet.qos,
      conn: connNumbers.get(client) ?? 0,
    };
    received.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });

  return {
    broker,
    url: `ws://127.0.0.1:${port}/mqtt`,
    received,
    publish: (topic, payload, opts = {}) =>
      new Promise((resolve, reject) =>
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos: opts.qos ?? 1, retain: opts.retain ?? false, dup: false },
          (err) => (err ? reject(err) : resolve()),
        ),
      ),
    waitFor: (pred) => {
      const past = received.find(pred);
      if (past) return Promise.resolve(past);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

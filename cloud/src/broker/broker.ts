import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';

/** Path of MQTT over WebSocket on the cloud's HTTP port: edges need only outbound HTTPS. */
export const MQTT_WS_PATH = '/mqtt';

export type AuthResult = { ok: true } | { ok: false; returnCode: 4 | 5 };

/** The policy behind the broker's hooks; the edges domain implements it. */
export interface BrokerPolicy {
  authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<AuthResult>;
  /** Returns the subscription to grant, or null to refuse it (SUBACK 0x80). */
  authorizeSubscribe(client: Client, sub: Subscription): Subscription | null;
  /**
   * Called before the broker acknowledges a QoS 1 publish: resolve when the message is handled
   * (so PUBACK means "stored"), reject with `{ disconnect: true }` to refuse it and drop the client.
   */
  authorizePublish(client: Client, packet: PublishPacket): Promise<void>;
  clientReady(client: Client): void;
  clientGone(client: Client): void;
  subscribed(client: Client, subs: Subscription[]): void;
}

export interface Broker {
  aedes: Aedes;
  /** Serves MQTT over WebSocket on an upgrade the HTTP(S) server routed here (`MQTT_WS_PATH`). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  listenTcp(port: number, host: string): Promise<number>;
  publish(topic: string, payload: Uint8Array, opts: { qos: 0 | 1; retain?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export async function createBroker(policy: BrokerPolicy, log: { warn(o: object, m: string): void }): Promise<Broker> {
  const aedes = await Aedes.createBroker({
    maxClientsIdLength: 256,
    // Each edge subscribes to one filter; more levels than ours is a client to refuse.
    maxTopicLevels: 8,
    heartbeatInterval: 600_000,
    authenticate: (client, username, password, done) => {
      policy.authenticate(client, username, password).then(
        (r) => {
          if (r.ok) return done(null, true);
          done(Object.assign(new Error('refused'), { returnCode: r.returnCode }), false);
        },
        (err: unknown) => {
          log.warn({ err }, 'mqtt authenticate failed');
          done(Object.assign(new Error('server unavailable'), { returnCode: 3 }), false);
        },
      );
    },
    authorizeSubscribe: (client, sub, done) => done(null, policy.authorizeSubscribe(client, sub)),
    authorizePublish: (client, packet, done) => {
      // Publishes from the cloud itself have no client and are trusted.
      if (!client) return done(null);
      policy.authorizePublish(client, packet).then(
        () => done(null),
        (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
      );
    },
  });
  aedes.on('clientReady', (client) => policy.clientReady(client));
  aedes.on('clientDisconnect', (client) => policy.clientGone(client));
  aedes.on('subscribe', (subs, client) => policy.subscribed(client, subs));

  const wss = new WebSocketServer({ noServer: true, maxPayload: 512 * 1024 });
  const tcpServers: TcpServer[] = [];

  return {
    aedes,
    handleUpgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        aedes.handle(stream, req);
      });
    },
    async listenTcp(port, host) {
      const server = createTcpServer((socket) => aedes.handle(socket));
      tcpServers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      const address = server.address();
      return typeof address === 'object' && address ? address.port : port;
    },
    publish(topic, payload, opts) {
      const packet = { cmd: 'publish', topic, payload: Buffer.from(payload), qos: opts.qos, retain: opts.retain ?? false, dup: false };
      return new Promise((resolve, reject) => aedes.publish(packet as PublishPacket, (err) => (err ? reject(err) : resolve())));
    },
    async close() {
      for (const s of tcpServers) s.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

export type { AedesPublishPacket, Client, PublishPacket, Subscription };

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  decodeMessage,
  encodeEnvelope,
  envelope,
  mqttIdentity,
  topics,
  type ClaimCredentialsData,
  type DecodedMessage,
  type Envelope,
  type HeartbeatData,
  type InventoryData,
  type LanSnapshot,
  type RpcRequestData,
  type StatusData,
} from '@vigil/protocol';
import type { Logger } from './log.js';
import { OutboxPump } from './outbox.js';
import type { Store } from './store.js';

export type UplinkMode = 'claim' | 'edge';
export interface CommandMessage {
  topic: { kind: 'command'; edgeId: string; method: string };
  envelope: Envelope<RpcRequestData>;
}
type ClaimMessage = {
  topic: { kind: 'claimCredentials'; serial: string; nonce: string };
  envelope: Envelope<ClaimCredentialsData>;
};
// TypeScript does not narrow a union on a nested discriminant (msg.topic.kind); these guards do.
const isCommand = (m: DecodedMessage): m is CommandMessage => m.topic.kind === 'command';
const isClaim = (m: DecodedMessage): m is ClaimMessage => m.topic.kind === 'claimCredentials';

export interface UplinkOptions {
  serial: string;
  verificationCode: string;
  /** ws(s)://host:port/mqtt (mqtt:// also works, for tests against a plain TCP broker). */
  mqttUrl: string;
  store: Store;
  log: Logger;
  agentVersion: string;
  startedAt: number;
  heartbeatSec: number;
  keepaliveSec?: number;
  outboxWindow?: number;
  backoff?: { initialMs: number; maxMs: number };
  heartbeat: () => Promise<HeartbeatData>;
  inventory: () => Promise<InventoryData>;
  /** The LAN snapshot to send on every (re)connect, if there is one yet. */
  lan?: () => LanSnapshot | null;
}

interface UplinkEvents {
  connected: [mode: UplinkMode];
  disconnected: [mode: UplinkMode];
  claimed: [];
  /** The cloud refused the stored credentials: the box was removed from its site. */
  unclaimed: [returnCode: number];
  command: [msg: CommandMessage];
}

const newNonce = (): string => randomBytes(12).toString('base64url');
const REFUSED_CREDENTIALS = new Set([4, 5]);

/**
 * The MQTT tunnel to the cloud. Reconnects itself (capped exponential backoff with jitter) so that it
 * decides, on every attempt, whether to log in as an unclaimed box or as the claimed edge.
 */
export class Uplink extends EventEmitter<UplinkEvents> {
  readonly outbox: OutboxPump;
  private client: MqttClient | null = null;
  private mode: UplinkMode | null = null;
  private isConnected = false;
  private stopping = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private claimNonce = newNonce();
  private readonly pending = new Set<(err: Error) => void>();

  constructor(private readonly opts: UplinkOptions) {
    super();
    this.outbox = new OutboxPump(opts.store, opts.log.child({ part: 'outbox' }), opts.outboxWindow ?? 32);
  }

  get connected(): boolean {
    return this.isConnected;
  }

  get currentMode(): UplinkMode | null {
    return this.mode;
  }

  start(): void {
    this.stopping = false;
    this.connect().catch((err: unknown) => this.onAttemptFailed(err));
  }

  /** Publishes straight to the broker (not through the outbox); resolves on PUBACK for QoS 1. */
  publish(topic: string, payload: Uint8Array, opts: { qos: 0 | 1; retain?: boolean }): Promise<void> {
    const client = this.client;
    if (!client || !this.isConnected) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      const settle = (err?: Error): void => {
        this.pending.delete(settle);
        if (err) reject(err);
        else resolve();
      };
      this.pending.add(settle);
      client.publish(topic, Buffer.from(payload), { qos: opts.qos, retain: opts.retain ?? false }, (err) => settle(err));
    });
  }

  /**
   * Leaves cleanly: in edge mode publishes the retained offline status with the given reason, then sends
   * DISCONNECT so that the broker does not fire the last will.
   */
  async stop(reason: 'shutdown' | 'reboot'): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.stopHeartbeat();
    const client = this.client;
    if (!client) return;
    if (this.isConnected && this.mode === 'edge') {
      const status = encodeEnvelope(envelope('status', { state: 'offline', reason }));
      await this.publish(topics.status(this.opts.serial), status, { qos: 1, retain: true }).catch((err: unknown) =>
        this.opts.log.warn('offline status not acknowledged', { err }),
      );
    }
    // Force when not connected: there is no session to close and a pending connect must not hold us.
    await client.endAsync(!this.isConnected).catch((err: unknown) => this.opts.log.warn('disconnect failed', { err }));
    this.detach(client);
  }

  private async connect(): Promise<void> {
    if (this.stopping) return;
    const { serial, store } = this.opts;
    const creds = await store.getCredentials();
    const mode: UplinkMode = creds ? 'edge' : 'claim';
    const base: IClientOptions = {
      protocolVersion: 4,
      clean: true,
      keepalive: this.opts.keepaliveSec ?? 15,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      resubscribe: false,
    };
    let options: IClientOptions;
    if (creds) {
      const will: StatusData = { state: 'offline', reason: 'will' };
      options = {
        ...base,
        clientId: mqttIdentity.edgeClientId(serial),
        username: creds.username,
        password: creds.password,
        will: {
          topic: topics.status(serial),
          payload: Buffer.from(encodeEnvelope(envelope('status', will))),
          qos: 1,
          retain: true,
        },
      };
    } else {
      options = {
        ...base,
        clientId: mqttIdentity.claimClientId(serial, this.claimNonce),
        username: mqttIdentity.claimUsername(serial),
        password: this.opts.verificationCode,
      };
    }
    this.mode = mode;
    this.opts.log.debug('connecting', { mode, url: this.opts.mqttUrl, attempt: this.attempt });
    const client = mqtt.connect(this.opts.mqttUrl, options);
    this.client = client;
    let refusedCode: number | null = null;
    let closed = false;

    client.on('connect', () => {
      if (client !== this.client) return;
      this.isConnected = true;
      this.attempt = 0;
      this.opts.log.info('connected', { mode });
      const setup = mode === 'edge' ? this.onEdgeConnected(client) : this.onClaimConnected(client);
      setup
        .then(() => this.emit('connected', mode))
        .catch((err: unknown) => {
          this.opts.log.warn('session set-up failed', { err, mode });
          client.end(true);
        });
    });
    client.on('message', (topic, payload) => {
      if (client !== this.client) return;
      this.onMessage(client, mode, topic, payload);
    });
    client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') refusedCode = code;
      this.opts.log.warn('mqtt error', { err, mode });
    });
    client.on('close', () => {
      if (closed) return;
      closed = true;
      this.onClosed(client, mode, refusedCode);
    });
  }

  private async onClaimConnected(client: MqttClient): Promise<void> {
    const topic = topics.claimCredentials(this.opts.serial, this.claimNonce);
    await client.subscribeAsync(topic, { qos: 1 });
    this.opts.log.info('waiting to be claimed', { topic });
  }

  private async onEdgeConnected(client: MqttClient): Promise<void> {
    const { serial, store } = this.opts;
    const online: StatusData = { state: 'online', agentVersion: this.opts.agentVersion, startedAt: this.opts.startedAt };
    await this.publish(topics.status(serial), encodeEnvelope(envelope('status', online)), { qos: 1, retain: true });
    await client.subscribeAsync(topics.filters.commandsOf(serial), { qos: 1 });
    const inventory = await this.opts.inventory();
    await store.enqueue(topics.inventory(serial), encodeEnvelope(envelope('inventory', inventory)), {
      replaceSameTopic: true,
    });
    const lan = this.opts.lan?.() ?? null;
    if (lan) await store.enqueue(topics.lan(serial), encodeEnvelope(envelope('lan', lan)), { replaceSameTopic: true });
    if (client !== this.client) return;
    this.outbox.attach(client);
    this.startHeartbeat(client);
  }

  private onMessage(client: MqttClient, mode: UplinkMode, topic: string, payload: Buffer): void {
    const decoded = decodeMessage(topic, payload);
    if (!decoded.ok) {
      this.opts.log.warn('dropped bad message', { topic, error: decoded.error });
      return;
    }
    const msg = decoded.value;
    if (mode === 'claim' && isClaim(msg)) {
      const { serial } = this.opts;
      const data = msg.envelope.data;
      if (msg.topic.serial !== serial || msg.topic.nonce !== this.claimNonce) return;
      if (data.edgeId !== serial || data.username !== mqttIdentity.edgeUsername(serial)) {
        this.opts.log.warn('dropped claim credentials for another identity', { edgeId: data.edgeId });
        return;
      }
      this.opts.store
        .setCredentials({ edgeId: data.edgeId, username: data.username, password: data.password })
        .then(() => {
          this.opts.log.info('claimed: credentials stored, switching to edge mode');
          this.emit('claimed');
          // The close handler reconnects at once, now in edge mode.
          client.end();
        })
        .catch((err: unknown) => this.opts.log.error('storing credentials failed', { err }));
      return;
    }
    if (mode === 'edge' && isCommand(msg) && msg.topic.edgeId === this.opts.serial) {
      this.emit('command', msg);
      return;
    }
    this.opts.log.warn('dropped message on an unexpected topic', { topic, mode });
  }

  private onClosed(client: MqttClient, mode: UplinkMode, refusedCode: number | null): void {
    if (client !== this.client) return;
    const wasConnected = this.isConnected;
    this.detach(client);
    if (wasConnected) this.emit('disconnected', mode);
    if (this.stopping) return;
    if (mode === 'edge' && refusedCode !== null && REFUSED_CREDENTIALS.has(refusedCode)) {
      this.opts.log.warn('stored credentials refused: back to claim mode', { returnCode: refusedCode });
      this.claimNonce = newNonce();
      this.opts.store
        .deleteCredentials()
        .then(() => {
          this.emit('unclaimed', refusedCode);
          this.attempt = 0;
          this.scheduleReconnect(0);
        })
        .catch((err: unknown) => this.onAttemptFailed(err));
      return;
    }
    if (wasConnected && mode === 'claim') {
      // A clean switch after claim, or a dropped claim session: try again straight away once.
      this.scheduleReconnect(0);
      return;
    }
    this.scheduleReconnect(this.nextDelay());
  }

  private detach(client: MqttClient): void {
    if (client !== this.client) return;
    this.isConnected = false;
    this.client = null;
    this.outbox.detach();
    this.stopHeartbeat();
    const err = new Error('connection closed');
    for (const settle of [...this.pending]) settle(err);
    client.removeAllListeners('message');
    if (!client.disconnected) client.end(true);
  }

  private nextDelay(): number {
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    // Full jitter in the upper half, so that many boxes cut off together do not return together.
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopping || this.reconnectTimer) return;
    this.opts.log.debug('reconnect scheduled', { delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect().catch((err: unknown) => this.onAttemptFailed(err));
    }, delayMs);
  }

  private onAttemptFailed(err: unknown): void {
    this.opts.log.error('connection attempt failed', { err });
    this.scheduleReconnect(this.nextDelay());
  }

  private startHeartbeat(client: MqttClient): void {
    this.stopHeartbeat();
    const beat = (): void => {
      if (client !== this.client || !this.isConnected) return;
      this.opts
        .heartbeat()
        .then((data) => {
          client.publish(topics.heartbeat(this.opts.serial), Buffer.from(encodeEnvelope(envelope('heartbeat', data))), {
            qos: 0,
          });
        })
        .catch((err: unknown) => this.opts.log.warn('heartbeat failed', { err }));
    };
    this.heartbeatTimer = setInterval(beat, this.opts.heartbeatSec * 1000);
    beat();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }
}

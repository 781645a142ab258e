import { and, eq, isNull } from 'drizzle-orm';
import { decodeMessage, parseMqttIdentity, parseTopic, topics, type P2pInfoData, type P2pIsapiReplyData } from '@vigil/protocol';
import { DeviceAccessMode, ErrorCode } from '@vigil/protocol/api';
import { KeyedQueue } from '../keyed-queue.js';
import type { AuthResult, Broker, BrokerPolicy, Client, PublishPacket, Subscription } from '../broker/broker.js';
import type { Db } from '../db/client.js';
import { devices, p2pDevices } from '../db/schema.js';
import type { Presence } from '../edges/presence.js';
import { AppError } from '../http/errors.js';
import type { Metrics } from '../metrics.js';
import { hashSecret, verifySecret } from '../security/secrets.js';
import { PendingIsapi, type IsapiAnswer, type IsapiRequest } from './isapi.js';

/** What a device may present as its verification code (6–12 on real devices; a little slack). */
const CODE_PATTERN = /^[A-Za-z0-9]{6,32}$/;

const serials = new WeakMap<Client, string>();

/**
 * Devices with the Hik-Connect service on connect to the platform by themselves (Table 3-5, P2P), known by their
 * short serial and proving their verification code. Before a device is added to a site anyone may connect under
 * its serial (the newest connection's code is the one an installer must give); once added from that connection,
 * only a connection with the same code is accepted, and its comings and goings are the device's presence.
 * The platform reaches a device on a site through this connection: ISAPI requests, as Hik-Connect's P2P tunnel does.
 */
export class P2pGateway implements BrokerPolicy {
  private broker: Broker | null = null;
  private readonly clients = new Map<string, Client>();
  /** Connections subscribed to their ISAPI requests. */
  private readonly listening = new WeakSet<Client>();
  private readonly requests: PendingIsapi;
  /** Work for one serial runs in order (a login, its info, its disconnection). */
  private readonly queue = new KeyedQueue();
  private readonly count: { logins: (l: Record<string, string>) => void; refused: (l: Record<string, string>) => void };

  constructor(
    private readonly db: Db,
    private readonly presence: Presence,
    metrics: Metrics,
    private readonly log: { warn(o: object, m: string): void },
  ) {
    this.count = {
      logins: metrics.counter('vigil_p2p_logins_total', 'Logins of P2P devices by result'),
      refused: metrics.counter('vigil_p2p_refused_total', 'P2P device publishes and subscriptions refused'),
    };
    metrics.gauge('vigil_p2p_devices_connected', 'P2P devices holding a connection to this node', () => this.clients.size);
    const requests = metrics.counter('vigil_p2p_isapi_requests_total', 'ISAPI requests to P2P devices by outcome');
    this.requests = new PendingIsapi(
      async (topic, payload) => {
        if (!this.broker) throw new Error('the broker is not attached');
        return this.broker.publish(topic, payload, { qos: 1 });
      },
      (outcome) => requests({ outcome }),
    );
  }

  attach(broker: Broker): void {
    this.broker = broker;
  }

  static accepts(username: string | undefined): boolean {
    return username?.startsWith('device:') ?? false;
  }

  isConnected(shortSerial: string): boolean {
    return this.clients.has(shortSerial);
  }

  /**
   * Sends an ISAPI request to a device on a site over its own connection and resolves with its answer. Rejects
   * with 404 for a serial no site holds, 409 when the device is not connected (or leaves before answering), and
   * 504 when it does not answer in time. Which company may ask is for the caller to check.
   */
  async isapi(shortSerial: string, request: IsapiRequest, timeoutMs: number): Promise<IsapiAnswer> {
    if (!(await this.boundDevice(shortSerial))) throw new AppError(404, ErrorCode.deviceNotFound, `No device on a site has the serial number ${shortSerial}.`);
    const client = this.clients.get(shortSerial);
    if (!client || !this.listening.has(client)) {
      throw new AppError(409, ErrorCode.deviceNotConnected, `The device ${shortSerial} is not connected to the platform right now.`);
    }
    return this.requests.send(shortSerial, request, timeoutMs);
  }

  /** Requests still waiting fail: the cloud is shutting down. */
  close(): void {
    this.requests.abandon(null, () => new AppError(503, ErrorCode.deviceNotConnected, 'The cloud is shutting down.'));
  }

  /** After a restart no device is connected to this process. */
  async resumeAfterRestart(): Promise<void> {
    const stale = await this.db.update(p2pDevices).set({ connected: false, disconnectedAt: new Date() }).where(eq(p2pDevices.connected, true)).returning();
    for (const row of stale) await this.reportBound(row.shortSerial, false, row.disconnectedAt ?? new Date());
  }

  // ---- broker policy ------------------------------------------------------------------------------

  async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    const id = parseMqttIdentity(username, client.id);
    const code = password && password.length > 0 ? password.toString('utf8') : null;
    if (id?.role !== 'device' || (code !== null && !CODE_PATTERN.test(code))) return this.login({ ok: false, returnCode: 4 });
    const ok = await this.queue.run(id.serial, async () => {
      const [row] = await this.db.select().from(p2pDevices).where(eq(p2pDevices.shortSerial, id.serial));
      const same = row !== undefined && (row.codeHash === null ? code === null : code !== null && (await verifySecret(code, row.codeHash)));
      if (same) return true;
      // Once on a site, a device keeps the code it was added with.
      if (await this.boundDevice(id.serial)) return false;
      const codeHash = code === null ? null : await hashSecret(code);
      await this.db
        .insert(p2pDevices)
        .values({ shortSerial: id.serial, codeHash })
        .onConflictDoUpdate({ target: p2pDevices.shortSerial, set: { codeHash, info: null } });
      return true;
    });
    if (!ok) return this.login({ ok: false, returnCode: 4 });
    serials.set(client, id.serial);
    return this.login({ ok: true });
  }

  private login(r: AuthResult): AuthResult {
    this.count.logins({ result: r.ok ? 'accepted' : `refused_${r.returnCode}` });
    return r;
  }

  /** A device may listen to its own ISAPI requests and nothing else. */
  authorizeSubscribe(client: Client, sub: Subscription): Subscription | null {
    const serial = serials.get(client);
    if (serial && sub.topic === topics.p2pIsapi(serial)) return { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 };
    this.count.refused({ reason: 'subscribe' });
    this.log.warn({ clientId: client.id, topic: sub.topic }, 'P2P device subscription refused');
    return null;
  }

  /** A device may publish its own info and its answers to its own requests; anything else drops the connection. */
  async authorizePublish(client: Client, packet: PublishPacket): Promise<void> {
    const serial = serials.get(client);
    const parsed = parseTopic(packet.topic);
    const own = parsed.ok && (parsed.value.kind === 'p2pInfo' || parsed.value.kind === 'p2pIsapiReply') && parsed.value.serial === serial;
    if (!serial || !own) {
      this.count.refused({ reason: 'publish_outside_prefix' });
      throw new Error(`not allowed to publish on ${packet.topic}`);
    }
    // Kept in the database (info) or handed to whoever asked (answers), not in the broker.
    packet.retain = false;
    const decoded = decodeMessage(packet.topic, packet.payload as Uint8Array);
    if (!decoded.ok) {
      this.count.refused({ reason: 'malformed' });
      this.log.warn({ clientId: client.id, topic: packet.topic, error: decoded.error }, 'malformed P2P device message dropped');
      return;
    }
    if (decoded.value.topic.kind === 'p2pIsapiReply') {
      const { requestId } = decoded.value.topic;
      // Only the device a request went to can answer it, and only once.
      if (!this.requests.answered(serial, requestId, decoded.value.envelope.data as P2pIsapiReplyData)) {
        this.count.refused({ reason: 'unknown_request' });
        this.log.warn({ clientId: client.id, requestId }, 'P2P device answer to no request of its own dropped');
      }
      return;
    }
    const info = decoded.value.envelope.data as P2pInfoData;
    await this.queue.run(serial, async () => {
      await this.db.update(p2pDevices).set({ info }).where(eq(p2pDevices.shortSerial, serial));
      await this.db
        .update(devices)
        .set({ firmware: info.firmware, model: info.model, updatedAt: new Date() })
        .where(and(eq(devices.shortSerial, serial), isNull(devices.edgeSerial), eq(devices.accessMode, DeviceAccessMode.p2p)));
    });
  }

  clientReady(client: Client): void {
    const serial = serials.get(client);
    if (!serial) return;
    this.clients.set(serial, client);
    const at = new Date();
    void this.queue.run(serial, async () => {
      await this.db.update(p2pDevices).set({ connected: true, connectedAt: at }).where(eq(p2pDevices.shortSerial, serial));
      await this.reportBound(serial, true, at);
    }).catch((err: unknown) => this.log.warn({ err, serial }, 'P2P device connection not recorded'));
  }

  clientGone(client: Client): void {
    const serial = serials.get(client);
    // A takeover by a newer connection of the same device is not a disconnection.
    if (!serial || this.clients.get(serial) !== client) return;
    this.clients.delete(serial);
    this.requests.abandon(serial, () => new AppError(409, ErrorCode.deviceNotConnected, `The device ${serial} disconnected from the platform before it answered.`));
    const at = new Date();
    void this.queue.run(serial, async () => {
      await this.db.update(p2pDevices).set({ connected: false, disconnectedAt: at }).where(eq(p2pDevices.shortSerial, serial));
      await this.reportBound(serial, false, at);
    }).catch((err: unknown) => this.log.warn({ err, serial }, 'P2P device disconnection not recorded'));
  }

  subscribed(client: Client, subs: Subscription[]): void {
    const serial = serials.get(client);
    if (serial && subs.some((s) => s.topic === topics.p2pIsapi(serial))) this.listening.add(client);
  }

  // ---------------------------------------------------------------------------------------------------

  private async boundDevice(serial: string) {
    const [d] = await this.db
      .select({ id: devices.id })
      .from(devices)
      .where(and(eq(devices.shortSerial, serial), isNull(devices.edgeSerial), eq(devices.accessMode, DeviceAccessMode.p2p)));
    return d ?? null;
  }

  /** A device on a site that connects by itself is online while connected. */
  private async reportBound(serial: string, online: boolean, at: Date): Promise<void> {
    const bound = await this.boundDevice(serial);
    if (bound) await this.presence.directReport(bound.id, online, at, online ? 'connected to the platform' : 'disconnected from the platform');
  }
}

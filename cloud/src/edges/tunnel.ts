import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import {
  decodeMessage,
  encodeEnvelope,
  envelope,
  InitProgressSchema,
  isUnderEdge,
  ONSITE_PROGRESS_EVENT,
  parseMqttIdentity,
  parseTopic,
  RpcErrorCode,
  RpcSchemas,
  topics,
  decoder,
  type DecodedMessage,
  type DeviceReport,
  type EventData,
  type InitProgress,
  type LanSnapshot,
  type MqttIdentity,
  type RpcMethod,
  type RpcParams,
  type RpcResult,
} from '@vigil/protocol';
import { ErrorCode } from '@vigil/protocol/api';
import { KeyedQueue } from '../keyed-queue.js';
import type { AuthResult, Broker, BrokerPolicy, Client, PublishPacket, Subscription } from '../broker/broker.js';
import type { Db } from '../db/client.js';
import { deviceEvents, edgeAnnouncements, edges, receivedMessages } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { LiveHub } from '../live/hub.js';
import type { Metrics } from '../metrics.js';
import { hashSecret, randomToken, sha256, tokenMatches, verifySecret } from '../security/secrets.js';
import { applyProgress } from '../onsite/jobs.js';
import { applyLanSnapshot } from '../onsite/store.js';
import type { Presence } from './presence.js';

/** How many different verification codes an unclaimed serial may present before older ones are forgotten. */
const MAX_ANNOUNCEMENTS = 5;
const HEARTBEAT_FLUSH_MS = 2000;

type ClientIdentity = MqttIdentity;
const identities = new WeakMap<Client, ClientIdentity>();

interface PendingCall {
  serial: string;
  method: RpcMethod;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

class Refused extends Error {}

/** An edge's event as stored in `device_events`. */
export interface StoredEdgeEvent {
  serial: string;
  companyId: string;
  siteId: string;
  kind: string;
  at: Date;
  details: unknown;
}

/** Told when an edge's connection has been recorded, and once per event stored. */
export interface TunnelListener {
  edgeConnected?(serial: string): void;
  eventStored?(event: StoredEdgeEvent): void;
}

/**
 * The cloud end of the tunnel: who may connect and touch which topic, the claim of a new box, what the
 * edges report (stored before the broker acknowledges it), and RPC to the edges.
 */
export class Tunnel implements BrokerPolicy {
  private broker: Broker | null = null;
  /** The live connection of each claimed edge; a takeover replaces the entry before the old one closes. */
  private readonly edgeClients = new Map<string, Client>();
  /** Unclaimed boxes waiting for credentials: serial → nonce → client. */
  private readonly claimClients = new Map<string, Map<string, Client>>();
  private readonly pending = new Map<string, PendingCall>();
  /** Messages of one edge are handled in arrival order. */
  private readonly queue = new KeyedQueue();
  private readonly heartbeats = new Map<string, Date>();
  private readonly listeners: TunnelListener[] = [];
  private readonly flushTimer: NodeJS.Timeout;
  private readonly count: {
    messages: (l: Record<string, string>) => void;
    refused: (l: Record<string, string>) => void;
    logins: (l: Record<string, string>) => void;
  };

  constructor(
    private readonly db: Db,
    private readonly presence: Presence,
    private readonly hub: LiveHub,
    private readonly metrics: Metrics,
    private readonly log: { warn(o: object, m: string): void; info(o: object, m: string): void },
  ) {
    this.count = {
      messages: metrics.counter('vigil_mqtt_messages_total', 'MQTT messages from edges by topic kind and result'),
      refused: metrics.counter('vigil_mqtt_refused_total', 'MQTT publishes and subscriptions refused, by reason'),
      logins: metrics.counter('vigil_mqtt_logins_total', 'MQTT logins by role and result'),
    };
    metrics.gauge('vigil_edges_connected', 'Edges holding a tunnel connection', () => this.edgeClients.size);
    this.flushTimer = setInterval(() => void this.flushHeartbeats(), HEARTBEAT_FLUSH_MS);
    this.flushTimer.unref();
  }

  attach(broker: Broker): void {
    this.broker = broker;
  }

  get connectedCount(): number {
    return this.edgeClients.size;
  }

  isConnected(serial: string): boolean {
    return this.edgeClients.has(serial);
  }

  listen(listener: TunnelListener): void {
    this.listeners.push(listener);
  }

  // ---- broker policy ------------------------------------------------------------------------------

  async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    const id = parseMqttIdentity(username, client.id);
    const secret = password?.toString('utf8') ?? '';
    if (!id || id.role === 'device' || !secret) return this.login('unknown', { ok: false, returnCode: 4 });
    const [edge] = await this.db.select().from(edges).where(eq(edges.serial, id.serial));
    if (id.role === 'edge') {
      if (!edge?.secretHash || !tokenMatches(secret, edge.secretHash)) return this.login('edge', { ok: false, returnCode: 4 });
      identities.set(client, id);
      return this.login('edge', { ok: true });
    }
    // A claim login: an unclaimed box presenting its verification code.
    if (edge?.provisionedAt) return this.login('claim', { ok: false, returnCode: 5 });
    if (edge) {
      // Claimed but the credentials never reached the box: it may fetch them on a new connection.
      if (!edge.claimCodeHash || !(await verifySecret(secret, edge.claimCodeHash))) return this.login('claim', { ok: false, returnCode: 4 });
      await this.db.update(edges).set({ claimNonce: id.nonce }).where(eq(edges.serial, id.serial));
    } else {
      if (!/^[A-Za-z0-9]{6,32}$/.test(secret)) return this.login('claim', { ok: false, returnCode: 4 });
      await this.announce(id.serial, id.nonce, secret);
    }
    identities.set(client, id);
    return this.login('claim', { ok: true });
  }

  private login(role: string, r: AuthResult): AuthResult {
    this.count.logins({ role, result: r.ok ? 'accepted' : `refused_${r.returnCode}` });
    return r;
  }

  private async announce(serial: string, nonce: string, code: string): Promise<void> {
    const existing = await this.db.select().from(edgeAnnouncements).where(eq(edgeAnnouncements.serial, serial));
    for (const a of existing) {
      if (await verifySecret(code, a.codeHash)) {
        await this.db
          .update(edgeAnnouncements)
          .set({ nonce, lastSeenAt: new Date() })
          .where(and(eq(edgeAnnouncements.serial, serial), eq(edgeAnnouncements.nonce, a.nonce)));
        return;
      }
    }
    await this.db.insert(edgeAnnouncements).values({ serial, nonce, codeHash: await hashSecret(code) });
    // Keep the newest few: whoever floods a serial with guesses cannot grow the table.
    await this.db.execute(sql`
      DELETE FROM ${edgeAnnouncements} WHERE serial = ${serial} AND nonce NOT IN (
        SELECT nonce FROM ${edgeAnnouncements} WHERE serial = ${serial} ORDER BY last_seen_at DESC LIMIT ${MAX_ANNOUNCEMENTS})`);
  }

  authorizeSubscribe(client: Client, sub: Subscription): Subscription | null {
    const id = identities.get(client);
    const allowed =
      id?.role === 'edge'
        ? sub.topic === topics.filters.commandsOf(id.serial)
        : id?.role === 'claim' && sub.topic === topics.claimCredentials(id.serial, id.nonce);
    if (!allowed) {
      this.count.refused({ reason: 'subscribe_outside_prefix' });
      this.log.warn({ clientId: client.id, topic: sub.topic }, 'subscription refused');
      return null;
    }
    return { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 };
  }

  async authorizePublish(client: Client, packet: PublishPacket): Promise<void> {
    const id = identities.get(client);
    const parsed = parseTopic(packet.topic);
    const kind = parsed.ok ? parsed.value.kind : null;
    if (id?.role !== 'edge' || !isUnderEdge(packet.topic, id.serial) || kind === 'command' || kind === 'claimCredentials') {
      this.count.refused({ reason: 'publish_outside_prefix' });
      this.log.warn({ clientId: client.id, topic: packet.topic }, 'publish refused; disconnecting');
      throw new Refused(`not allowed to publish on ${packet.topic}`);
    }
    const decoded = decodeMessage(packet.topic, packet.payload as Uint8Array);
    const problem = decoded.ok ? detailsProblem(decoded.value) : decoded.error;
    if (!decoded.ok || problem) {
      // Dropped and counted; the edge stays connected (it may be a newer agent speaking a field we lack).
      this.count.messages({ kind: kind ?? 'unknown', result: 'malformed' });
      this.log.warn({ clientId: client.id, topic: packet.topic, error: problem }, 'malformed message dropped');
      packet.retain = false;
      return;
    }
    await this.queue.run(id.serial, () => this.ingest(id.serial, decoded.value));
    this.count.messages({ kind: decoded.value.topic.kind, result: 'accepted' });
  }

  clientReady(client: Client): void {
    const id = identities.get(client);
    if (id?.role === 'edge') {
      this.edgeClients.set(id.serial, client);
      void this.queue.run(id.serial, async () => {
        await this.presence.edgeConnected(id.serial);
        for (const l of this.listeners) l.edgeConnected?.(id.serial);
      });
    } else if (id?.role === 'claim') {
      let byNonce = this.claimClients.get(id.serial);
      if (!byNonce) this.claimClients.set(id.serial, (byNonce = new Map()));
      byNonce.set(id.nonce, client);
    }
  }

  clientGone(client: Client): void {
    const id = identities.get(client);
    if (id?.role === 'edge') {
      // A takeover by a newer connection of the same edge is not a disconnection.
      if (this.edgeClients.get(id.serial) !== client) return;
      this.edgeClients.delete(id.serial);
      for (const [requestId, call] of this.pending) {
        if (call.serial === id.serial) this.settle(requestId, new AppError(409, ErrorCode.edgeOffline, 'The edge box disconnected before it answered.'));
      }
      void this.queue.run(id.serial, () => this.presence.edgeDisconnected(id.serial));
    } else if (id?.role === 'claim') {
      const byNonce = this.claimClients.get(id.serial);
      if (byNonce?.get(id.nonce) === client) byNonce.delete(id.nonce);
      if (byNonce?.size === 0) this.claimClients.delete(id.serial);
    }
  }

  subscribed(client: Client, subs: Subscription[]): void {
    const id = identities.get(client);
    if (id?.role !== 'claim') return;
    if (subs.some((s) => s.topic === topics.claimCredentials(id.serial, id.nonce))) {
      void this.offerCredentials(id.serial).catch((err: unknown) => this.log.warn({ err }, 'credential delivery failed'));
    }
  }

  // ---- claim --------------------------------------------------------------------------------------

  /** Sends fresh credentials to the claim connection whose code matched, if it is connected and listening. */
  async offerCredentials(serial: string): Promise<void> {
    const [edge] = await this.db.select().from(edges).where(eq(edges.serial, serial));
    if (!edge?.claimNonce || edge.provisionedAt || !edge.siteId) return;
    const client = this.claimClients.get(serial)?.get(edge.claimNonce);
    if (!client || !this.broker) return;
    const password = randomToken(32);
    await this.db.update(edges).set({ secretHash: sha256(password) }).where(eq(edges.serial, serial));
    const env = envelope('claimCredentials', { edgeId: serial, username: `edge:${serial}`, password });
    await this.broker.publish(topics.claimCredentials(serial, edge.claimNonce), encodeEnvelope(env), { qos: 1 });
    this.log.info({ serial }, 'credentials delivered to the edge box');
  }

  /** Closes whatever connection a removed box still holds; its next login is refused. */
  disconnect(serial: string): void {
    this.edgeClients.get(serial)?.close();
    for (const c of this.claimClients.get(serial)?.values() ?? []) c.close();
  }

  // ---- what the edges report ----------------------------------------------------------------------

  private async ingest(serial: string, msg: DecodedMessage): Promise<void> {
    switch (msg.topic.kind) {
      case 'heartbeat':
        this.heartbeats.set(serial, new Date());
        return;
      case 'status': {
        const data = msg.envelope.data as { state: string; agentVersion?: string };
        if (data.state === 'online' && data.agentVersion) {
          await this.db.update(edges).set({ agentVersion: data.agentVersion, lastSeenAt: new Date() }).where(eq(edges.serial, serial));
        }
        return;
      }
      case 'reply':
        return this.replied(serial, msg.topic.requestId, msg.envelope.data);
      case 'lan': {
        const site = await applyLanSnapshot(this.db, this.presence, serial, msg.envelope.data as LanSnapshot);
        if (!site) return;
        this.hub.publish(site.companyId, { type: 'lan.changed', siteId: site.siteId });
        for (const c of site.changes) {
          this.hub.publish(site.companyId, { type: 'device.status', siteId: c.siteId, deviceId: c.deviceId, status: c.online ? 'online' : 'offline', at: new Date().toISOString() });
        }
        return;
      }
      case 'inventory':
      case 'deviceState':
      case 'event':
        return this.ingestOnce(serial, msg);
      default:
        return;
    }
  }

  /** Inventory, device states and events change stored state: each envelope id takes effect once. */
  private async ingestOnce(serial: string, msg: DecodedMessage): Promise<void> {
    const result = await this.db.transaction(async (tx) => {
      const fresh = await tx
        .insert(receivedMessages)
        .values({ edgeSerial: serial, id: msg.envelope.id })
        .onConflictDoNothing()
        .returning({ id: receivedMessages.id });
      if (fresh.length === 0) return null;
      const [edge] = await tx.select({ companyId: edges.companyId, siteId: edges.siteId }).from(edges).where(eq(edges.serial, serial));
      if (!edge?.companyId || !edge.siteId) return null;
      const owner = { serial, companyId: edge.companyId, siteId: edge.siteId };
      const at = new Date(msg.envelope.ts);
      const changes: { deviceId: string; changed: boolean; online: boolean }[] = [];
      let job: { companyId: string; siteId: string; jobId: string } | null = null;
      let event: StoredEdgeEvent | null = null;
      if (msg.topic.kind === 'inventory') {
        const inv = msg.envelope.data as { devices: DeviceReport[] };
        for (const d of inv.devices) {
          const r = await this.presence.deviceReported(tx, owner, d, at);
          if (r) changes.push({ ...r, online: d.online });
        }
      } else if (msg.topic.kind === 'deviceState') {
        const s = msg.envelope.data as { deviceId: string; online: boolean; at: number };
        const r = await this.presence.deviceReported(tx, owner, { deviceId: s.deviceId, online: s.online }, new Date(s.at));
        if (r) changes.push({ ...r, online: s.online });
      } else if (msg.topic.kind === 'event') {
        const e = msg.envelope.data as EventData;
        event = { ...owner, kind: msg.topic.eventKind, at: new Date(e.at), details: e.details };
        await tx.insert(deviceEvents).values({
          messageId: msg.envelope.id,
          companyId: owner.companyId,
          siteId: owner.siteId,
          edgeSerial: serial,
          kind: msg.topic.eventKind,
          at: new Date(e.at),
          details: e.details,
        });
        if (msg.topic.eventKind === ONSITE_PROGRESS_EVENT) {
          // Checked in authorizePublish; only this edge's own jobs in its company can change.
          job = await applyProgress(tx, owner, e.details as InitProgress, new Date(e.at));
        }
      }
      return { owner, changes, kind: msg.topic.kind, job, event };
    });
    if (!result) return;
    const { owner, changes, kind, job, event } = result;
    if (event) for (const l of this.listeners) l.eventStored?.(event);
    if (job) this.hub.publish(job.companyId, { type: 'onsite.job', siteId: job.siteId, jobId: job.jobId });
    if (kind === 'inventory') this.hub.publish(owner.companyId, { type: 'devices.changed', siteId: owner.siteId });
    for (const c of changes) {
      if (c.changed) {
        this.hub.publish(owner.companyId, { type: 'device.status', siteId: owner.siteId, deviceId: c.deviceId, status: c.online ? 'online' : 'offline', at: new Date().toISOString() });
      }
    }
  }

  private async flushHeartbeats(): Promise<void> {
    if (this.heartbeats.size === 0) return;
    const batch = [...this.heartbeats];
    this.heartbeats.clear();
    const values = sql.join(batch.map(([s, at]) => sql`(${s}, ${at.toISOString()}::timestamptz)`), sql`, `);
    try {
      await this.db.execute(sql`UPDATE ${edges} SET last_seen_at = v.at FROM (VALUES ${values}) AS v(serial, at) WHERE ${edges.serial} = v.serial`);
    } catch (err) {
      this.log.warn({ err }, 'heartbeat flush failed');
    }
  }

  // ---- RPC ----------------------------------------------------------------------------------------

  /** Calls a method on an edge and waits for its reply, at most `timeoutMs`. */
  async call<M extends RpcMethod>(serial: string, method: M, params: RpcParams<M>, timeoutMs: number): Promise<RpcResult<M>> {
    if (!this.broker || !this.edgeClients.has(serial)) {
      throw new AppError(409, ErrorCode.edgeOffline, 'The edge box is not connected right now.');
    }
    const requestId = randomUUID();
    const deadline = Date.now() + timeoutMs;
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(requestId, new AppError(504, ErrorCode.rpcTimeout, `The edge box did not answer ${method} within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.pending.set(requestId, { serial, method, resolve, reject, timer });
    });
    const env = envelope('command', { deadline, params: params as Record<string, unknown> }, { id: requestId });
    try {
      await this.broker.publish(topics.command(serial, method), encodeEnvelope(env), { qos: 1 });
    } catch (err) {
      this.settle(requestId, err instanceof Error ? err : new Error(String(err)));
    }
    return result as Promise<RpcResult<M>>;
  }

  private replied(serial: string, requestId: string, data: unknown): Promise<void> {
    const call = this.pending.get(requestId);
    // A late or foreign reply is ignored: only the edge that was asked can answer.
    if (!call || call.serial !== serial) return Promise.resolve();
    const reply = data as { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };
    if (!reply.ok) {
      const status = reply.error.code === RpcErrorCode.timeout ? 504 : 502;
      this.settle(requestId, new AppError(status, ErrorCode.rpcFailed, `The edge box could not do ${call.method}: ${reply.error.message} (${reply.error.code})`));
      return Promise.resolve();
    }
    const checked = resultDecoders[call.method].decode(reply.result);
    this.settle(requestId, checked.ok ? { value: checked.value } : new AppError(502, ErrorCode.rpcFailed, `The edge box answered ${call.method} with an invalid result: ${checked.error}`));
    return Promise.resolve();
  }

  private settle(requestId: string, outcome: Error | { value: unknown }): void {
    const call = this.pending.get(requestId);
    if (!call) return;
    this.pending.delete(requestId);
    clearTimeout(call.timer);
    if (outcome instanceof Error) call.reject(outcome);
    else call.resolve(outcome.value);
  }

  close(): void {
    clearInterval(this.flushTimer);
    for (const id of [...this.pending.keys()]) this.settle(id, new AppError(503, ErrorCode.edgeOffline, 'The cloud is shutting down.'));
  }
}

const progressDecoder = decoder(InitProgressSchema);

/** Events whose details follow a schema of their own (activation progress) are checked like the envelope. */
function detailsProblem(msg: DecodedMessage): string | null {
  if (msg.topic.kind !== 'event' || msg.topic.eventKind !== ONSITE_PROGRESS_EVENT) return null;
  const checked = progressDecoder.decode((msg.envelope.data as EventData).details);
  return checked.ok ? null : `details${checked.error.replace(/^value/, '')}`;
}

const resultDecoders = Object.fromEntries(
  Object.entries(RpcSchemas).map(([m, s]) => [m, decoder(s.result)]),
) as unknown as Record<RpcMethod, { decode(v: unknown): { ok: true; value: unknown } | { ok: false; error: string } }>;

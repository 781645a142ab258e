import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  decodeMessage,
  encodeEnvelope,
  envelope,
  isP2pSerial,
  MAX_MESSAGE_BYTES,
  mqttIdentity,
  P2P_ISAPI_MAX_BODY,
  topics,
  type P2pInfoData,
  type P2pIsapiReplyData,
  type P2pIsapiRequestData,
} from '@vigil/protocol';

/** Path of MQTT over WebSocket on the platform's HTTP port. */
export const PLATFORM_MQTT_PATH = '/mqtt';
/** How long a stop waits for the broker to see the DISCONNECT before dropping the socket. */
const CLOSE_GRACE_MS = 1000;

/** The broker address behind a platform base URL (http→ws, https→wss); null when it is not an http(s) URL. */
export function platformMqttUrl(platformUrl: string): string | null {
  let u: URL;
  try {
    u = new URL(platformUrl);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${PLATFORM_MQTT_PATH}`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

/** The device's answer to an ISAPI request from the platform; `after` runs once it is sent (a reboot, a move). */
export interface PlatformIsapiAnswer extends P2pIsapiReplyData {
  after?: () => void | Promise<void>;
}

/** Answers the platform's ISAPI requests as the device's own HTTP server does. */
export type PlatformIsapiHandler = (request: P2pIsapiRequestData) => Promise<PlatformIsapiAnswer>;

export interface PlatformClientOptions {
  /** The platform's base URL, http(s)://host:port. */
  platformUrl: string;
  /** The 9-character serial the device is known by on the platform. */
  shortSerial: string;
  /** Pause between connection attempts (default 1000). */
  reconnectMs?: number;
  keepaliveSec?: number;
  /** Given: the device takes ISAPI requests from the platform over this connection. */
  isapi?: PlatformIsapiHandler;
}

/** What the device logs in with and says about itself. */
export interface PlatformSession {
  /** The verification code; absent for a device that has none. */
  password?: string;
  info: P2pInfoData;
}

export interface PlatformClientEvents {
  connected: [];
  disconnected: [];
  /** The broker acknowledged the info. */
  published: [];
  /** A failed attempt or publish; the client keeps trying on its own. */
  problem: [err: Error];
}

const sameInfo = (a: P2pInfoData, b: P2pInfoData): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * A device's own connection to the platform (the Hik-Connect service): MQTT over WebSocket as
 * `device:{shortSerial}`, reconnecting by itself and publishing its retained info after every connect. With an
 * ISAPI handler it also listens for the platform's ISAPI requests and publishes the handler's answers.
 */
export class PlatformClient extends EventEmitter<PlatformClientEvents> {
  readonly platformUrl: string;
  readonly shortSerial: string;
  private readonly mqttUrl: string;
  private readonly reconnectMs: number;
  private readonly keepaliveSec: number;
  private readonly isapi: PlatformIsapiHandler | undefined;
  private client: MqttClient | null = null;
  private session: PlatformSession | null = null;

  constructor(opts: PlatformClientOptions) {
    super();
    const url = platformMqttUrl(opts.platformUrl);
    if (url === null) throw new TypeError(`not an http(s) URL: ${JSON.stringify(opts.platformUrl)}`);
    if (!isP2pSerial(opts.shortSerial)) throw new TypeError(`not a short serial: ${JSON.stringify(opts.shortSerial)}`);
    this.platformUrl = opts.platformUrl;
    this.shortSerial = opts.shortSerial;
    this.mqttUrl = url;
    this.reconnectMs = opts.reconnectMs ?? 1000;
    this.keepaliveSec = opts.keepaliveSec ?? 30;
    this.isapi = opts.isapi;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  get running(): boolean {
    return this.client !== null;
  }

  /**
   * Connects with this session, or keeps the current connection when the password is unchanged (a new
   * info is then published right away).
   */
  start(session: PlatformSession): void {
    const prev = this.session;
    this.session = { ...session, info: { ...session.info } };
    const client = this.client;
    if (client && prev && prev.password === session.password) {
      if (client.connected && !sameInfo(prev.info, session.info)) this.publishInfo(client);
      return;
    }
    if (client) void this.close(client);
    this.client = this.connect(session.password);
  }

  /** Leaves: sends DISCONNECT when connected and resolves once the socket is closed. Never rejects. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.session = null;
    if (client) await this.close(client);
  }

  private connect(password: string | undefined): MqttClient {
    const options: IClientOptions = {
      protocolVersion: 4,
      clientId: mqttIdentity.deviceClientId(this.shortSerial),
      username: mqttIdentity.deviceUsername(this.shortSerial),
      ...(password === undefined ? {} : { password }),
      clean: true,
      keepalive: this.keepaliveSec,
      reconnectPeriod: this.reconnectMs,
      // A device that is refused keeps trying, as the real service does.
      reconnectOnConnackError: true,
      connectTimeout: 10_000,
      resubscribe: false,
    };
    const client = mqtt.connect(this.mqttUrl, options);
    let up = false;
    client.on('connect', () => {
      if (client !== this.client) return;
      up = true;
      this.emit('connected');
      if (this.isapi) this.listen(client);
      else this.publishInfo(client);
    });
    client.on('message', (topic, payload) => {
      if (client !== this.client) return;
      const m = decodeMessage(topic, payload);
      if (!m.ok) return this.report(new Error(`request dropped: ${m.error}`));
      if (m.value.topic.kind === 'p2pIsapi' && this.isapi) void this.answer(client, this.isapi, m.value.envelope.id, m.value.envelope.data as P2pIsapiRequestData);
    });
    client.on('close', () => {
      if (!up) return;
      up = false;
      // A replacement may already be connected; only a real loss of the platform counts.
      if (!this.connected) this.emit('disconnected');
    });
    client.on('error', (err) => this.report(err));
    return client;
  }

  private publishInfo(client: MqttClient): void {
    const info = this.session?.info;
    if (!info) return;
    const payload = Buffer.from(encodeEnvelope(envelope('p2pInfo', info)));
    client.publish(topics.p2pInfo(this.shortSerial), payload, { qos: 1, retain: true }, (err) => {
      if (client !== this.client) return;
      if (err) this.report(err);
      else this.emit('published');
    });
  }

  /** Subscribes to the platform's requests, then says what the device is: once the platform knows it, it is listening. */
  private listen(client: MqttClient): void {
    client.subscribe(topics.p2pIsapi(this.shortSerial), { qos: 1 }, (err) => {
      if (client !== this.client) return;
      if (err) this.report(err);
      this.publishInfo(client);
    });
  }

  private async answer(client: MqttClient, handler: PlatformIsapiHandler, requestId: string, request: P2pIsapiRequestData): Promise<void> {
    // The platform has given up on it: a late request is not run.
    if (Date.now() > request.deadline) return;
    let answer: PlatformIsapiAnswer;
    try {
      answer = await handler(request);
    } catch (err) {
      this.report(err);
      answer = { status: 500, contentType: 'text/plain', body: 'the device failed to answer' };
    }
    const { after, ...reply } = answer;
    let payload = encodeEnvelope(envelope('p2pIsapiReply', reply, { id: requestId }));
    if (reply.body.length > P2P_ISAPI_MAX_BODY || payload.byteLength > MAX_MESSAGE_BYTES) {
      payload = encodeEnvelope(envelope('p2pIsapiReply', { status: 500, contentType: 'text/plain', body: 'the answer is too large for the platform connection' }, { id: requestId }));
    }
    client.publish(topics.p2pIsapiReply(this.shortSerial, requestId), Buffer.from(payload), { qos: 1 }, (err) => {
      if (err) return this.report(err);
      if (after) void Promise.resolve(after()).catch((e: unknown) => this.report(e));
    });
  }

  private async close(client: MqttClient): Promise<void> {
    // The info is retained once acknowledged and sent again on the next connect: no need to wait for it.
    for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
    const grace = setTimeout(() => client.stream.destroy(), CLOSE_GRACE_MS);
    try {
      await client.endAsync(!client.connected);
    } catch (err) {
      this.report(err);
    } finally {
      clearTimeout(grace);
    }
  }

  private report(err: unknown): void {
    this.emit('problem', err instanceof Error ? err : new Error(String(err)));
  }
}

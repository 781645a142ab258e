import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  decodeMessage,
  encodeEnvelope,
  envelope,
  mqttIdentity,
  topics,
  type P2pInfoData,
  type P2pIsapiReplyData,
  type P2pIsapiRequestData,
  type RpcReplyData,
} from '@vigil/protocol';
import type { ApiClient } from './cloud.js';

export const newSerial = (): string => `VGE${randomBytes(5).toString('hex').toUpperCase()}`;
export const nonce = (): string => randomBytes(8).toString('hex');

export const publish = (c: MqttClient, topic: string, payload: Uint8Array | string) => c.publishAsync(topic, Buffer.from(payload), { qos: 1 });

/** Polls an observable condition (an API answer) until it holds. */
export async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until `check` returns something other than undefined, and returns it. */
export const untilDefined = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> =>
  until(check, (v) => v !== undefined, what, timeoutMs) as Promise<T>;

/** Edge boxes played over MQTT against a test cloud, through the public claim flow; all closed by `closeAll`. */
export class EdgePlayers {
  private readonly clients: MqttClient[] = [];
  constructor(private readonly wsUrl: string) {}

  connect(opts: mqtt.IClientOptions): MqttClient {
    const c = mqtt.connect(this.wsUrl, { protocolVersion: 4, reconnectPeriod: 0, ...opts });
    this.clients.push(c);
    return c;
  }

  /** A box announcing itself with its code; resolves `credentials` once an installer adds it to a site. */
  async unclaimed(serial: string, code: string) {
    const n = nonce();
    const client = this.connect({ username: mqttIdentity.claimUsername(serial), password: code, clientId: mqttIdentity.claimClientId(serial, n) });
    await new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    const credentials = new Promise<{ username: string; password: string }>((resolve) => {
      client.on('message', (t, payload) => {
        const m = decodeMessage(t, payload);
        if (m.ok && m.value.topic.kind === 'claimCredentials') resolve(m.value.envelope.data as { username: string; password: string });
      });
    });
    await client.subscribeAsync(topics.claimCredentials(serial, n), { qos: 1 });
    return { client, credentials };
  }

  /** A box added to `siteId` by `installer`, connected with its own credentials (and the usual last will). */
  async claimed(installer: ApiClient, siteId: string, serial = newSerial()) {
    const box = await this.unclaimed(serial, 'ABC123');
    const added = await installer.post(`/sites/${siteId}/edges`, { serial, verificationCode: 'ABC123' });
    if (added.status !== 201) throw new Error(`adding the edge failed: ${added.status} ${JSON.stringify(added.body)}`);
    const creds = await box.credentials;
    await box.client.endAsync();
    const will = { topic: topics.status(serial), payload: Buffer.from(encodeEnvelope(envelope('status', { state: 'offline', reason: 'will' }))), qos: 1 as const, retain: true };
    const edge = this.connect({ username: creds.username, password: creds.password, clientId: mqttIdentity.edgeClientId(serial), will });
    await new Promise((resolve) => edge.once('connect', resolve));
    return { serial, edge, password: creds.password };
  }

  /**
   * A device with the Hik-Connect service on, connected by itself under its short serial with its verification
   * code (none: null) and having published what it is. Rejects when the cloud refuses the login.
   */
  async p2pDevice(shortSerial: string, code: string | null, info: P2pInfoData): Promise<MqttClient> {
    const client = this.connect({
      username: mqttIdentity.deviceUsername(shortSerial),
      clientId: mqttIdentity.deviceClientId(shortSerial),
      ...(code === null ? {} : { password: code }),
    });
    await new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    await publish(client, topics.p2pInfo(shortSerial), encodeEnvelope(envelope('p2pInfo', info)));
    return client;
  }

  closeAll(): Promise<unknown> {
    return Promise.all(this.clients.map((c) => c.endAsync(true)));
  }
}

/** Answers one RPC method on a played edge: `respond` returns the reply, or null to stay silent. */
export async function answerCommands<P>(edge: MqttClient, serial: string, method: string, respond: (params: P) => RpcReplyData | null): Promise<void> {
  await edge.subscribeAsync(topics.filters.commandsOf(serial), { qos: 1 });
  edge.on('message', (topic, payload) => {
    const m = decodeMessage(topic, payload);
    if (!m.ok || m.value.topic.kind !== 'command' || m.value.topic.method !== method) return;
    const id = m.value.envelope.id;
    const reply = respond((m.value.envelope.data as unknown as { params: P }).params);
    // A reply still on its way when the test closes the client is dropped with it.
    if (reply) publish(edge, topics.reply(serial, id), encodeEnvelope(envelope('reply', reply, { id }))).catch(() => undefined);
  });
}

/** Answers ISAPI requests on a played P2P device: `respond` returns the answer, or null to stay silent. */
export async function answerIsapi(device: MqttClient, shortSerial: string, respond: (request: P2pIsapiRequestData) => P2pIsapiReplyData | null): Promise<void> {
  await device.subscribeAsync(topics.p2pIsapi(shortSerial), { qos: 1 });
  device.on('message', (topic, payload) => {
    const m = decodeMessage(topic, payload);
    if (!m.ok || m.value.topic.kind !== 'p2pIsapi') return;
    const id = m.value.envelope.id;
    const reply = respond(m.value.envelope.data as P2pIsapiRequestData);
    // A reply still on its way when the test closes the client is dropped with it.
    if (reply) publish(device, topics.p2pIsapiReply(shortSerial, id), encodeEnvelope(envelope('p2pIsapiReply', reply, { id }))).catch(() => undefined);
  });
}

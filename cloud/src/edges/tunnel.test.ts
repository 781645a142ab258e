import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeEnvelope, envelope, mqttIdentity, topics, type DeviceReport, type DiscoveredDevice } from '@vigil/protocol';
import { FIXTURE_EDGE_ID, wireFixtures } from '@vigil/protocol/fixtures';
import { newSite, registerCompany, startTestCloud, type ApiClient, type TestCloud } from '../testing/cloud.js';
import { EdgePlayers, newSerial, nonce, publish, until } from '../testing/edge.js';

let cloud: TestCloud;
let players: EdgePlayers;
beforeAll(async () => {
  cloud = await startTestCloud({ VIGIL_CLAIM_MAX_FAILURES: '3' });
  players = new EdgePlayers(cloud.mqttUrl);
});
afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

/** Connects with any identity; a refused CONNACK is returned, not thrown, so tests can check its code. */
function connect(username: string, password: string, clientId: string): Promise<{ client: MqttClient; error?: { code?: number } }> {
  const client = players.connect({ username, password, clientId, connectTimeout: 5000 });
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ client }));
    client.once('error', (error) => resolve({ client, error: error as { code?: number } }));
  });
}

const unclaimedBox = (serial: string, code: string) => players.unclaimed(serial, code);
const claimedEdge = (client: ApiClient, siteId: string, serial = newSerial()) => players.claimed(client, siteId, serial);

const camera = (id: string, online = true): DeviceReport => ({
  deviceId: id, kind: 'camera', protocol: 'onvif', manufacturer: 'Sim', model: 'DS-2CD2143G2-I', serial: id, firmware: 'V5.7.3',
  name: `Camera ${id}`, host: '127.0.0.1', port: 8000, online, lastSeenAt: Date.now(),
});

describe('claiming an edge box', () => {
  it('refuses a box that never connected, a wrong code, and locks the serial after repeated wrong codes', async () => {
    const { client } = await registerCompany(cloud.api);
    const siteId = await newSite(client);
    const never = await client.post<{ code: string }>(`/sites/${siteId}/edges`, { serial: newSerial(), verificationCode: 'ABC123' });
    expect(never.status).toBe(404);
    expect(never.body.code).toBe('EDGE_NEVER_CONNECTED');

    const serial = newSerial();
    const box = await unclaimedBox(serial, 'RIGHT1');
    const wrong = await client.post<{ code: string }>(`/sites/${siteId}/edges`, { serial, verificationCode: 'WRONG1' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('VERIFICATION_CODE_INVALID');
    await client.post(`/sites/${siteId}/edges`, { serial, verificationCode: 'WRONG2' });
    const locked = await client.post<{ code: string }>(`/sites/${siteId}/edges`, { serial, verificationCode: 'WRONG3' });
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('CLAIM_LOCKED');
    const evenRight = await client.post<{ code: string }>(`/sites/${siteId}/edges`, { serial, verificationCode: 'RIGHT1' });
    expect(evenRight.body.code).toBe('CLAIM_LOCKED');
    expect((await client.get<{ items: unknown[] }>(`/sites/${siteId}/edges`)).body.items).toHaveLength(0);
    await box.client.endAsync();
  });

  it('gives the box its own credentials; a claimed box cannot be added twice; bad credentials are refused', async () => {
    const a = await registerCompany(cloud.api);
    const b = await registerCompany(cloud.api);
    const siteId = await newSite(a.client);
    const { serial, edge } = await claimedEdge(a.client, siteId);
    const listed = await until(
      () => a.client.get<{ items: { serial: string; connected: boolean; provisioned: boolean; status: string }[] }>(`/sites/${siteId}/edges`),
      (r) => r.body.items[0]?.status === 'online',
      'edge online',
    );
    expect(listed.body.items[0]).toMatchObject({ serial, connected: true, provisioned: true });

    const again = await b.client.post<{ code: string }>(`/sites/${await newSite(b.client)}/edges`, { serial, verificationCode: 'ABC123' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('EDGE_ALREADY_ADDED');
    expect((await b.client.get<{ code: string }>(`/edges/${serial}`)).body.code).toBe('EDGE_NOT_FOUND');

    const bad = await connect(mqttIdentity.edgeUsername(serial), 'not-the-secret-at-all', `${mqttIdentity.edgeClientId(serial)}`);
    expect(bad.error?.code).toBe(4);
    // Once provisioned, the box can no longer log in with its verification code.
    const claimAgain = await connect(mqttIdentity.claimUsername(serial), 'ABC123', mqttIdentity.claimClientId(serial, nonce()));
    expect(claimAgain.error?.code).toBe(5);
    expect(edge.connected).toBe(true);
  });
});

describe('an edge on the tunnel', () => {
  it('may not publish or subscribe under another edge id', async () => {
    const { client } = await registerCompany(cloud.api);
    const siteId = await newSite(client);
    const mine = await claimedEdge(client, siteId);
    const theirs = await claimedEdge(client, siteId);

    const granted = await mine.edge.subscribeAsync(topics.filters.commandsOf(mine.serial), { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    // SUBACK 0x80: refused, and the client is told so.
    await expect(mine.edge.subscribeAsync(topics.filters.commandsOf(theirs.serial), { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await expect(mine.edge.subscribeAsync('#', { qos: 1 })).rejects.toThrow(/Subscribe error/);

    const closed = new Promise<void>((resolve) => mine.edge.once('close', () => resolve()));
    mine.edge.publish(topics.inventory(theirs.serial), Buffer.from(encodeEnvelope(envelope('inventory', { devices: [camera('intruder')] }))), { qos: 1 });
    await closed;
    const devices = await client.get<{ items: unknown[] }>(`/sites/${siteId}/devices`);
    expect(devices.body.items).toHaveLength(0);
    const refused = await (await fetch(`${cloud.url}/metrics`)).text();
    expect(refused).toMatch(/vigil_mqtt_refused_total\{reason="publish_outside_prefix"\} [1-9]/);
    expect(refused).toMatch(/vigil_mqtt_refused_total\{reason="subscribe_outside_prefix"\} [1-9]/);
  });

  it('drops and counts malformed messages, stays connected, and stores valid inventory and states once', async () => {
    const { client } = await registerCompany(cloud.api);
    const siteId = await newSite(client);
    const { serial, edge } = await claimedEdge(client, siteId);
    await publish(edge, topics.inventory(serial), '{"v":1,"id":"x"');
    await publish(edge, topics.inventory(serial), encodeEnvelope(envelope('heartbeat', { uptimeSec: 1, rssBytes: 1, outboxDepth: 0, devicesOnline: 0, devicesTotal: 0 })));
    await publish(edge, topics.inventory(serial), JSON.stringify({ v: 1, id: 'abcdefgh1', ts: 1, type: 'edge.inventory', data: { devices: [{ deviceId: 'x' }] } }));
    expect(edge.connected).toBe(true);
    const metrics = await (await fetch(`${cloud.url}/metrics`)).text();
    expect(metrics).toMatch(/vigil_mqtt_messages_total\{kind="inventory",result="malformed"\} 3/);

    const inv = envelope('inventory', { devices: [camera('cam-1'), camera('cam-2', false)] });
    await publish(edge, topics.inventory(serial), encodeEnvelope(inv));
    await publish(edge, topics.inventory(serial), encodeEnvelope(inv)); // a redelivery changes nothing
    // PUBACK comes after the store: the devices are there as soon as the publish resolves.
    const list = await client.get<{ items: { name: string; status: string; model: string }[] }>(`/sites/${siteId}/devices`);
    expect(list.body.items.map((d) => [d.name, d.status])).toEqual([['Camera cam-1', 'online'], ['Camera cam-2', 'offline']]);
    const site = await client.get<{ deviceCount: number; devicesOnline: number }>(`/sites/${siteId}`);
    expect(site.body).toMatchObject({ deviceCount: 2, devicesOnline: 1 });

    // A stale state (seen before the inventory) is ignored; a fresh loss waits for the offline delay.
    await publish(edge, topics.deviceState(serial, 'cam-1'), encodeEnvelope(envelope('deviceState', { deviceId: 'cam-1', online: false, at: inv.ts - 1000 })));
    expect((await client.get<{ items: { status: string }[] }>(`/sites/${siteId}/devices`)).body.items[0]?.status).toBe('online');
    const lostAt = Date.now();
    await publish(edge, topics.deviceState(serial, 'cam-1'), encodeEnvelope(envelope('deviceState', { deviceId: 'cam-1', online: false, at: lostAt })));
    expect((await client.get<{ items: { status: string }[] }>(`/sites/${siteId}/devices`)).body.items[0]?.status).toBe('online');
    await until(() => client.get<{ items: { status: string }[] }>(`/sites/${siteId}/devices`), (r) => r.body.items[0]?.status === 'offline', 'device offline');
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(1000);
  });

  it('declares the edge offline only after the offline delay, and online again at once', async () => {
    const { client } = await registerCompany(cloud.api);
    const siteId = await newSite(client, { offlineDelaySec: 2 });
    const first = await claimedEdge(client, siteId);
    const status = () => client.get<{ status: string; connected: boolean }>(`/edges/${first.serial}`);
    await until(status, (r) => r.body.status === 'online', 'online');
    const droppedAt = Date.now();
    first.edge.stream.destroy(); // an abrupt loss: the last will fires
    await until(status, (r) => !r.body.connected, 'disconnected');
    expect((await status()).body.status).toBe('online');
    await until(status, (r) => r.body.status === 'offline', 'offline');
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(2000);

    const back = players.connect({ username: mqttIdentity.edgeUsername(first.serial), password: first.password, clientId: mqttIdentity.edgeClientId(first.serial) });
    await new Promise((resolve) => back.once('connect', resolve));
    await until(status, (r) => r.body.status === 'online', 'online again');
    const history = await client.get<{ items: { state: string }[] }>(`/edges/${first.serial}/history`);
    expect(history.body.items.map((h) => h.state)).toEqual(['online', 'offline', 'online']);
  });

  it('answers RPC calls through the edge, times out clearly, and refuses offline edges', async () => {
    const { client } = await registerCompany(cloud.api);
    const siteId = await newSite(client);
    const { serial, edge } = await claimedEdge(client, siteId);
    await edge.subscribeAsync(topics.filters.commandsOf(serial), { qos: 1 });
    const timeout = await client.get<{ code: string }>(`/edges/${serial}/info`);
    expect(timeout.status).toBe(504);
    expect(timeout.body.code).toBe('RPC_TIMEOUT');

    edge.on('message', (topic, payload) => {
      const m = decodeMessage(topic, payload);
      if (!m.ok || m.value.topic.kind !== 'command') return;
      const result = { serial, agentVersion: 't', startedAt: 1, uptimeSec: 2, rssBytes: 3, outboxDepth: 0, devices: 0, workers: [], platform: { node: 'v20', os: 'linux', arch: 'x64' } };
      void publish(edge, topics.reply(serial, m.value.envelope.id), encodeEnvelope(envelope('reply', { ok: true, result }, { id: m.value.envelope.id })));
    });
    const info = await client.get<{ serial: string; uptimeSec: number }>(`/edges/${serial}/info`);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ serial, uptimeSec: 2 });

    await edge.endAsync();
    await until(() => client.get<{ connected: boolean }>(`/edges/${serial}`), (r) => !r.body.connected, 'disconnected');
    const offline = await client.post<{ code: string }>(`/edges/${serial}/reboot`);
    expect(offline.status).toBe(409);
    expect(offline.body.code).toBe('EDGE_OFFLINE');
  });

  it('removing a box revokes its credentials and disconnects it', async () => {
    const { client } = await registerCompany(cloud.api);
    const siteId = await newSite(client);
    const { serial, edge, password } = await claimedEdge(client, siteId);
    const closed = new Promise<void>((resolve) => edge.once('close', () => resolve()));
    expect((await client.delete(`/edges/${serial}`)).status).toBe(204);
    await closed;
    const retry = await connect(mqttIdentity.edgeUsername(serial), password, mqttIdentity.edgeClientId(serial));
    expect(retry.error?.code).toBe(4);
  });
});

describe('the shared wire fixtures', () => {
  it('accepts the valid ones and drops the invalid ones byte for byte, keeping the edge connected', async () => {
    const { client } = await registerCompany(cloud.api);
    const siteId = await newSite(client);
    const { edge } = await claimedEdge(client, siteId, FIXTURE_EDGE_ID);
    const malformedCount = async () => {
      const text = await (await fetch(`${cloud.url}/metrics`)).text();
      return [...text.matchAll(/vigil_mqtt_messages_total\{kind="[a-zA-Z]+",result="malformed"\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const malformedBefore = await malformedCount();
    const fromEdge = wireFixtures.filter((f) => f.from === 'edge');
    for (const f of fromEdge) await publish(edge, f.topic, f.payload);
    expect(edge.connected).toBe(true);
    expect((await malformedCount()) - malformedBefore).toBe(fromEdge.filter((f) => !f.valid).length);
    const devices = await client.get<{ items: { model: string; serial: string; firmware: string; status: string }[] }>(`/sites/${siteId}/devices`);
    expect(devices.body.items).toEqual([expect.objectContaining({ model: 'DS-2CD2143G2-I', firmware: 'V5.7.3 build 220112', serial: 'DS-2CD2143G2-I20240101AACHE12345678' })]);
  });
});

describe('what the edge sees on the LAN', () => {
  const found = (serial: string, over: Partial<DiscoveredDevice> = {}): DiscoveredDevice => ({
    serial, deviceClass: 'nvr', model: 'DS-7608NI-K2/8P', firmware: 'V4.30.005', mac: '44:19:b6:00:00:01',
    network: { dhcp: true, ipv4: '10.0.0.20', mask: '255.255.255.0', gateway: '10.0.0.1', dns: '10.0.0.1' },
    httpPort: 80, activated: false, channels: 8, pingMs: 120, via: 'sadp', lastSeenAt: Date.now(), ...over,
  });

  it('keeps the newest snapshot per edge and lists it for the site with short serials and ping levels', async () => {
    const owner = await registerCompany(cloud.api);
    const other = await registerCompany(cloud.api);
    const siteId = await newSite(owner.client);
    const { serial, edge } = await claimedEdge(owner.client, siteId);
    const now = Date.now();
    const first = envelope('lan', { at: now, devices: [found('DS-7608NI-K20820201111CCRRF12345678WCVU'), found('CAM0000001', { deviceClass: 'camera', pingMs: 12, activated: true })] });
    await publish(edge, topics.lan(serial), encodeEnvelope(first));
    type Lan = { items: { serial: string; shortSerial: string | null; pingLevel: string | null; activated: boolean }[] };
    const listed = await owner.client.get<Lan>(`/sites/${siteId}/lan`);
    expect(listed.body.items.map((d) => [d.serial, d.shortSerial, d.pingLevel])).toEqual([
      ['CAM0000001', 'AM0000001', 'green'],
      ['DS-7608NI-K20820201111CCRRF12345678WCVU', 'F12345678', 'yellow'],
    ]);
    // A late, older snapshot changes nothing; a newer one replaces the picture.
    await publish(edge, topics.lan(serial), encodeEnvelope(envelope('lan', { at: now - 5000, devices: [] })));
    expect((await owner.client.get<Lan>(`/sites/${siteId}/lan`)).body.items).toHaveLength(2);
    await publish(edge, topics.lan(serial), encodeEnvelope(envelope('lan', { at: now + 1000, devices: [found('CAM0000001', { deviceClass: 'camera', pingMs: 300, activated: true })] })));
    expect((await owner.client.get<Lan>(`/sites/${siteId}/lan`)).body.items.map((d) => d.pingLevel)).toEqual(['red']);
    expect((await other.client.get<{ code: string }>(`/sites/${siteId}/lan`)).body.code).toBe('SITE_NOT_FOUND');
  });
});

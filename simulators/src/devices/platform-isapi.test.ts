import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketStream, WebSocketServer } from 'ws';
import {
  DigestClient,
  IsapiPath,
  PanelIsapiPath,
  decodeMessage,
  encodeEnvelope,
  envelope,
  newMessageId,
  panelControlPath,
  parseDeviceInfo,
  parsePanelAreaStatusList,
  parseResponseStatus,
  topics,
  type P2pIsapiReplyData,
  type P2pIsapiRequestData,
} from '@vigil/protocol';
import { AlarmPanel } from '../panels/panel.js';
import { when } from '../panels/testing.js';
import { DeviceHost } from './host.js';
import { PlatformClient, type PlatformIsapiHandler } from './platform-client.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(what: string, ok: () => boolean): Promise<void> {
  for (const end = Date.now() + 10_000; !ok(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A platform stand-in that sends ISAPI requests to devices and collects their answers. */
async function startPlatform() {
  const broker = await Aedes.createBroker();
  const subscribed: { clientId: string; topic: string }[] = [];
  const infoAfterSubscribing = new Map<string, boolean>();
  const answers = new Map<string, (reply: { topic: string; data: P2pIsapiReplyData }) => void>();
  broker.on('subscribe', (subs, client) => subscribed.push(...subs.map((s) => ({ clientId: client.id, topic: s.topic }))));
  broker.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
    if (!client) return;
    const m = decodeMessage(packet.topic, packet.payload as Uint8Array);
    if (!m.ok) return;
    if (m.value.topic.kind === 'p2pInfo') infoAfterSubscribing.set(client.id, subscribed.some((s) => s.clientId === client.id));
    if (m.value.topic.kind === 'p2pIsapiReply') answers.get(m.value.envelope.id)?.({ topic: packet.topic, data: m.value.envelope.data as P2pIsapiReplyData });
  });
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/mqtt' });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    stream.on('error', () => stream.destroy());
    broker.handle(stream, req);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });

  /** Sends a request (deadline a second away unless given) and resolves with the answer and its topic. */
  function ask(shortSerial: string, request: Omit<P2pIsapiRequestData, 'deadline'> & { deadline?: number }, id = newMessageId()) {
    const answered = new Promise<{ topic: string; data: P2pIsapiReplyData }>((resolve) => answers.set(id, resolve));
    const payload = encodeEnvelope(envelope('p2pIsapi', { deadline: Date.now() + 1000, ...request }, { id }));
    const packet = { cmd: 'publish', topic: topics.p2pIsapi(shortSerial), payload: Buffer.from(payload), qos: 1, retain: false, dup: false } as PublishPacket;
    broker.publish(packet, () => undefined);
    return answered;
  }

  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    ask,
    /** Resolves once the device's info arrived, telling whether it was subscribed to its requests by then. */
    listening: async (clientId: string) => {
      await until(`the info of ${clientId}`, () => infoAfterSubscribing.has(clientId));
      return { subscribedFirst: infoAfterSubscribing.get(clientId), topics: subscribed.filter((s) => s.clientId === clientId).map((s) => s.topic) };
    },
  };
}

const INFO = { serial: 'A12345678', deviceClass: 'camera' as const, model: 'M', firmware: '', name: '', channels: 1 };

describe('ISAPI requests over the platform connection', () => {
  it('PlatformClient subscribes to its requests before saying what it is, answers with the handler, and skips late requests', async () => {
    const platform = await startPlatform();
    const seen: P2pIsapiRequestData[] = [];
    let afterSent = 0;
    const handler: PlatformIsapiHandler = async (r) => {
      seen.push(r);
      return { status: 200, contentType: 'application/xml', body: `<echo>${r.method} ${r.path} ${r.body ?? ''}</echo>`, after: () => void afterSent++ };
    };
    const client = new PlatformClient({ platformUrl: platform.url, shortSerial: 'A12345678', isapi: handler });
    cleanups.push(() => client.stop());
    client.start({ password: 'ABC123', info: INFO });
    expect(await platform.listening('device:A12345678')).toEqual({ subscribedFirst: true, topics: ['v1/device/A12345678/isapi'] });

    const answer = await platform.ask('A12345678', { method: 'PUT', path: '/ISAPI/x?y=1', body: '<a/>' }, 'req-00000001');
    expect(answer).toEqual({ topic: 'v1/device/A12345678/isapi/req-00000001', data: { status: 200, contentType: 'application/xml', body: '<echo>PUT /ISAPI/x?y=1 <a/></echo>' } });
    // What follows the answer runs once the platform has acknowledged it.
    await until('the work after the answer', () => afterSent === 1);

    // A request past its deadline is not run; the next one is.
    void platform.ask('A12345678', { method: 'GET', path: '/ISAPI/late', deadline: Date.now() - 1 });
    await platform.ask('A12345678', { method: 'GET', path: '/ISAPI/next' });
    expect(seen.map((r) => r.path)).toEqual(['/ISAPI/x?y=1', '/ISAPI/next']);
  });

  it('PlatformClient answers 500 when the handler fails or the answer is too large, and stays connected', async () => {
    const platform = await startPlatform();
    const client = new PlatformClient({
      platformUrl: platform.url,
      shortSerial: 'B12345678',
      isapi: async (r) => {
        if (r.path === '/ISAPI/fail') throw new Error('broken');
        return { status: 200, body: 'x'.repeat(200_000) };
      },
    });
    const problems: Error[] = [];
    client.on('problem', (e) => problems.push(e));
    cleanups.push(() => client.stop());
    client.start({ info: { ...INFO, serial: 'B12345678' } });
    await platform.listening('device:B12345678');
    expect((await platform.ask('B12345678', { method: 'GET', path: '/ISAPI/fail' })).data).toMatchObject({ status: 500, body: 'the device failed to answer' });
    expect((await platform.ask('B12345678', { method: 'GET', path: '/ISAPI/big' })).data).toMatchObject({ status: 500, body: /too large/ });
    expect(problems.map((e) => e.message)).toEqual(['broken']);
    expect(client.connected).toBe(true);
  });

  it('a SimDevice answers as its HTTP server does, without the digest challenge', async () => {
    const platform = await startPlatform();
    const host = new DeviceHost({
      sadpPort: 0,
      wsdPort: 0,
      multicast: false,
      devices: [{ class: 'camera', serial: 'DS-2CD2143G2-I20240101AACHE12345678', activated: true, password: 'Abcd1234!', verificationCode: 'ABC123', hikConnect: true, platformUrl: platform.url }],
    });
    cleanups.push(() => host.stop());
    await host.start();
    const cam = host.devices[0]!;
    await platform.listening('device:E12345678');

    const info = await platform.ask('E12345678', { method: 'GET', path: IsapiPath.deviceInfo });
    expect(info.data.status).toBe(200);
    expect(parseDeviceInfo(info.data.body)).toMatchObject({ ok: true, value: { serialNumber: cam.serial, model: cam.model } });
    const missing = await platform.ask('E12345678', { method: 'GET', path: '/ISAPI/Nothing/here' });
    expect(missing.data.status).toBe(404);
    // Over HTTP the same request needs the device's account.
    const base = `http://${cam.endpoints.listenIp}:${cam.endpoints.httpPort}`;
    const anonymous = await fetch(`${base}${IsapiPath.deviceInfo}`);
    await anonymous.text();
    expect(anonymous.status).toBe(401);
    expect((await new DigestClient('admin', 'Abcd1234!').fetch(`${base}${IsapiPath.deviceInfo}`)).status).toBe(200);
  });

  it("an AlarmPanel arms and disarms over it, applying its model's rules", async () => {
    const platform = await startPlatform();
    const pro = new AlarmPanel({ model: 'AX PRO', serial: 'Q87654321', verificationCode: 'ABCDEF', platformUrl: platform.url, hikConnect: true });
    const home = new AlarmPanel({ model: 'AX HOME', serial: 'Q12345678', platformUrl: platform.url, hikConnect: true });
    cleanups.push(() => pro.stop(), () => home.stop());
    await Promise.all([pro.start(), home.start()]);
    await Promise.all([platform.listening('device:Q87654321'), platform.listening('device:Q12345678')]);
    const requests: string[] = [];
    pro.on('request', (method, path, status) => requests.push(`${method} ${path} ${status}`));

    const armed = await platform.ask('Q87654321', { method: 'PUT', path: panelControlPath('away_arm', 1) });
    expect(armed.data.status).toBe(200);
    expect(pro.state.areas[0]).toMatchObject({ arming: 'away', state: 'away_armed' });
    const status = await platform.ask('Q87654321', { method: 'GET', path: PanelIsapiPath.areaStatus });
    expect(parsePanelAreaStatusList(status.data.body)).toMatchObject({ ok: true, value: [{ id: 1, arming: 'away' }] });
    expect((await platform.ask('Q87654321', { method: 'PUT', path: panelControlPath('disarm', 1) })).data.status).toBe(200);
    expect(pro.state.areas[0]!.arming).toBe('disarmed');
    expect(requests).toEqual(['PUT /ISAPI/SecurityCP/control/arm/1 200', 'GET /ISAPI/SecurityCP/status/subSystems 200', 'PUT /ISAPI/SecurityCP/control/disarm/1 200']);

    const stay = await platform.ask('Q12345678', { method: 'PUT', path: panelControlPath('stay_arm', 1) });
    expect(stay.data.status).toBe(403);
    expect(parseResponseStatus(stay.data.body)).toMatchObject({ ok: true, value: { subStatusCode: 'stayArmNotSupported' } });
    expect(home.state.areas[0]!.arming).toBe('disarmed');

    // Offline, the panel leaves the platform and takes no request.
    const down = when(pro, 'platform', (c: boolean) => !c);
    pro.setOnline(false);
    await down;
    expect(pro.state.platform.connected).toBe(false);
  });
});

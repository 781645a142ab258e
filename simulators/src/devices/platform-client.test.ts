import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, createWebSocketStream } from 'ws';
import {
  DigestClient,
  FACTORY_RESET_FULL,
  IsapiPath,
  buildActivateInfo,
  buildEzviz,
  decodeMessage,
  mqttIdentity,
  parseEzviz,
  topics,
  type P2pInfoData,
} from '@vigil/protocol';
import { parseLanArgs, runLan } from '../cli-core.js';
import { DeviceHost } from './host.js';
import { PlatformClient, platformMqttUrl } from './platform-client.js';
import type { SimDevice, SimDeviceOptions } from './sim-device.js';

interface Login {
  username: string | undefined;
  password: string | undefined;
  clientId: string;
}

interface Published {
  topic: string;
  payload: Buffer;
  retain: boolean;
  qos: number;
  clientId: string;
}

/** A platform stand-in: an aedes broker behind MQTT over WebSocket at /mqtt, recording who logs in. */
interface TestPlatform {
  /** The base URL a device is given (http://127.0.0.1:{port}). */
  url: string;
  logins: Login[];
  published: Published[];
  /** Clients past CONNACK and not yet gone. */
  online: Set<Client>;
  isOnline(clientId: string): boolean;
  loginsOf(clientId: string): Login[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startPlatform(accept: (l: Login) => boolean = () => true): Promise<TestPlatform> {
  const logins: Login[] = [];
  const published: Published[] = [];
  const online = new Set<Client>();
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const login = { username, password: password?.toString('utf8'), clientId: client.id };
      logins.push(login);
      if (accept(login)) done(null, true);
      else done(Object.assign(new Error('refused'), { returnCode: 4 as const }), false);
    },
  });
  broker.on('clientReady', (c) => online.add(c));
  broker.on('clientDisconnect', (c) => online.delete(c));
  broker.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
    if (client) published.push({ topic: packet.topic, payload: Buffer.from(packet.payload), retain: packet.retain, qos: packet.qos, clientId: client.id });
  });
  const http: Server = createServer();
  const wss = new WebSocketServer({ server: http, path: '/mqtt' });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    stream.on('error', () => stream.destroy());
    broker.handle(stream, req);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  const platform: TestPlatform = {
    url: `http://127.0.0.1:${port}`,
    logins,
    published,
    online,
    isOnline: (id) => [...online].some((c) => c.id === id),
    loginsOf: (id) => logins.filter((l) => l.clientId === id),
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
  cleanups.push(() => platform.close());
  return platform;
}

async function lan(devices: SimDeviceOptions[]): Promise<DeviceHost> {
  const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices });
  cleanups.push(() => host.stop());
  await host.start();
  return host;
}

/** Polls until `get` returns something truthy. */
async function until<T>(what: string, get: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Waits until a throw-away client has logged in and left: a connection a device had started before this
 * would have reached the broker by then.
 */
async function settle(platform: TestPlatform): Promise<void> {
  const probe = new PlatformClient({ platformUrl: platform.url, shortSerial: 'Z99999999' });
  const id = mqttIdentity.deviceClientId('Z99999999');
  const before = platform.loginsOf(id).length;
  probe.start({ info: { serial: 'Z99999999', deviceClass: 'other', model: 'X', firmware: '', name: '', channels: 0 } });
  await until('the probe client', () => platform.loginsOf(id).length > before && platform.isOnline(id));
  await probe.stop();
}

const PW = 'Abcd1234!';
const base = (d: SimDevice) => `http://${d.endpoints.listenIp}:${d.endpoints.httpPort}`;
const control = async (d: SimDevice, body: unknown) => {
  const res = await fetch(`${base(d)}/__sim/control`, { method: 'POST', body: JSON.stringify(body) });
  await res.text();
  return res.status;
};
const setEzviz = async (d: SimDevice, enabled: boolean, verificationCode?: string) => {
  const res = await new DigestClient('admin', PW).fetch(`${base(d)}${IsapiPath.ezviz}`, {
    method: 'PUT',
    body: buildEzviz({ enabled, ...(verificationCode === undefined ? {} : { verificationCode }) }),
  });
  await res.text();
  return res.status;
};
const idOf = (d: SimDevice) => mqttIdentity.deviceClientId(d.endpoints.shortSerial!);
const shortOf = (d: SimDevice) => d.endpoints.shortSerial!;

/** The info the device published last, decoded as the platform would. */
function lastInfo(platform: TestPlatform, d: SimDevice): { data: P2pInfoData; retain: boolean; qos: number } | undefined {
  const m = platform.published.filter((p) => p.topic === topics.p2pInfo(shortOf(d))).at(-1);
  if (!m) return undefined;
  const decoded = decodeMessage(m.topic, m.payload);
  if (!decoded.ok) throw new Error(decoded.error);
  if (decoded.value.topic.kind !== 'p2pInfo') throw new Error(`unexpected ${decoded.value.topic.kind}`);
  return { data: decoded.value.envelope.data as P2pInfoData, retain: m.retain, qos: m.qos };
}

describe('platformMqttUrl', () => {
  it('maps http to ws and https to wss at /mqtt, and refuses anything else', () => {
    expect(platformMqttUrl('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/mqtt');
    expect(platformMqttUrl('https://cloud.example.com/')).toBe('wss://cloud.example.com/mqtt');
    expect(platformMqttUrl('https://example.com/vigil/')).toBe('wss://example.com/vigil/mqtt');
    expect(platformMqttUrl('ftp://example.com')).toBeNull();
    expect(platformMqttUrl('not a url')).toBeNull();
  });
});

describe('Hik-Connect service (P2P) of a simulated device', () => {
  it('connects an activated device as device:{short} with its verification code and publishes retained info', async () => {
    const platform = await startPlatform();
    const host = await lan([
      { class: 'camera', serial: 'DS-2CD2143G2-I20240101AACHE12345678', activated: true, password: PW, verificationCode: 'ABC123', hikConnect: true, platformUrl: platform.url },
      { class: 'dvr', activated: true, password: PW, verificationCode: 'DVR123', hikConnect: true, platformUrl: platform.url, analogChannels: 4, ipChannels: 2, name: 'Shop DVR' },
    ]);
    const [cam, dvr] = host.devices as [SimDevice, SimDevice];
    expect(shortOf(cam)).toBe('E12345678');
    const login = await until('the camera login', () => platform.loginsOf('device:E12345678')[0]);
    expect(login).toEqual({ username: 'device:E12345678', password: 'ABC123', clientId: 'device:E12345678' });
    const info = await until('the camera info', () => lastInfo(platform, cam));
    expect(info).toEqual({
      retain: true,
      qos: 1,
      data: { serial: cam.serial, deviceClass: 'camera', model: cam.model, firmware: cam.state.firmware, name: cam.state.name, channels: 1 },
    });
    const dvrInfo = await until('the DVR info', () => lastInfo(platform, dvr));
    expect(dvrInfo.data).toMatchObject({ deviceClass: 'dvr', name: 'Shop DVR', channels: 6 });
    expect(platform.loginsOf(idOf(dvr))[0]).toMatchObject({ username: mqttIdentity.deviceUsername(shortOf(dvr)), password: 'DVR123' });
    await until('the camera state', () => cam.state.platform.connected);
    const state = (await (await fetch(`${base(cam)}/__sim/state`)).json()) as { platform: unknown };
    expect(state.platform).toEqual({ url: platform.url, connected: true });
  });

  it('stays off the platform until activated over ISAPI with Hik-Connect enabled', async () => {
    const platform = await startPlatform();
    const host = await lan([
      { class: 'camera', hikConnect: true, platformUrl: platform.url },
      { class: 'camera', platformUrl: platform.url },
    ]);
    const [on, off] = host.devices as [SimDevice, SimDevice];
    const activate = async (d: SimDevice, verificationCode: string) => {
      const res = await fetch(`${base(d)}${IsapiPath.activate}`, { method: 'PUT', body: buildActivateInfo({ password: PW, verificationCode }) });
      await res.text();
      return res.status;
    };
    await settle(platform);
    expect(platform.loginsOf(idOf(on))).toEqual([]);
    expect(platform.loginsOf(idOf(off))).toEqual([]);
    // Hik-Connect on from the start: activation is what it waits for.
    expect(await activate(on, 'ABC123')).toBe(200);
    const first = await until('the login after activation', () => platform.loginsOf(idOf(on))[0]);
    expect(first).toMatchObject({ username: mqttIdentity.deviceUsername(shortOf(on)), password: 'ABC123' });
    // Hik-Connect off: activation alone is not enough.
    expect(await activate(off, 'XYZ789')).toBe(200);
    await settle(platform);
    expect(platform.loginsOf(idOf(off))).toEqual([]);
    expect(off.state.platform).toEqual({ url: platform.url, connected: false });
    expect(await setEzviz(off, true)).toBe(200);
    const login = await until('the login after enabling', () => platform.loginsOf(idOf(off))[0]);
    expect(login).toMatchObject({ username: mqttIdentity.deviceUsername(shortOf(off)), password: 'XYZ789' });
    await until('the info', () => lastInfo(platform, off));
  });

  it('leaves when Hik-Connect is disabled, and reconnects with a new verification code', async () => {
    const platform = await startPlatform();
    const host = await lan([{ class: 'nvr', activated: true, password: PW, verificationCode: 'ABC123', hikConnect: true, platformUrl: platform.url }]);
    const d = host.devices[0]!;
    await until('the connection', () => platform.isOnline(idOf(d)));
    expect(await setEzviz(d, false)).toBe(200);
    await until('the disconnection', () => !platform.isOnline(idOf(d)));
    expect(d.state.platform.connected).toBe(false);
    await settle(platform);
    expect(platform.loginsOf(idOf(d))).toHaveLength(1);
    expect(await setEzviz(d, true, 'NEW456')).toBe(200);
    await until('the new login', () => platform.loginsOf(idOf(d))[1]);
    expect(platform.loginsOf(idOf(d)).map((l) => l.password)).toEqual(['ABC123', 'NEW456']);
    // A changed code while connected means a new connection with it.
    await until('the connection', () => platform.isOnline(idOf(d)));
    expect(await setEzviz(d, true, 'NEW789')).toBe(200);
    await until('the third login', () => platform.loginsOf(idOf(d))[2]);
    expect(platform.loginsOf(idOf(d))[2]!.password).toBe('NEW789');
  });

  it('drops off while unreachable or rebooting and comes back', async () => {
    const platform = await startPlatform();
    const host = await lan([{ class: 'camera', activated: true, password: PW, verificationCode: 'ABC123', hikConnect: true, platformUrl: platform.url, rebootMs: 300 }]);
    const d = host.devices[0]!;
    await until('the connection', () => platform.isOnline(idOf(d)));
    expect(await control(d, { reachable: false })).toBe(200);
    await until('the disconnection', () => !platform.isOnline(idOf(d)));
    expect(await control(d, { reachable: true })).toBe(200);
    await until('the second login', () => platform.loginsOf(idOf(d))[1]);
    await until('the connection', () => platform.isOnline(idOf(d)) && d.state.platform.connected);
    const rebooted = new Promise<void>((resolve) => d.once('reboot', resolve));
    const res = await new DigestClient('admin', PW).fetch(`${base(d)}${IsapiPath.reboot}`, { method: 'PUT' });
    expect(res.status).toBe(200);
    await res.text();
    await rebooted;
    expect(d.state.rebooting).toBe(true);
    await until('the disconnection while rebooting', () => !platform.isOnline(idOf(d)));
    await until('the login after the reboot', () => platform.loginsOf(idOf(d))[2]);
    expect(d.state.rebooting).toBe(false);
  });

  it('leaves on a factory reset', async () => {
    const platform = await startPlatform();
    const host = await lan([{ class: 'camera', activated: true, password: PW, verificationCode: 'ABC123', hikConnect: true, platformUrl: platform.url }]);
    const d = host.devices[0]!;
    await until('the connection', () => platform.isOnline(idOf(d)));
    const reset = new Promise<void>((resolve) => d.once('reset', resolve));
    const res = await new DigestClient('admin', PW).fetch(`${base(d)}${FACTORY_RESET_FULL}`, { method: 'PUT' });
    expect(res.status).toBe(200);
    await res.text();
    await reset;
    await until('the disconnection', () => !platform.isOnline(idOf(d)));
    expect(d.state).toMatchObject({ activated: false, platform: { connected: false } });
    await settle(platform);
    expect(platform.loginsOf(idOf(d))).toHaveLength(1);
  });

  it('connects an AX HOME panel without a password: it has no verification code', async () => {
    const platform = await startPlatform();
    const host = await lan([
      { class: 'alarm_panel', flags: { axHome: true }, activated: true, password: PW, verificationCode: 'ABC123', hikConnect: true, platformUrl: platform.url },
    ]);
    const d = host.devices[0]!;
    expect(d.model).toBe('DS-PHA20-W2P');
    expect(d.state.verificationCode).toBeNull();
    const ez = parseEzviz(await (await new DigestClient('admin', PW).fetch(`${base(d)}${IsapiPath.ezviz}`)).text());
    expect(ez.ok && ez.value).toEqual({ enabled: true, registerStatus: true });
    const login = await until('the panel login', () => platform.loginsOf(idOf(d))[0]);
    expect(login).toEqual({ username: mqttIdentity.deviceUsername(shortOf(d)), password: undefined, clientId: idOf(d) });
    const info = await until('the panel info', () => lastInfo(platform, d));
    expect(info.data).toMatchObject({ deviceClass: 'alarm_panel', model: 'DS-PHA20-W2P', channels: 0 });
  });

  it('is pointed elsewhere or off through /__sim/control', async () => {
    const [first, second] = [await startPlatform(), await startPlatform()];
    const host = await lan([{ class: 'camera', activated: true, password: PW, verificationCode: 'ABC123', hikConnect: true, platformUrl: first.url }]);
    const d = host.devices[0]!;
    await until('the first platform', () => first.isOnline(idOf(d)));
    expect(await control(d, { platformUrl: second.url })).toBe(200);
    await until('the move', () => second.isOnline(idOf(d)) && !first.isOnline(idOf(d)));
    expect(d.state.platform.url).toBe(second.url);
    expect(await control(d, { platformUrl: null })).toBe(200);
    await until('the disconnection', () => !second.isOnline(idOf(d)));
    expect(d.state.platform).toEqual({ url: null, connected: false });
    expect(await control(d, { platformUrl: 'ftp://example.com' })).toBe(400);
    expect(await control(d, { platformUrl: 42 })).toBe(400);
  });

  it('closes the connection on stop() and does not come back', async () => {
    const platform = await startPlatform();
    const host = await lan([{ class: 'camera', activated: true, password: PW, verificationCode: 'ABC123', hikConnect: true, platformUrl: platform.url }]);
    const d = host.devices[0]!;
    await until('the connection', () => platform.isOnline(idOf(d)) && d.state.platform.connected);
    const left = new Promise<boolean>((resolve) => d.once('platform', resolve));
    await d.stop();
    expect(await left).toBe(false);
    await until('the disconnection', () => !platform.isOnline(idOf(d)));
    await settle(platform);
    expect(platform.loginsOf(idOf(d))).toHaveLength(1);
    expect(d.state.platform.connected).toBe(false);
  });
});

describe('PlatformClient', () => {
  it('keeps trying while refused, connects once accepted, and stops promptly', async () => {
    let open = false;
    const platform = await startPlatform(() => open);
    const id = mqttIdentity.deviceClientId('A12345678');
    const client = new PlatformClient({ platformUrl: platform.url, shortSerial: 'A12345678', reconnectMs: 50 });
    const problems: Error[] = [];
    client.on('problem', (e) => problems.push(e));
    client.start({ password: 'ABC123', info: { serial: 'A12345678', deviceClass: 'camera', model: 'M', firmware: '', name: '', channels: 1 } });
    cleanups.push(() => client.stop());
    await until('two refused attempts', () => platform.loginsOf(id).length >= 2);
    expect(client.connected).toBe(false);
    expect(problems.length).toBeGreaterThan(0);
    open = true;
    await until('the connection', () => client.connected && platform.isOnline(id));
    const t0 = Date.now();
    await client.stop();
    expect(Date.now() - t0).toBeLessThan(500);
    expect(client.running).toBe(false);
    await until('the disconnection', () => !platform.isOnline(id));
  });
});

describe('lan spec', () => {
  it('passes platformUrl, hikConnect and the axHome flag through to the devices', async () => {
    const platform = await startPlatform();
    const spec = parseLanArgs([
      '--spec-json',
      JSON.stringify({
        sadpPort: 0,
        wsdPort: 0,
        multicast: false,
        devices: [{ class: 'alarm_panel', flags: { axHome: true }, activated: true, password: PW, hikConnect: true, platformUrl: platform.url }],
      }),
    ]);
    if (!spec.ok) throw new Error(spec.error);
    const running = await runLan(spec.value);
    cleanups.push(() => running.stop());
    const entry = running.ready.devices[0]!;
    expect(entry).toMatchObject({ class: 'alarm_panel', model: 'DS-PHA20-W2P' });
    expect(entry.shortSerial).toMatch(/^[A-Za-z0-9]{9}$/);
    const login = await until('the panel login', () => platform.loginsOf(mqttIdentity.deviceClientId(entry.shortSerial!))[0]);
    expect(login.password).toBeUndefined();
    for (const bad of [{ platformUrl: 'ws://x' }, { platformUrl: 7 }, { hikConnect: 'yes' }]) {
      expect(parseLanArgs(['--spec-json', JSON.stringify({ devices: [{ class: 'camera', ...bad }] })]).ok, JSON.stringify(bad)).toBe(false);
    }
  });
});

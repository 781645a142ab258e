import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DigestClient,
  FACTORY_RESET_FULL,
  IsapiPath,
  buildActivateInfo,
  buildChannelOrder,
  buildEzviz,
  buildIpAddress,
  buildNewInputProxyChannel,
  buildSadpProbe,
  buildStreamingChannel,
  hddFormatPath,
  parseDeviceInfo,
  parseEzviz,
  parseInputProxyChannelList,
  parseIpAddress,
  parseResponseStatus,
  parseSadpProbeMatch,
  parseStorage,
  parseStreamingChannel,
  pingLevel,
  shortSerial,
  type SadpProbeMatch,
} from '@vigil/protocol';
import { buildProbe, parseProbeMatches } from '@vigil/protocol/onvif';
import { DeviceHost, type LanSpec } from './host.js';
import type { SimDevice, SimDeviceOptions } from './sim-device.js';

const hosts: DeviceHost[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

const PW = 'Abcd1234!';

async function lan(devices: SimDeviceOptions[], extra: Partial<LanSpec> = {}): Promise<DeviceHost> {
  const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices, ...extra });
  hosts.push(host);
  await host.start();
  return host;
}

async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

/** Sends a probe to ip:port and collects `count` answers to it. */
async function sadpProbe(port: number, count: number, ip = '127.0.0.1'): Promise<{ matches: SadpProbeMatch[]; ms: number }> {
  const s = await udp();
  const uuid = `T-${Math.random().toString(16).slice(2)}`;
  const matches: SadpProbeMatch[] = [];
  const t0 = performance.now();
  const done = new Promise<void>((resolve) =>
    s.on('message', (msg: Buffer) => {
      const m = parseSadpProbeMatch(msg);
      if (m.ok && m.value.uuid === uuid) matches.push(m.value);
      if (matches.length === count) resolve();
    }),
  );
  s.send(buildSadpProbe({ uuid }), port, ip);
  await done;
  return { matches, ms: performance.now() - t0 };
}

const base = (d: SimDevice) => `http://${d.endpoints.listenIp}:${d.endpoints.httpPort}`;
const activate = (d: SimDevice, password: string, verificationCode?: string) =>
  fetch(`${base(d)}${IsapiPath.activate}`, { method: 'PUT', body: buildActivateInfo({ password, ...(verificationCode ? { verificationCode } : {}) }) });
const status = async (res: Response) => {
  const r = parseResponseStatus(await res.text());
  if (!r.ok) throw new Error(r.error);
  return { http: res.status, ...r.value };
};
const control = (d: SimDevice, body: unknown) => fetch(`${base(d)}/__sim/control`, { method: 'POST', body: JSON.stringify(body) });

describe('SADP', () => {
  it('answers a unicast probe for every device on the address, with its details', async () => {
    const host = await lan([
      { class: 'camera', serial: 'DS-2CD2143G2-I20240101AACHE12345678', flags: { solar: true }, mask: '255.0.0.0', gateway: '127.0.0.254' },
      { class: 'nvr', flags: { poe: true }, activated: true, password: PW, dhcp: true },
      { class: 'switch', flags: { eiSeries: true } },
      { class: 'alarm_panel' },
      { class: 'dvr', analogChannels: 16, ipChannels: 4 },
    ]);
    const port = host.devices[0]!.endpoints.sadpPort;
    expect(new Set(host.devices.map((d) => d.endpoints.sadpPort))).toEqual(new Set([port]));
    const { matches } = await sadpProbe(port, 5);
    const bySerial = new Map(matches.map((m) => [m.serial, m]));
    const cam = bySerial.get('DS-2CD2143G2-I20240101AACHE12345678')!;
    expect(cam).toMatchObject({
      deviceClass: 'camera',
      model: 'DS-2XS6A47G1-LS/C36S80',
      ipv4: '127.0.0.1',
      mask: '255.0.0.0',
      gateway: '127.0.0.254',
      dhcp: false,
      activated: false,
      solar: true,
      poe: false,
      httpPort: host.devices[0]!.endpoints.httpPort,
      capabilities: ['smartH265', 'md2', 'hikConnect'],
      analogChannels: 0,
      digitalChannels: 0,
    });
    expect(cam.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(shortSerial(cam.serial)).toBe('E12345678');
    expect(bySerial.get(host.devices[1]!.serial)).toMatchObject({ deviceClass: 'nvr', poe: true, activated: true, dhcp: true, analogChannels: 0, digitalChannels: 8 });
    expect(bySerial.get(host.devices[2]!.serial)).toMatchObject({ deviceClass: 'switch', eiSeries: true, analogChannels: 0, digitalChannels: 0 });
    expect(bySerial.get(host.devices[3]!.serial)).toMatchObject({ deviceClass: 'alarm_panel', activated: false });
    expect(bySerial.get(host.devices[4]!.serial)).toMatchObject({ deviceClass: 'dvr', analogChannels: 16, digitalChannels: 4 });
  });

  it('answers WS-Discovery for cameras and recorders only', async () => {
    const host = await lan([{ class: 'camera' }, { class: 'switch' }]);
    const s = await udp();
    const got = once(s, 'message') as Promise<[Buffer]>;
    s.send(buildProbe(), host.devices[0]!.endpoints.wsdPort!, '127.0.0.1');
    const m = parseProbeMatches((await got)[0]);
    expect(m.ok && m.value.matches[0]!.xAddrs[0]).toBe(`http://127.0.0.1:${host.devices[0]!.endpoints.httpPort}/onvif/device_service`);
    expect(host.devices[1]!.endpoints.wsdPort).toBeNull();
  });

  it('adds the configured latency to every answer', async () => {
    // Yellow (50-200 ms), and far enough above what a loaded machine adds for the fast probe to stay below it.
    const host = await lan([{ class: 'camera', latencyMs: 180 }]);
    const d = host.devices[0]!;
    const { ms } = await sadpProbe(d.endpoints.sadpPort, 1);
    expect(ms).toBeGreaterThanOrEqual(175);
    expect(pingLevel(ms)).toBe('yellow');
    const t0 = performance.now();
    await (await fetch(`${base(d)}${IsapiPath.deviceInfo}`)).text();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(175);
    expect((await control(d, { latencyMs: 0 })).status).toBe(200);
    const fast = await sadpProbe(d.endpoints.sadpPort, 1);
    expect(fast.ms).toBeLessThan(175);
  });
});

describe('activation and authentication', () => {
  it('refuses a weak password, accepts a good one, then refuses a second activation', async () => {
    const host = await lan([{ class: 'camera' }]);
    const d = host.devices[0]!;
    expect(await status(await activate(d, 'password'))).toMatchObject({ http: 400, subStatusCode: 'invalidPassword' });
    expect(await status(await activate(d, 'Abc12'))).toMatchObject({ http: 400, subStatusCode: 'invalidPassword' });
    expect(await status(await activate(d, PW, 'bad'))).toMatchObject({ http: 400, subStatusCode: 'invalidVerificationCode' });
    expect(d.isActivated).toBe(false);
    expect(await status(await activate(d, PW, 'ABC123'))).toMatchObject({ http: 200, statusCode: 1, subStatusCode: 'ok' });
    expect(d.state.verificationCode).toBe('ABC123');
    expect(await status(await activate(d, 'Other1234'))).toMatchObject({ http: 400, subStatusCode: 'alreadyActivated' });
    const { matches } = await sadpProbe(d.endpoints.sadpPort, 1);
    expect(matches[0]!.activated).toBe(true);
  });

  it('answers only deviceInfo before activation, and wants Digest after', async () => {
    const host = await lan([{ class: 'nvr' }]);
    const d = host.devices[0]!;
    const info = parseDeviceInfo(await (await fetch(`${base(d)}${IsapiPath.deviceInfo}`)).text());
    expect(info.ok && info.value).toMatchObject({ deviceClass: 'nvr', serialNumber: d.serial, macAddress: d.mac });
    expect(await status(await fetch(`${base(d)}${IsapiPath.time}`))).toMatchObject({ http: 403, subStatusCode: 'notActivated' });
    await activate(d, PW);
    const bare = await fetch(`${base(d)}${IsapiPath.deviceInfo}`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toMatch(/^Digest realm=".+", qop="auth", algorithm=MD5, nonce="/);
    await bare.text();
    const wrong = new DigestClient('admin', 'Wrong1234');
    expect((await wrong.fetch(`${base(d)}${IsapiPath.deviceInfo}`)).status).toBe(401);
    const client = new DigestClient('admin', PW);
    const res = await client.fetch(`${base(d)}${IsapiPath.deviceInfo}`);
    expect(res.status).toBe(200);
    expect(parseDeviceInfo(await res.text()).ok).toBe(true);
    // The nonce is reused with a growing count.
    expect((await client.fetch(`${base(d)}${IsapiPath.firmwareStatus}`)).status).toBe(200);
  });

  it('does not initialize alarm panels; the AC router takes no verification code', async () => {
    const host = await lan([{ class: 'alarm_panel' }, { class: 'ac_router', accessPoints: [{ serial: 'AP1' }] }]);
    const [panel, ac] = host.devices as [SimDevice, SimDevice];
    expect(await status(await activate(panel, PW))).toMatchObject({ http: 403, subStatusCode: 'notSupport' });
    expect(await status(await activate(ac, PW, 'ABC123'))).toMatchObject({ http: 200 });
    expect(ac.state.verificationCode).toBeNull();
    const client = new DigestClient('admin', PW);
    expect((await client.fetch(`${base(ac)}${IsapiPath.ezviz}`, { method: 'PUT', body: buildEzviz({ enabled: true }) })).status).toBe(200);
    const ez = parseEzviz(await (await client.fetch(`${base(ac)}${IsapiPath.ezviz}`)).text());
    expect(ez.ok && ez.value).toEqual({ enabled: true, registerStatus: true });
  });
});

describe('configuration', () => {
  it('moves to a new address it can bind, and only records one it cannot', async () => {
    const host = await lan([{ class: 'camera', activated: true, password: PW, dhcpLease: { ip: '10.255.255.77', gateway: '10.255.255.1' } }]);
    const d = host.devices[0]!;
    const client = new DigestClient('admin', PW);
    const port = d.endpoints.httpPort;
    let moved = once(d, 'moved');
    const put = await client.fetch(`${base(d)}${IsapiPath.ipAddress}`, {
      method: 'PUT',
      body: buildIpAddress({ dhcp: false, ipv4: '127.0.0.2', mask: '255.0.0.0', gateway: '', dns: '' }),
    });
    expect(put.status).toBe(200);
    expect(await moved).toEqual(['127.0.0.2', true]);
    expect(d.endpoints).toMatchObject({ ip: '127.0.0.2', listenIp: '127.0.0.2', httpPort: port });
    const again = new DigestClient('admin', PW);
    const got = parseIpAddress(await (await again.fetch(`http://127.0.0.2:${port}${IsapiPath.ipAddress}`)).text());
    expect(got.ok && got.value).toEqual({ dhcp: false, ipv4: '127.0.0.2', mask: '255.0.0.0', gateway: '', dns: '' });
    expect((await sadpProbe(d.endpoints.sadpPort, 1, '127.0.0.2')).matches[0]!.ipv4).toBe('127.0.0.2');
    // DHCP on: the lease's address, not bindable here, is recorded only.
    moved = once(d, 'moved');
    await again.fetch(`http://127.0.0.2:${port}${IsapiPath.ipAddress}`, {
      method: 'PUT',
      body: '<IPAddress><addressingType>dynamic</addressingType></IPAddress>',
    });
    expect(await moved).toEqual(['10.255.255.77', false]);
    const m = (await sadpProbe(d.endpoints.sadpPort, 1, '127.0.0.2')).matches[0]!;
    expect(m).toMatchObject({ dhcp: true, ipv4: '10.255.255.77', gateway: '10.255.255.1', mask: '255.0.0.0' });
  });

  it('refuses to format a disk holding data and formats a new one', async () => {
    const host = await lan([{ class: 'nvr', activated: true, password: PW, hdds: [{ status: 'new' }, { hasData: true }, { status: 'uninitialized' }] }]);
    const d = host.devices[0]!;
    const client = new DigestClient('admin', PW);
    const hdds = parseStorage(await (await client.fetch(`${base(d)}${IsapiPath.storage}`)).text());
    expect(hdds.ok && hdds.value.map((h) => [h.id, h.status, h.hasData])).toEqual([
      [1, 'new', false],
      [2, 'ok', true],
      [3, 'uninitialized', false],
    ]);
    expect(await status(await client.fetch(`${base(d)}${hddFormatPath(2)}`, { method: 'PUT' }))).toMatchObject({ http: 403, subStatusCode: 'hddHasData' });
    expect(await status(await client.fetch(`${base(d)}${hddFormatPath(1)}`, { method: 'PUT' }))).toMatchObject({ http: 200 });
    expect(await status(await client.fetch(`${base(d)}${hddFormatPath(9)}`, { method: 'PUT' }))).toMatchObject({ http: 404, subStatusCode: 'invalidID' });
    expect(d.state.hdds.map((h) => h.status)).toEqual(['ok', 'ok', 'uninitialized']);
    expect(d.state.hdds[1]!.hasData).toBe(true);
  });

  it('switches the codec to Smart H.265+ only where supported', async () => {
    const host = await lan([
      { class: 'camera', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW, capabilities: ['md2'] },
    ]);
    const client = new DigestClient('admin', PW);
    const [a, b] = host.devices as [SimDevice, SimDevice];
    const cur = parseStreamingChannel(await (await client.fetch(`${base(a)}${IsapiPath.streamingChannel}`)).text());
    expect(cur.ok && cur.value.videoCodec).toBe('Smart H.264+');
    const body = buildStreamingChannel({ id: 101, videoCodec: 'Smart H.265+', supportedCodecs: [] });
    expect((await client.fetch(`${base(a)}${IsapiPath.streamingChannel}`, { method: 'PUT', body })).status).toBe(200);
    expect(a.state.videoCodec).toBe('Smart H.265+');
    const other = new DigestClient('admin', PW);
    expect((await other.fetch(`${base(b)}${IsapiPath.streamingChannel}`, { method: 'PUT', body })).status).toBe(400);
  });
});

describe('NVR channels', () => {
  it('adds cameras as channels, checks them, and sorts them', async () => {
    const host = await lan([
      { class: 'nvr', activated: true, password: PW, ipChannels: 4 },
      { class: 'camera', activated: true, password: PW },
      { class: 'camera', activated: true, password: 'Cam12345' },
    ]);
    const [nvr, c1, c2] = host.devices as [SimDevice, SimDevice, SimDevice];
    const client = new DigestClient('admin', PW);
    const add = (cam: SimDevice, password: string) =>
      client.fetch(`${base(nvr)}${IsapiPath.inputProxyChannels}`, {
        method: 'POST',
        body: buildNewInputProxyChannel({ ipAddress: '127.0.0.1', managementPort: cam.endpoints.httpPort, username: 'admin', password }),
      });
    expect(await status(await add(c1, PW))).toMatchObject({ http: 200, id: 1 });
    expect(await status(await add(c2, 'Cam12345'))).toMatchObject({ http: 200, id: 2 });
    expect(await status(await add(c1, 'Wrong1234'))).toMatchObject({ http: 200, id: 3 });
    let list = parseInputProxyChannelList(await (await client.fetch(`${base(nvr)}${IsapiPath.inputProxyChannels}`)).text());
    expect(list.ok && list.value.sortedOnce).toBe(false);
    expect(list.ok && list.value.channels.map((c) => [c.id, c.order, c.online])).toEqual([
      [1, 1, true],
      [2, 2, true],
      [3, 3, false],
    ]);
    expect(await status(await client.fetch(`${base(nvr)}${IsapiPath.inputProxyChannelOrder}`, { method: 'PUT', body: buildChannelOrder([2]) }))).toMatchObject({
      http: 400,
    });
    expect((await client.fetch(`${base(nvr)}${IsapiPath.inputProxyChannelOrder}`, { method: 'PUT', body: buildChannelOrder([3, 1, 2]) })).status).toBe(200);
    list = parseInputProxyChannelList(await (await client.fetch(`${base(nvr)}${IsapiPath.inputProxyChannels}`)).text());
    expect(list.ok && list.value.sortedOnce).toBe(true);
    expect(list.ok && list.value.channels.map((c) => c.id)).toEqual([3, 1, 2]);
    await add(c2, 'Cam12345');
    expect(await status(await add(c2, 'Cam12345'))).toMatchObject({ http: 403, subStatusCode: 'channelLimitReached' });
  });

  it('pre-creates the channels of a PoE NVR', async () => {
    const host = await lan([{ class: 'nvr', flags: { poe: true }, poePorts: 4, ipChannels: 8, activated: true, password: PW }]);
    const client = new DigestClient('admin', PW);
    const list = parseInputProxyChannelList(await (await client.fetch(`${base(host.devices[0]!)}${IsapiPath.inputProxyChannels}`)).text());
    expect(list.ok && list.value.channels.map((c) => [c.id, c.poe])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
    ]);
    expect(list.ok && list.value.maxChannels).toBe(8);
  });
});

describe('reboot and factory restore', () => {
  it('restores to unactivated with settings reset', async () => {
    const host = await lan([{ class: 'camera', activated: true, password: PW, verificationCode: 'LABEL1' }]);
    const d = host.devices[0]!;
    const client = new DigestClient('admin', PW);
    await client.fetch(`${base(d)}${IsapiPath.streamingChannel}`, {
      method: 'PUT',
      body: buildStreamingChannel({ id: 101, videoCodec: 'H.265', supportedCodecs: [] }),
    });
    const reboot = once(d, 'reboot');
    expect((await client.fetch(`${base(d)}${IsapiPath.reboot}`, { method: 'PUT' })).status).toBe(200);
    await reboot;
    expect(await status(await client.fetch(`${base(d)}${IsapiPath.factoryReset}?mode=basic`, { method: 'PUT' }))).toMatchObject({ http: 400 });
    const reset = once(d, 'reset');
    expect((await client.fetch(`${base(d)}${FACTORY_RESET_FULL}`, { method: 'PUT' })).status).toBe(200);
    await reset;
    expect(d.state).toMatchObject({ activated: false, password: null, videoCodec: 'Smart H.264+', verificationCode: 'LABEL1' });
    expect((await sadpProbe(d.endpoints.sadpPort, 1)).matches[0]!.activated).toBe(false);
    expect(await status(await activate(d, 'New12345'))).toMatchObject({ http: 200 });
  });

  it('goes silent while unreachable and comes back', async () => {
    const host = await lan([{ class: 'camera' }]);
    const d = host.devices[0]!;
    expect((await control(d, { reachable: false })).status).toBe(200);
    const s = await udp();
    const dropped = once(d, 'dropped');
    s.send(buildSadpProbe(), d.endpoints.sadpPort, '127.0.0.1');
    expect(await dropped).toEqual(['udp']);
    expect((await control(d, { reachable: true })).status).toBe(200);
    expect((await sadpProbe(d.endpoints.sadpPort, 1)).matches).toHaveLength(1);
    expect((await control(d, { bogus: 1 })).status).toBe(400);
  });
});

import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import onvif from 'onvif';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FaultSubcode,
  buildGetDeviceInformation,
  buildGetSystemDateAndTime,
  buildProbe,
  faultHas,
  newMessageId,
  parseEnvelope,
  parseFault,
  parseGetDeviceInformationResponse,
  parseGetSystemDateAndTimeResponse,
  parseProbeMatches,
  usernameTokenHeader,
  type ProbeMatches,
} from '@vigil/protocol/onvif';
import { IpCameraSimulator, endpointReferenceFor } from './ip-camera.js';

const started: IpCameraSimulator[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop()));
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(resolve))));
});

async function camera(opts: Partial<ConstructorParameters<typeof IpCameraSimulator>[0]> = {}) {
  const cam = new IpCameraSimulator({ serial: 'SIM0001', model: 'VC-2000', password: 'Secret-1', ...opts });
  started.push(cam);
  await cam.start();
  return cam;
}

const soap = (cam: IpCameraSimulator, body: string) =>
  fetch(cam.deviceServiceUrl, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body });

async function prober(): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

async function nextMatches(s: Socket): Promise<ProbeMatches> {
  const [msg] = (await once(s, 'message')) as [Buffer];
  const r = parseProbeMatches(msg);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

type CamCallback<T> = (err: Error | null, data?: T, xml?: string) => void;
const call = <T>(fn: (cb: CamCallback<T>) => void) =>
  new Promise<T>((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data as T))));

describe('IpCameraSimulator with the onvif npm client', () => {
  it('answers GetSystemDateAndTime and GetDeviceInformation with the right credentials', async () => {
    const cam = await camera({ serial: '00421337', firmware: '5.70', manufacturer: 'Acme', hardwareId: 'HW-7' });
    const client = new onvif.Cam({
      hostname: '127.0.0.1',
      port: cam.state.http,
      username: 'admin',
      password: 'Secret-1',
      path: '/onvif/device_service',
      autoconnect: false,
    });
    // The client derives the WS-Security Created time from the device clock, so it asks for it first.
    const time = await call<Date>((cb) => client.getSystemDateAndTime(cb));
    expect(Math.abs(time.getTime() - Date.now())).toBeLessThan(2000);
    const info = await call<Record<string, unknown>>((cb) => client.getDeviceInformation(cb));
    expect(info).toMatchObject({ manufacturer: 'Acme', model: 'VC-2000', hardwareId: 'HW-7' });
    expect(info.serialNumber).toBe('00421337');
    // The client turns numeric-looking strings into numbers (why the edge reads the raw reply instead).
    expect(info.firmwareVersion).toBe(5.7);
    expect(cam.state.counters).toMatchObject({ soapRequests: 2, authFailures: 0 });
  });

  it('refuses a wrong password with ter:NotAuthorized', async () => {
    const cam = await camera();
    const client = new onvif.Cam({ hostname: '127.0.0.1', port: cam.state.http, username: 'admin', password: 'wrong', autoconnect: false });
    await call<Date>((cb) => client.getSystemDateAndTime(cb));
    await expect(call((cb) => client.getDeviceInformation(cb))).rejects.toThrow(/Sender not Authorized/);
    expect(cam.state.counters.authFailures).toBe(1);
  });
});

describe('IpCameraSimulator device service', () => {
  it('serves the time without authentication and the identity only with a token', async () => {
    const cam = await camera({ serial: '0012345678', firmware: 'V5.70' });
    const t = await soap(cam, buildGetSystemDateAndTime());
    expect(t.status).toBe(200);
    expect(t.headers.get('content-type')).toMatch(/^application\/soap\+xml/);
    const time = parseGetSystemDateAndTimeResponse(await t.text());
    expect(time.ok && Math.abs(time.value.utc.getTime() - Date.now())).toBeLessThan(2000);

    const anon = await soap(cam, buildGetDeviceInformation());
    expect(anon.status).toBe(400);
    const env = parseEnvelope(await anon.text());
    const fault = env.ok ? parseFault(env.value) : undefined;
    expect(fault && faultHas(fault, FaultSubcode.notAuthorized)).toBe(true);

    const authed = await soap(cam, buildGetDeviceInformation(usernameTokenHeader({ username: 'admin', password: 'Secret-1' })));
    expect(authed.status).toBe(200);
    expect(parseGetDeviceInformationResponse(await authed.text())).toEqual({
      ok: true,
      value: { manufacturer: 'Vigil Sim', model: 'VC-2000', firmwareVersion: 'V5.70', serialNumber: '0012345678', hardwareId: '1.0' },
    });
  });

  it('refuses a token created outside the time window, malformed XML and unknown operations', async () => {
    const cam = await camera();
    const old = usernameTokenHeader({ username: 'admin', password: 'Secret-1', now: new Date(Date.now() - 10 * 60_000) });
    expect((await soap(cam, buildGetDeviceInformation(old))).status).toBe(400);
    const bad = await soap(cam, '<s:Envelope><s:Body>');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('ter:WellFormed');
    const unknown = await soap(cam, buildGetSystemDateAndTime().replace(/GetSystemDateAndTime/g, 'GetScopes'));
    expect(unknown.status).toBe(500);
    expect(await unknown.text()).toContain('ter:ActionNotSupported');
  });
});

describe('IpCameraSimulator WS-Discovery', () => {
  it('answers a unicast Probe with its device service address, and ignores Probes for other types', async () => {
    const cam = await camera();
    const s = await prober();
    const other = newMessageId();
    const wanted = newMessageId();
    const answered = once(cam, 'probe');
    s.send(buildProbe({ messageId: other, types: ['dn:NetworkVideoDisplay'] }), cam.state.discovery, '127.0.0.1');
    expect(await answered).toEqual([other, false]);
    s.send(buildProbe({ messageId: wanted }), cam.state.discovery, '127.0.0.1');
    const m = await nextMatches(s);
    expect(m.relatesTo).toBe(wanted);
    expect(m.matches).toEqual([
      expect.objectContaining({
        endpointReference: endpointReferenceFor('SIM0001'),
        xAddrs: [`http://127.0.0.1:${cam.state.http}/onvif/device_service`],
        types: ['dn:NetworkVideoTransmitter', 'tds:Device'],
      }),
    ]);
    expect(m.matches[0]!.scopes).toContain('onvif://www.onvif.org/name/Camera%20SIM0001');
    expect(cam.state.counters).toMatchObject({ probes: 2, probeMatchesSent: 1 });
  });

  it('delays answers by the configured latency', async () => {
    // A latency well above what a loaded machine adds to a loopback request, so the two cases stay apart.
    const cam = await camera({ latencyMs: 400 });
    const s = await prober();
    const t0 = performance.now();
    s.send(buildProbe(), cam.state.discovery, '127.0.0.1');
    await nextMatches(s);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    cam.setLatency(0);
    const t1 = performance.now();
    expect((await soap(cam, buildGetSystemDateAndTime())).status).toBe(200);
    expect(performance.now() - t1).toBeLessThan(390);
  });
});

describe('IpCameraSimulator reachability', () => {
  it('ignores Probes and holds SOAP requests while unreachable, answers again afterwards', async () => {
    const cam = await camera();
    const s = await prober();
    cam.setReachable(false);
    const lost = newMessageId();
    const droppedUdp = once(cam, 'dropped');
    s.send(buildProbe({ messageId: lost }), cam.state.discovery, '127.0.0.1');
    expect(await droppedUdp).toEqual(['udp']);

    const droppedHttp = once(cam, 'dropped');
    const held = soap(cam, buildGetSystemDateAndTime());
    expect(await droppedHttp).toEqual(['http']);
    cam.setReachable(true);
    // The held connection is cut when the link returns, never answered late.
    await expect(held).rejects.toThrow();

    const back = newMessageId();
    s.send(buildProbe({ messageId: back }), cam.state.discovery, '127.0.0.1');
    expect((await nextMatches(s)).relatesTo).toBe(back);
    expect(cam.state.counters.dropped).toBe(2);
  });

  it('is driven through the control endpoint', async () => {
    const cam = await camera();
    const base = `http://127.0.0.1:${cam.state.http}/__sim`;
    const post = (body: string) => fetch(`${base}/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const r = await post(JSON.stringify({ reachable: false, latencyMs: 25 }));
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ reachable: false, latencyMs: 25, serial: 'SIM0001' });
    const state = (await (await fetch(`${base}/state`)).json()) as { reachable: boolean; http: number };
    expect(state).toMatchObject({ reachable: false, http: cam.state.http });
    expect((await post('{"latencyMs":-1}')).status).toBe(400);
    expect((await post('{"reachable":"no"}')).status).toBe(400);
    expect((await post('{"other":1}')).status).toBe(400);
    expect((await post('not json')).status).toBe(400);
    expect(cam.state.latencyMs).toBe(25);
    expect((await post('{"reachable":true}')).status).toBe(200);
    expect(cam.state.reachable).toBe(true);
  });
});

describe('IpCameraSimulator lifecycle', () => {
  it('releases its sockets on stop, also with a request held open', async () => {
    // Closed handles leave the list in the event loop's close phase, one turn after their 'close' events.
    const handles = async () => {
      await new Promise(setImmediate);
      await new Promise(setImmediate);
      return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'UDPWrap').length;
    };
    const before = await handles();
    const cam = new IpCameraSimulator({ serial: 'SIM0002', latencyMs: 10_000 });
    const { http, discovery } = await cam.start();
    expect(http).toBeGreaterThan(0);
    expect(discovery).toBeGreaterThan(0);
    const s = await prober();
    const probed = once(cam, 'probe');
    s.send(buildProbe(), discovery, '127.0.0.1');
    await probed;
    await new Promise<void>((resolve) => s.close(resolve));
    sockets.splice(0);
    const droppedHttp = once(cam, 'dropped');
    cam.setReachable(false);
    const held = soap(cam, buildGetSystemDateAndTime()).catch((e: unknown) => e);
    await droppedHttp;
    await cam.stop();
    expect(await held).toBeInstanceOf(Error);
    expect(cam.state.running).toBe(false);
    expect(await handles()).toBe(before);
    await expect(fetch(`http://127.0.0.1:${http}/__sim/state`)).rejects.toThrow();
  });

  it('fails to start on a port in use, and keeps nothing open', async () => {
    const a = await camera();
    const b = new IpCameraSimulator({ serial: 'SIM0003', httpPort: a.state.http });
    await expect(b.start()).rejects.toThrow(/EADDRINUSE/);
    expect(b.state.running).toBe(false);
  });
});

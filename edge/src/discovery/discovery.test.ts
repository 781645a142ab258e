import { afterEach, describe, expect, it } from 'vitest';
import { DeviceReportSchema, decoder } from '@vigil/protocol';
import { IpCameraSimulator } from '@vigil/simulators';
import { deviceIdFromSerial, deviceServiceAddress, discoverDevices, type ProbeTarget } from './index.js';

const started: IpCameraSimulator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop()));
});

async function camera(opts: Partial<ConstructorParameters<typeof IpCameraSimulator>[0]> & { serial: string }) {
  const cam = new IpCameraSimulator({ password: 'Site-pass-1', ...opts });
  started.push(cam);
  await cam.start();
  return cam;
}

const target = (cam: IpCameraSimulator): ProbeTarget => ({ host: '127.0.0.1', port: cam.state.discovery });
const validReport = decoder(DeviceReportSchema);
const creds = { username: 'admin', password: 'Site-pass-1' };

describe('discoverDevices against simulated cameras', () => {
  it('finds two cameras with their identity', async () => {
    const a = await camera({ serial: '0012345678', model: 'VC-2000', firmware: 'V5.70 build 220127', name: 'Front door', manufacturer: 'Acme' });
    const b = await camera({ serial: 'SIM-B/02', model: 'VC-3000', firmware: '2.0.1' });
    const before = Date.now();
    const found = await discoverDevices({ ...creds, targets: [target(a), target(b)], timeoutMs: 3000 });
    const bySerial = Object.fromEntries(found.map((d) => [d.serial, d]));
    expect(found).toHaveLength(2);
    expect(bySerial['0012345678']).toEqual({
      deviceId: '0012345678',
      kind: 'camera',
      protocol: 'onvif',
      manufacturer: 'Acme',
      model: 'VC-2000',
      serial: '0012345678',
      firmware: 'V5.70 build 220127',
      name: 'Front door',
      host: '127.0.0.1',
      port: a.state.http,
      online: true,
      lastSeenAt: expect.any(Number),
    });
    expect(bySerial['SIM-B/02']).toMatchObject({ deviceId: 'SIM-B-02', model: 'VC-3000', firmware: '2.0.1', name: 'Camera SIM-B/02', port: b.state.http });
    for (const d of found) {
      expect(validReport.decode(d).ok).toBe(true);
      expect(d.lastSeenAt).toBeGreaterThanOrEqual(before);
    }
    // The whole round, probe plus identification, happened over the real sockets.
    expect(a.state.counters).toMatchObject({ probeMatchesSent: 1, soapRequests: 2, authFailures: 0 });
  });

  it('leaves out a camera whose password differs', async () => {
    const good = await camera({ serial: 'GOOD0001' });
    const other = await camera({ serial: 'OTHER0001', password: 'not-the-site-password' });
    const found = await discoverDevices({ ...creds, targets: [target(good), target(other)], timeoutMs: 3000 });
    expect(found.map((d) => d.serial)).toEqual(['GOOD0001']);
    // It was reached and refused us, rather than not answering.
    expect(other.state.counters).toMatchObject({ probeMatchesSent: 1, authFailures: 1 });
  });

  it('leaves out an unreachable camera and still ends within timeoutMs', async () => {
    const up = await camera({ serial: 'UP000001' });
    const down = await camera({ serial: 'DOWN0001' });
    down.setReachable(false);
    const t0 = performance.now();
    // Room for a loaded machine both ways: the camera that is up answers well inside the deadline, and the search
    // ends near it rather than waiting on the one that is down.
    const found = await discoverDevices({ ...creds, targets: [target(up), target(down)], timeoutMs: 1000 });
    const took = performance.now() - t0;
    expect(found.map((d) => d.serial)).toEqual(['UP000001']);
    expect(took).toBeLessThan(1000 + 500);
    // The Probe and its one repetition were ignored.
    expect(down.state.counters).toMatchObject({ dropped: 2, probeMatchesSent: 0 });
  });

  it('gives up on a camera that answers the Probe but hangs over HTTP, at the deadline', async () => {
    const cam = await camera({ serial: 'HANG0001' });
    // The link dies right after the ProbeMatches has gone out, before the SOAP requests come.
    cam.once('probe', () => queueMicrotask(() => cam.setReachable(false)));
    const t0 = performance.now();
    const found = await discoverDevices({ ...creds, targets: [target(cam)], timeoutMs: 500 });
    expect(found).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(500 + 500);
    expect(cam.state.counters).toMatchObject({ probeMatchesSent: 1, dropped: 1, soapRequests: 0 });
  });

  it('counts latency against the deadline', async () => {
    const slow = await camera({ serial: 'SLOW0001', latencyMs: 400 });
    const fast = await discoverDevices({ ...creds, targets: [target(slow)], timeoutMs: 5000 });
    expect(fast.map((d) => d.serial)).toEqual(['SLOW0001']);
    const tooShort = await discoverDevices({ ...creds, targets: [target(slow)], timeoutMs: 300 });
    expect(tooShort).toEqual([]);
  });

  it('returns nothing for no targets, a closed port or an unusable target, without throwing', async () => {
    expect(await discoverDevices({ ...creds, targets: [], timeoutMs: 200 })).toEqual([]);
    const cam = await camera({ serial: 'GONE0001' });
    const port = cam.state.discovery;
    await cam.stop();
    const found = await discoverDevices({
      ...creds,
      targets: [{ host: '127.0.0.1', port }, { host: '', port: 3702 }, { host: '127.0.0.1', port: 0 }],
      timeoutMs: 300,
    });
    expect(found).toEqual([]);
  });
});

describe('discovery helpers', () => {
  it('derives device ids from serials', () => {
    expect(deviceIdFromSerial('DS-2CD2143G0-I20210101AAWRF12345678')).toBe('DS-2CD2143G0-I20210101AAWRF12345678');
    expect(deviceIdFromSerial(' AB/12 34 ')).toBe('AB-12-34');
    expect(deviceIdFromSerial('--x')).toBe('x');
    expect(deviceIdFromSerial('///')).toBeUndefined();
    expect(deviceIdFromSerial('a'.repeat(300))).toHaveLength(128);
  });

  it('picks the plain-HTTP XAddr on the probed host', () => {
    const x = ['https://10.0.0.5/onvif/device_service', 'http://[fe80::1]/onvif/device_service', 'http://10.0.0.5:8080/onvif/device_service'];
    expect(deviceServiceAddress(x, '10.0.0.5')).toEqual({ host: '10.0.0.5', port: 8080, path: '/onvif/device_service' });
    expect(deviceServiceAddress(x, '10.0.0.9')).toEqual({ host: 'fe80::1', port: 80, path: '/onvif/device_service' });
    expect(deviceServiceAddress(['not a url', 'ftp://x/y'], 'x')).toBeUndefined();
  });
});

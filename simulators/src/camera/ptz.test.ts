import onvif from 'onvif';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FaultSubcode,
  PtzFaultSubcode,
  buildContinuousMove,
  buildGetCapabilities,
  buildProfileTokenRequest,
  buildPresetRequest,
  faultHas,
  parseEnvelope,
  parseFault,
  parseGetCapabilitiesResponse,
  parseGetStatusResponse,
  usernameTokenHeader,
} from '@vigil/protocol/onvif';
import { IpCameraSimulator } from './ip-camera.js';

const started: IpCameraSimulator[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop()));
});

/** A camera whose clock a test moves by hand, so that positions are exact. */
async function camera(opts: Partial<ConstructorParameters<typeof IpCameraSimulator>[0]> = {}) {
  const clock = { now: Date.UTC(2026, 11, 2, 12, 0, 0) };
  const cam = new IpCameraSimulator({ serial: 'PTZ0001', password: 'Secret-1', ptz: true, clock: () => clock.now, ...opts });
  started.push(cam);
  await cam.start();
  return { cam, clock };
}

type CamCallback<T> = (err: Error | null, data?: T) => void;
const call = <T>(fn: (cb: CamCallback<T>) => void) =>
  new Promise<T>((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data as T))));

async function connect(cam: IpCameraSimulator) {
  const client = new onvif.Cam({ hostname: '127.0.0.1', port: cam.state.http, username: 'admin', password: 'Secret-1', autoconnect: false });
  await call((cb) => client.connect(cb));
  return client;
}

interface ClientStatus {
  position: { x: number; y: number; zoom: number };
  moveStatus: { panTilt: string; zoom: string };
}

const soap = (cam: IpCameraSimulator, url: string, body: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body });
/** A token stamped with the camera's idea of now (the host clock unless given). */
const auth = (now?: number) => usernameTokenHeader({ username: 'admin', password: 'Secret-1', ...(now === undefined ? {} : { now: new Date(now) }) });

async function faultOf(res: Response) {
  const env = parseEnvelope(await res.text());
  return env.ok ? parseFault(env.value) : undefined;
}

describe('IpCameraSimulator PTZ with the onvif npm client', () => {
  it('advertises the PTZ service and a PTZ configuration on its profiles', async () => {
    const { cam } = await camera();
    const client = await connect(cam);
    expect(client.uri?.ptz?.path).toBe('/onvif/ptz_service');
    expect(client.activeSource?.ptz).toEqual({ name: 'PTZ', token: 'PTZConfig_1' });
    const nodes = await call<Record<string, { name: string; maximumNumberOfPresets: number }>>((cb) => client.getNodes(cb));
    expect(nodes['PTZNode_1']).toMatchObject({ name: 'PTZ', maximumNumberOfPresets: 256 });
    const configs = await call<Record<string, { token: string; nodeToken: string; useCount: number }>>((cb) => client.getConfigurations(cb));
    expect(configs['PTZ']).toMatchObject({ token: 'PTZConfig_1', nodeToken: 'PTZNode_1', useCount: 2 });
  });

  it('moves with the velocity over the camera’s time, stops, and clamps at the limits', async () => {
    const { cam, clock } = await camera();
    const client = await connect(cam);
    const status = () => call<ClientStatus>((cb) => client.getStatus({}, cb));
    expect((await status()).position).toEqual({ x: 0, y: 0, zoom: 0 });

    await call((cb) => client.continuousMove({ x: 0.5, y: -0.2, zoom: 1 }, cb));
    clock.now += 2_000;
    // Full velocity is 0.5 a second for pan and tilt, 0.25 for zoom.
    const moving = await status();
    expect(moving.position.x).toBeCloseTo(0.5);
    expect(moving.position.y).toBeCloseTo(-0.2);
    expect(moving.position.zoom).toBeCloseTo(0.5);
    expect(moving.moveStatus).toEqual({ panTilt: 'MOVING', zoom: 'MOVING' });

    await call((cb) => client.stop({}, cb));
    clock.now += 5_000;
    const stopped = await status();
    expect(stopped.position.x).toBeCloseTo(0.5);
    expect(stopped.moveStatus).toEqual({ panTilt: 'IDLE', zoom: 'IDLE' });

    // Timeouts end a move by themselves; positions never leave −1..1 (pan, tilt) and 0..1 (zoom).
    await call((cb) => client.continuousMove({ x: 1, y: 1, zoom: -1, timeout: 60_000 }, cb));
    clock.now += 30_000;
    expect((await status()).position).toEqual({ x: 1, y: 1, zoom: 0 });
    expect((await status()).moveStatus).toEqual({ panTilt: 'IDLE', zoom: 'IDLE' });
    await call((cb) => client.continuousMove({ x: -1, y: 0, timeout: 1_000 }, cb));
    clock.now += 10_000;
    expect((await status()).position.x).toBeCloseTo(0.5);
  });

  it('saves, lists, goes to and removes presets; an unknown preset is ter:NoToken', async () => {
    const { cam, clock } = await camera();
    const client = await connect(cam);
    await call((cb) => client.continuousMove({ x: 0.4, y: 0.2, zoom: 0.8 }, cb));
    clock.now += 1_000;
    await call((cb) => client.stop({}, cb));
    // The client hands back the raw body: [{setPresetResponse: [{presetToken: ['1']}]}].
    const saved = await call<[{ setPresetResponse: [{ presetToken: [string] }] }]>((cb) => client.setPreset({ presetName: 'Door' }, cb));
    const token = saved[0].setPresetResponse[0].presetToken[0];
    await call((cb) => client.continuousMove({ x: -1, y: -1, zoom: 0 }, cb));
    clock.now += 1_000;
    await call((cb) => client.stop({}, cb));

    const presets = await call<Record<string, { $: { token: string }; PTZPosition: { panTilt: { $: { x: number; y: number } }; zoom: { $: { x: number } } } }>>((cb) =>
      client.getPresets({}, cb),
    );
    expect(Object.keys(presets)).toEqual(['Door']);
    // The client reads numeric-looking text as numbers.
    expect(String(presets['Door']!.$.token)).toBe(token);
    expect(presets['Door']!.PTZPosition.panTilt.$).toEqual({ x: 0.2, y: 0.1, space: expect.stringContaining('PositionGenericSpace') });

    await call((cb) => client.gotoPreset({ preset: token }, cb));
    const at = await call<ClientStatus>((cb) => client.getStatus({}, cb));
    expect(at.position.x).toBeCloseTo(0.2);
    expect(at.position.y).toBeCloseTo(0.1);
    expect(at.position.zoom).toBeCloseTo(0.2);

    await expect(call((cb) => client.gotoPreset({ preset: '99' }, cb))).rejects.toThrow(/preset token 99 does not exist/);
    await call((cb) => client.removePreset({ presetToken: token }, cb));
    expect(await call((cb) => client.getPresets({}, cb))).toEqual({});
    await expect(call((cb) => client.removePreset({ presetToken: token }, cb))).rejects.toThrow(/does not exist/);

    const res = await soap(cam, cam.ptzServiceUrl, buildPresetRequest('GotoPreset', { profileToken: 'Profile_1', presetToken: token }, auth(clock.now)));
    expect(res.status).toBe(400);
    expect((await faultOf(res))?.subcodes).toEqual([FaultSubcode.invalidArgVal, PtzFaultSubcode.noToken]);
  });
});

describe('IpCameraSimulator PTZ over raw SOAP', () => {
  it('refuses PTZ without a head, bad velocities, unknown profiles and requests without credentials', async () => {
    // The tokens below are stamped with the host clock, so these cameras keep it.
    const { cam: fixed } = await camera({ serial: 'FIX0001', ptz: false, clock: Date.now });
    const caps = parseGetCapabilitiesResponse(await (await soap(fixed, fixed.deviceServiceUrl, buildGetCapabilities())).text());
    expect(caps.ok && caps.value.ptz).toBeUndefined();
    expect(caps.ok && caps.value.events).toBe(fixed.eventsServiceUrl);
    const off = await soap(fixed, fixed.ptzServiceUrl, buildProfileTokenRequest('GetStatus', 'Profile_1', auth()));
    expect(off.status).toBe(500);
    const offFault = await faultOf(off);
    expect(offFault && faultHas(offFault, FaultSubcode.actionNotSupported)).toBe(true);

    const { cam } = await camera({ clock: Date.now });
    const moveCaps = parseGetCapabilitiesResponse(await (await soap(cam, cam.deviceServiceUrl, buildGetCapabilities())).text());
    expect(moveCaps.ok && moveCaps.value.ptz).toBe(cam.ptzServiceUrl);
    const fast = await soap(cam, cam.ptzServiceUrl, buildContinuousMove({ profileToken: 'Profile_1', velocity: { pan: 2, tilt: 0 } }, auth()));
    expect(fast.status).toBe(400);
    expect((await faultOf(fast))?.subcodes).toEqual([FaultSubcode.invalidArgVal, PtzFaultSubcode.invalidVelocity]);
    const nowhere = await soap(cam, cam.ptzServiceUrl, buildProfileTokenRequest('GetStatus', 'Profile_9', auth()));
    expect(await nowhere.text()).toContain('Profile_9 does not exist');
    const anon = await soap(cam, cam.ptzServiceUrl, buildContinuousMove({ profileToken: 'Profile_1', velocity: { zoom: 1 } }));
    expect(anon.status).toBe(400);
    const anonFault = await faultOf(anon);
    expect(anonFault && faultHas(anonFault, FaultSubcode.notAuthorized)).toBe(true);

    const status = parseGetStatusResponse(await (await soap(cam, cam.ptzServiceUrl, buildProfileTokenRequest('GetStatus', 'Profile_2', auth()))).text());
    expect(status.ok && status.value).toMatchObject({ position: { pan: 0, tilt: 0, zoom: 0 }, panTilt: 'IDLE', zoom: 'IDLE' });
  });
});

import { DeviceHost, type SimDevice } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { IsapiRecorderChannel, type RecorderTarget } from './devices.js';
import { cameraOf, ingestAndSessions, SMALL, startCamera } from './test/cameras.js';
import { binaries, boxTypes, texts } from './test/ingest.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const CODE = 'ABCDEF';

describe('an encrypted camera', () => {
  it('needs the verification code for its stream and snapshot, and refuses a wrong one', async () => {
    const cam = await startCamera(cleanups, { encryption: true, verificationCode: CODE });
    const { ingest, sessions } = await ingestAndSessions(cleanups);
    const device = cameraOf(cam);
    const source = { kind: 'camera' as const, deviceKey: 'k' };
    expect(await sessions.open(ingest.params({ source }), device)).toMatchObject({ ok: false, code: 'VERIFICATION_CODE_REQUIRED' });
    expect(await sessions.open(ingest.params({ source, verificationCode: 'WRONG1' }), device)).toMatchObject({ ok: false, code: 'VERIFICATION_CODE_WRONG' });
    await expect(device.snapshot('main')).rejects.toMatchObject({ code: 'VERIFICATION_CODE_REQUIRED' });
    await expect(device.snapshot('main', 'WRONG1')).rejects.toMatchObject({ code: 'VERIFICATION_CODE_WRONG' });
    expect((await device.snapshot('main', CODE)).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

    const p = ingest.params({ source, verificationCode: CODE });
    expect(await sessions.open(p, device)).toMatchObject({ ok: true });
    await ingest.waitFor('a fragment', () => binaries(ingest.connections.get(p.sessionId)).length >= 2);
  }, 60_000);
});

describe('PTZ through ONVIF', () => {
  it('moves, stops, saves and recalls presets, and re-reads the camera clock after it jumped', async () => {
    let offsetMs = 0;
    const cam = await startCamera(cleanups, { ptz: true, clock: () => Date.now() + offsetMs });
    const device = cameraOf(cam);
    expect(await device.ptz({ type: 'presets' })).toMatchObject({ presets: [] });
    const moved = await device.ptz({ type: 'move', pan: 1, tilt: 0, zoom: 0 });
    expect(moved.position).not.toBeNull();
    await new Promise((r) => setTimeout(r, 300));
    const stopped = await device.ptz({ type: 'stop' });
    expect(stopped.position!.pan).toBeGreaterThan(0);
    const saved = await device.ptz({ type: 'setPreset', name: 'Door' });
    expect(saved.presets.map((p) => p.name)).toEqual(['Door']);
    // The camera's clock jumps an hour (a reboot without time sync): its signatures fail until the box re-reads it.
    offsetMs = 3_600_000;
    await device.ptz({ type: 'move', pan: -1, tilt: 0, zoom: 0 });
    await device.ptz({ type: 'stop' });
    const back = await device.ptz({ type: 'gotoPreset', preset: 'Door' });
    expect(back.position!.pan).toBeCloseTo(stopped.position!.pan, 1);
    await expect(device.ptz({ type: 'gotoPreset', preset: 'Nowhere' })).rejects.toMatchObject({ code: 'MEDIA_PTZ_UNSUPPORTED' });
  }, 30_000);

  it('refuses PTZ on a camera without a head', async () => {
    const cam = await startCamera(cleanups);
    await expect(cameraOf(cam).ptz({ type: 'presets' })).rejects.toMatchObject({ code: 'MEDIA_PTZ_UNSUPPORTED' });
  }, 30_000);
});

describe('a recorder channel over ISAPI and RTSP', () => {
  const PW = 'Abcd1234!';
  async function startDvr(encryption = false): Promise<SimDevice> {
    const host = new DeviceHost({
      sadpPort: 0,
      wsdPort: 0,
      multicast: false,
      devices: [
        {
          class: 'dvr',
          activated: true,
          password: PW,
          verificationCode: CODE,
          encryption,
          channelStreams: { main: SMALL, sub: SMALL },
          recordingHours: 6,
          recordingGaps: [{ from: -60, to: -40 }],
        },
      ],
    });
    await host.start();
    cleanups.push(() => host.stop());
    return host.devices[0]!;
  }
  const targetOf = (d: SimDevice, channel = 1): RecorderTarget => ({ kind: 'recorder', serial: d.serial, ip: '127.0.0.1', httpPort: d.endpoints.httpPort, password: PW, channel });

  it('streams live, lists recordings with their gap, and plays a clip to its end', async () => {
    const dvr = await startDvr();
    const { ingest, sessions } = await ingestAndSessions(cleanups);
    const device = new IsapiRecorderChannel(targetOf(dvr));
    const source = { kind: 'recorder' as const, recorder: { serial: dvr.serial, ip: '127.0.0.1', httpPort: dvr.endpoints.httpPort, password: PW }, channel: 1 };

    const live = ingest.params({ source });
    expect(await sessions.open(live, device)).toMatchObject({ ok: true, start: { format: 'fmp4' } });
    await ingest.waitFor('live fragments', () => binaries(ingest.connections.get(live.sessionId)).length >= 2);

    const now = Date.now();
    const found = await device.recordings(now - 3 * 3_600_000, now);
    expect(found.truncated).toBe(false);
    expect(found.segments.length).toBeGreaterThan(0);
    const gapStart = now - 60 * 60_000;
    const gapEnd = now - 40 * 60_000;
    expect(found.segments.some((s) => Date.parse(s.from) < gapEnd - 60_000 && Date.parse(s.to) > gapStart + 60_000)).toBe(false);

    const inGap = ingest.params({ source, mode: { kind: 'playback', from: new Date(now - 50 * 60_000).toISOString() } });
    expect(await sessions.open(inGap, device)).toMatchObject({ ok: false, code: 'MEDIA_NO_RECORDING' });

    const from = new Date(now - 2 * 3_600_000);
    const clip = ingest.params({ source, mode: { kind: 'clip', from: from.toISOString(), to: new Date(from.getTime() + 3_000).toISOString() } });
    expect(await sessions.open(clip, device)).toMatchObject({ ok: true, start: { format: 'fmp4', startsAt: from.toISOString() } });
    const c = await ingest.waitFor('the clip and its end', () => {
      const conn = ingest.connections.get(clip.sessionId);
      return texts(conn).some((m) => m.type === 'end') && conn;
    }, 40_000);
    const file = Buffer.concat(binaries(c));
    expect(boxTypes(file).slice(0, 4)).toEqual(['ftyp', 'moov', 'moof', 'mdat']);
    await ingest.waitFor('the clip ingest closed', () => c.closed);
  }, 90_000);

  it('wants the verification code of an encrypted recorder', async () => {
    const dvr = await startDvr(true);
    const { ingest, sessions } = await ingestAndSessions(cleanups);
    const device = new IsapiRecorderChannel(targetOf(dvr));
    const source = { kind: 'recorder' as const, recorder: { serial: dvr.serial, ip: '127.0.0.1', httpPort: dvr.endpoints.httpPort, password: PW }, channel: 1 };
    expect(await sessions.open(ingest.params({ source }), device)).toMatchObject({ ok: false, code: 'VERIFICATION_CODE_REQUIRED' });
    expect(await sessions.open(ingest.params({ source, verificationCode: 'WRONG1' }), device)).toMatchObject({ ok: false, code: 'VERIFICATION_CODE_WRONG' });
    expect(await sessions.open(ingest.params({ source, verificationCode: CODE }), device)).toMatchObject({ ok: true });
    const wrongPassword = new IsapiRecorderChannel({ ...targetOf(dvr), password: 'Nope1234!' });
    expect(await sessions.open(ingest.params({ source }), wrongPassword)).toMatchObject({ ok: false, code: 'MEDIA_LOGIN_FAILED' });
  }, 60_000);
});

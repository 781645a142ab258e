import { afterEach, describe, expect, it } from 'vitest';
import { quietLog } from '../test/util.js';
import { OnvifCamera, type VideoDevice } from './devices.js';
import { MediaSessions } from './sessions.js';
import { cameraOf, ingestAndSessions, SMALL, startCamera } from './test/cameras.js';
import { alive, binaries, boxTypes, INGEST_TOKEN, TestIngest, texts } from './test/ingest.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('media sessions against a simulated camera and real ffmpeg', () => {
  it('sends fMP4 (init, then fragments) with the right mime, shares one ffmpeg, and stops it with the last session', async () => {
    const cam = await startCamera(cleanups);
    const { ingest, sessions } = await ingestAndSessions(cleanups);
    const device = cameraOf(cam);
    const a = ingest.params({ source: { kind: 'camera', deviceKey: 'k' } });
    const opened = await sessions.open(a, device);
    expect(opened).toMatchObject({ ok: true, shared: false, start: { format: 'fmp4', sourceCodec: 'h264', transcoded: false, audio: 'none' } });

    const first = await ingest.waitFor('two fragments', () => {
      const c = ingest.connections.get(a.sessionId);
      return binaries(c).length >= 3 && c;
    });
    expect(first.authorization).toBe(`Bearer ${INGEST_TOKEN}`);
    const [start] = texts(first);
    expect(start).toMatchObject({ type: 'start', format: 'fmp4', width: 320, height: 180, audio: 'none' });
    const [init, frag1, frag2] = binaries(first);
    // The profile, constraints and level bytes of the avcC record the encoder wrote.
    const avcC = init!.indexOf('avcC', 0, 'latin1');
    const avc1 = [...init!.subarray(avcC + 5, avcC + 8)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('');
    expect((start as { mime: string }).mime).toBe(`video/mp4; codecs="avc1.${avc1}"`);
    expect(boxTypes(init!)).toEqual(['ftyp', 'moov']);
    expect(boxTypes(frag1!)).toEqual(['moof', 'mdat']);
    expect(boxTypes(frag2!)).toEqual(['moof', 'mdat']);

    const b = ingest.params({ source: { kind: 'camera', deviceKey: 'k' } });
    expect(await sessions.open(b, device)).toMatchObject({ ok: true, shared: true });
    const second = await ingest.waitFor('the joining session', () => {
      const c = ingest.connections.get(b.sessionId);
      return binaries(c).length >= 2 && c;
    });
    expect(texts(second)[0]).toEqual(start);
    expect(binaries(second)[0]!.equals(init!)).toBe(true);
    expect(boxTypes(binaries(second)[1]!)).toEqual(['moof', 'mdat']);
    expect(sessions.ffmpegPids).toHaveLength(1);
    const pid = sessions.ffmpegPids[0]!;

    expect(sessions.close(a.sessionId)).toBe(true);
    await ingest.waitFor('the first ingest closed', () => ingest.connections.get(a.sessionId)?.closed);
    expect(alive(pid)).toBe(true);
    expect(sessions.close(b.sessionId)).toBe(true);
    expect(sessions.close(b.sessionId)).toBe(false);
    await ingest.waitFor('ffmpeg gone', () => !alive(pid), 10_000);
    expect(sessions.ffmpegPids).toEqual([]);
  }, 60_000);

  it('reports a dropped stream as stalled, then starts again with a new init segment', async () => {
    const cam = await startCamera(cleanups);
    const { ingest, sessions } = await ingestAndSessions(cleanups);
    const p = ingest.params({ source: { kind: 'camera', deviceKey: 'k' } });
    expect(await sessions.open(p, cameraOf(cam))).toMatchObject({ ok: true });
    await ingest.waitFor('a fragment', () => binaries(ingest.connections.get(p.sessionId)).length >= 2);
    const res = await fetch(`http://${cam.host}:${cam.endpoints.http}/__sim/control`, {
      method: 'POST',
      body: JSON.stringify({ dropStream: { stream: 'main', ms: 1500, mode: 'disconnect' } }),
    });
    expect(res.status).toBe(200);
    const c = await ingest.waitFor('stalled, start, init and a fragment again', () => {
      const conn = ingest.connections.get(p.sessionId);
      const r = conn?.received ?? [];
      const stalled = r.findIndex((m) => m.kind === 'text' && m.message.type === 'stalled');
      if (stalled < 0) return undefined;
      const after = r.slice(stalled + 1);
      const restarted = after.findIndex((m) => m.kind === 'text' && m.message.type === 'start');
      return restarted >= 0 && after.slice(restarted + 1).filter((m) => m.kind === 'binary').length >= 2 && { after: after.slice(restarted + 1) };
    }, 40_000);
    const again = c.after.flatMap((m) => (m.kind === 'binary' ? [m.data] : []));
    expect(boxTypes(again[0]!)).toEqual(['ftyp', 'moov']);
    expect(boxTypes(again[1]!)).toEqual(['moof', 'mdat']);
  }, 60_000);

  it('transcodes an H.265 stream to MPEG-1 in MPEG-TS', async () => {
    const cam = await startCamera(cleanups, { streams: { sub: { codec: 'h265' } } });
    const { ingest, sessions } = await ingestAndSessions(cleanups);
    const p = ingest.params({ source: { kind: 'camera', deviceKey: 'k' }, stream: 'sub' });
    expect(await sessions.open(p, cameraOf(cam))).toMatchObject({ ok: true, start: { format: 'mpegts', mime: 'video/mp2t', sourceCodec: 'h265', transcoded: true } });
    const c = await ingest.waitFor('MPEG-TS bytes', () => {
      const conn = ingest.connections.get(p.sessionId);
      return binaries(conn).reduce((n, b) => n + b.length, 0) > 20_000 && conn;
    }, 40_000);
    expect(texts(c)[0]).toMatchObject({ type: 'start', format: 'mpegts', width: 320, height: 180, audio: 'none' });
    for (const b of binaries(c)) {
      expect(b.length % 188).toBe(0);
      expect(b[0]).toBe(0x47);
    }
  }, 60_000);

  it('turns G.711 audio into AAC in the init segment', async () => {
    const cam = await startCamera(cleanups);
    cam.rtsp.addStream('/Streaming/Channels/201', { ...SMALL, audio: true });
    const url = `rtsp://${cam.host}:${cam.endpoints.rtsp}/Streaming/Channels/201`;
    // The camera's ONVIF profiles name only its two video streams: this device points at the audio one directly.
    const camera = cameraOf(cam);
    const device: VideoDevice = {
      key: 'audio',
      account: camera.account,
      streamUrl: () => Promise.resolve(url),
      snapshot: (s) => camera.snapshot(s),
      ptz: (a) => camera.ptz(a),
      hasPtz: () => camera.hasPtz(),
      recordings: () => camera.recordings(),
    };
    const { ingest, sessions } = await ingestAndSessions(cleanups);
    const p = ingest.params({ source: { kind: 'camera', deviceKey: 'k' } });
    expect(await sessions.open(p, device)).toMatchObject({ ok: true, start: { format: 'fmp4', audio: 'aac' } });
    const c = await ingest.waitFor('init and a fragment', () => {
      const conn = ingest.connections.get(p.sessionId);
      return binaries(conn).length >= 2 && conn;
    });
    expect((texts(c)[0] as { mime: string }).mime).toMatch(/^video\/mp4; codecs="avc1\.[0-9A-F]{6},mp4a\.40\.2"$/);
    expect(binaries(c)[0]!.includes('mp4a')).toBe(true);
  }, 60_000);

  it('refuses a wrong password with MEDIA_LOGIN_FAILED and an unreachable camera with MEDIA_DEVICE_UNREACHABLE', async () => {
    const cam = await startCamera(cleanups);
    const { ingest, sessions } = await ingestAndSessions(cleanups);
    const p = ingest.params({ source: { kind: 'camera', deviceKey: 'k' } });
    expect(await sessions.open(p, cameraOf(cam, 'wrong-password'))).toMatchObject({ ok: false, code: 'MEDIA_LOGIN_FAILED' });
    const gone = new OnvifCamera({ kind: 'camera', deviceKey: 'k', host: '127.0.0.1', port: 1, serial: 'X', username: 'admin', password: 'x' });
    expect(await sessions.open(ingest.params({ source: { kind: 'camera', deviceKey: 'k' } }), gone)).toMatchObject({ ok: false, code: 'MEDIA_DEVICE_UNREACHABLE' });
    expect(sessions.count).toBe(0);
    expect(sessions.ffmpegPids).toEqual([]);
  }, 30_000);

  it('refuses a stream beyond the box limit with MEDIA_BOX_BUSY, and ends a session whose ingest never connects', async () => {
    const cam = await startCamera(cleanups);
    const ingest = await TestIngest.start();
    cleanups.push(() => ingest.close());
    const sessions = new MediaSessions({ log: quietLog, maxPipelines: 1 });
    cleanups.push(() => sessions.closeAll());
    const device = cameraOf(cam);
    const main = ingest.params({ source: { kind: 'camera', deviceKey: 'k' } });
    expect(await sessions.open(main, device)).toMatchObject({ ok: true });
    expect(await sessions.open(ingest.params({ source: { kind: 'camera', deviceKey: 'k' }, stream: 'sub' }), device)).toMatchObject({ ok: false, code: 'MEDIA_BOX_BUSY' });
    // Joining the running stream needs no new ffmpeg.
    expect(await sessions.open(ingest.params({ source: { kind: 'camera', deviceKey: 'k' } }), device)).toMatchObject({ ok: true, shared: true });
    await sessions.closeAll();
    expect(sessions.count).toBe(0);

    const nowhere = { ...ingest.params({ source: { kind: 'camera', deviceKey: 'k' }, stream: 'sub' }), ingest: { url: 'ws://127.0.0.1:1/ingest', token: 'ingest-token-0123456789' } };
    expect(await sessions.open(nowhere, device)).toMatchObject({ ok: true });
    await ingest.waitFor('the session given up', () => sessions.count === 0 && sessions.ffmpegPids.length === 0, 20_000);
  }, 60_000);

  it('takes a JPEG snapshot', async () => {
    const cam = await startCamera(cleanups);
    const jpeg = await cameraOf(cam).snapshot('sub');
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    await expect(cameraOf(cam, 'nope').snapshot('sub')).rejects.toMatchObject({ code: 'MEDIA_LOGIN_FAILED' });
  }, 30_000);
});

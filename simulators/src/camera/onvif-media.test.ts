import { execFile } from 'node:child_process';
import onvif from 'onvif';
import { afterEach, describe, expect, it } from 'vitest';
import { DigestClient } from '@vigil/protocol';
import {
  FaultSubcode,
  NO_PROFILE_SUBCODE,
  buildGetProfiles,
  buildGetServices,
  buildGetStreamUri,
  faultHas,
  parseEnvelope,
  parseFault,
  parseGetProfilesResponse,
  usernameTokenHeader,
} from '@vigil/protocol/onvif';
import { IpCameraSimulator } from './ip-camera.js';

const started: IpCameraSimulator[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop()));
});

async function camera(opts: Partial<ConstructorParameters<typeof IpCameraSimulator>[0]> = {}) {
  const cam = new IpCameraSimulator({ serial: 'SIM0001', password: 'Secret-1', ...opts });
  started.push(cam);
  await cam.start();
  return cam;
}

type CamCallback<T> = (err: Error | null, data?: T) => void;
const call = <T>(fn: (cb: CamCallback<T>) => void) =>
  new Promise<T>((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data as T))));

/** A connected `onvif` client: connect() runs GetSystemDateAndTime, GetServices, GetProfiles and GetVideoSources. */
async function connect(cam: IpCameraSimulator, password = 'Secret-1') {
  const client = new onvif.Cam({ hostname: '127.0.0.1', port: cam.state.http, username: 'admin', password, autoconnect: false });
  const warnings: string[] = [];
  client.on('warning', (w: string) => warnings.push(w));
  await call((cb) => client.connect(cb));
  return { client, warnings };
}

interface ClientProfile {
  $: { token: string };
  name: string;
  videoEncoderConfiguration: { encoding: string; resolution: { width: number; height: number }; rateControl: Record<string, number> };
}

/** What ffprobe reads from an image given on its standard input. */
function ffprobe(image: Buffer): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const args = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', '-i', 'pipe:0'];
    const child = execFile('ffprobe', args, (err, stdout) => {
      if (err) return reject(err);
      resolve((JSON.parse(stdout) as { streams: unknown[] }).streams[0]);
    });
    child.stdin?.end(image);
  });
}

const soap = (cam: IpCameraSimulator, body: string) =>
  fetch(cam.mediaServiceUrl, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body });

describe('IpCameraSimulator media service with the onvif npm client', () => {
  it('lists the main and sub profiles and gives their stream and snapshot URIs', async () => {
    const cam = await camera({ streams: { sub: { codec: 'h265', width: 704, height: 576, fps: 12, bitrateKbps: 768 } } });
    const { client, warnings } = await connect(cam);
    expect(warnings).toEqual([]);
    expect(client.uri?.media?.path).toBe('/onvif/media_service');
    const profiles = client.profiles as ClientProfile[];
    expect(profiles.map((p) => [p.$.token, p.name, p.videoEncoderConfiguration.encoding])).toEqual([
      ['Profile_1', 'mainStream', 'H264'],
      ['Profile_2', 'subStream', 'H265'],
    ]);
    expect(profiles[0]?.videoEncoderConfiguration.resolution).toEqual({ width: 1920, height: 1080 });
    expect(profiles[0]?.videoEncoderConfiguration.rateControl).toMatchObject({ frameRateLimit: 25, bitrateLimit: 4096 });
    expect(profiles[1]?.videoEncoderConfiguration.resolution).toEqual({ width: 704, height: 576 });
    expect(profiles[1]?.videoEncoderConfiguration.rateControl).toMatchObject({ frameRateLimit: 12, bitrateLimit: 768 });
    expect(client.activeSource).toMatchObject({ profileToken: 'Profile_1', sourceToken: 'VideoSource_1', width: 1920, height: 1080 });

    const uris: Record<string, string> = {};
    for (const profileToken of ['Profile_1', 'Profile_2']) {
      const stream = await call<{ uri: string }>((cb) => client.getStreamUri({ profileToken, protocol: 'RTSP' }, cb));
      const snap = await call<{ uri: string }>((cb) => client.getSnapshotUri({ profileToken }, cb));
      uris[profileToken] = stream.uri;
      expect(snap.uri).toBe(`http://127.0.0.1:${cam.state.http}/onvif/snapshot?profile=${profileToken}`);
    }
    expect(uris).toEqual({
      Profile_1: `rtsp://127.0.0.1:${cam.endpoints.rtsp}/Streaming/Channels/101`,
      Profile_2: `rtsp://127.0.0.1:${cam.endpoints.rtsp}/Streaming/Channels/102`,
    });
  });

  it('serves the sub stream at the URI it gives, to the camera’s account only', async () => {
    const cam = await camera({ streams: { sub: { width: 320, height: 180, fps: 10 } } });
    const { client } = await connect(cam);
    const { uri } = await call<{ uri: string }>((cb) => client.getStreamUri({ profileToken: 'Profile_2', protocol: 'RTSP' }, cb));
    const probe = (url: string) =>
      new Promise<{ ok: boolean; stdout: string }>((resolve) =>
        execFile('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', url], { timeout: 15_000 }, (err, stdout) =>
          resolve({ ok: !err, stdout }),
        ),
      );
    const seen = await probe(uri.replace('rtsp://', 'rtsp://admin:Secret-1@'));
    expect(seen.ok).toBe(true);
    expect((JSON.parse(seen.stdout) as { streams: unknown[] }).streams).toEqual([{ codec_name: 'h264', width: 320, height: 180 }]);
    expect((await probe(uri.replace('rtsp://', 'rtsp://admin:wrong@'))).ok).toBe(false);

    // Made to drop through the control API, the stream is refused, then plays again once it is back.
    const control = (body: unknown) => fetch(`http://127.0.0.1:${cam.state.http}/__sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await control({ dropStream: { stream: 'sub', ms: 5_000, mode: 'bogus' } })).status).toBe(400);
    expect((await control({ dropStream: { stream: 'sub', ms: 1_500 } })).status).toBe(200);
    expect((await probe(uri.replace('rtsp://', 'rtsp://admin:Secret-1@'))).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 1_600));
    expect((await probe(uri.replace('rtsp://', 'rtsp://admin:Secret-1@'))).ok).toBe(true);
  });

  it('withholds the profiles from a client with a wrong password', async () => {
    const cam = await camera();
    const { client, warnings } = await connect(cam, 'wrong');
    // The client still "connects" (the clock and services need no credentials) but gets no media.
    expect(client.profiles).toEqual([]);
    expect(warnings.join()).toMatch(/Sender not Authorized/);
    await expect(call((cb) => client.getStreamUri({ profileToken: 'Profile_1' }, cb))).rejects.toThrow(/Sender not Authorized/);
    expect(cam.state.counters.authFailures).toBeGreaterThanOrEqual(3);
  });

  it('answers an unknown profile token with ter:InvalidArgVal/ter:NoProfile', async () => {
    const cam = await camera();
    const { client } = await connect(cam);
    await expect(call((cb) => client.getStreamUri({ profileToken: 'Profile_9' }, cb))).rejects.toThrow(/Profile_9 does not exist/);
    await expect(call((cb) => client.getSnapshotUri({ profileToken: 'Profile_9' }, cb))).rejects.toThrow(/Profile_9 does not exist/);

    const res = await soap(cam, buildGetStreamUri({ profileToken: 'nope' }, usernameTokenHeader({ username: 'admin', password: 'Secret-1' })));
    expect(res.status).toBe(400);
    const env = parseEnvelope(await res.text());
    const fault = env.ok ? parseFault(env.value) : undefined;
    expect(fault?.subcodes).toEqual([FaultSubcode.invalidArgVal, NO_PROFILE_SUBCODE]);
  });
});

describe('IpCameraSimulator media service over raw SOAP', () => {
  it('answers GetServices without credentials and GetProfiles only with them', async () => {
    const cam = await camera();
    const services = await soap(cam, buildGetServices(true));
    expect(services.status).toBe(200);
    const text = await services.text();
    expect(text).toContain('<tds:Namespace>http://www.onvif.org/ver10/media/wsdl</tds:Namespace>');
    expect(text).toContain('SnapshotUri="true"');
    const anon = await soap(cam, buildGetProfiles());
    expect(anon.status).toBe(400);
    const env = parseEnvelope(await anon.text());
    const fault = env.ok ? parseFault(env.value) : undefined;
    expect(fault && faultHas(fault, FaultSubcode.notAuthorized)).toBe(true);
  });

  it('refuses stream options no profile could describe', () => {
    expect(() => new IpCameraSimulator({ serial: 'S', streams: { main: { width: 0 } } })).toThrow(RangeError);
    expect(() => new IpCameraSimulator({ serial: 'S', streams: { sub: { codec: 'vp8' as 'h264' } } })).toThrow(RangeError);
    expect(() => new IpCameraSimulator({ serial: 'S', rtspPort: 70_000 })).toThrow(RangeError);
  });

  it('describes an MJPEG main stream as JPEG', async () => {
    const cam = await camera({ streams: { main: { codec: 'mjpeg', width: 1280, height: 720, fps: 10 } } });
    const res = await soap(cam, buildGetProfiles(usernameTokenHeader({ username: 'admin', password: 'Secret-1' })));
    const profiles = parseGetProfilesResponse(await res.text());
    expect(profiles.ok && profiles.value.map((p) => p.videoEncoder)).toEqual([
      { token: 'VideoEncoder_1', name: 'VideoEncoder_1', encoding: 'JPEG', width: 1280, height: 720, frameRateLimit: 10, bitrateLimit: 4096, govLength: 1 },
      { token: 'VideoEncoder_2', name: 'VideoEncoder_2', encoding: 'H264', width: 640, height: 360, frameRateLimit: 15, bitrateLimit: 512, govLength: 15 },
    ]);
  });

  it('refuses multicast and HTTP tunnelling', async () => {
    const cam = await camera();
    const header = () => usernameTokenHeader({ username: 'admin', password: 'Secret-1' });
    for (const req of [{ stream: 'RTP-Multicast' as const }, { protocol: 'HTTP' as const }]) {
      const res = await soap(cam, buildGetStreamUri({ profileToken: 'Profile_1', ...req }, header()));
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('ter:InvalidStreamSetup');
    }
  });
});

describe('IpCameraSimulator snapshot', () => {
  it('serves a JPEG of the profile size behind Digest', async () => {
    const cam = await camera({ streams: { sub: { width: 320, height: 180 } } });
    const url = cam.snapshotUri('sub');
    expect((await fetch(url)).status).toBe(401);
    expect((await new DigestClient('admin', 'wrong').fetch(url)).status).toBe(401);
    const client = new DigestClient('admin', 'Secret-1');
    const res = await client.fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await res.arrayBuffer());
    expect(await ffprobe(jpeg)).toEqual({ codec_name: 'mjpeg', width: 320, height: 180 });
    // A client reuses the nonce with a growing nonce count, as players polling snapshots do.
    const again = await client.fetch(url);
    expect(Buffer.from(await again.arrayBuffer()).equals(jpeg)).toBe(true);
    expect((await client.fetch(url.replace('Profile_2', 'Profile_9'))).status).toBe(404);
    expect(cam.state.counters.authFailures).toBe(1);
  });
});

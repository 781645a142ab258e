import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspServer, type RtspServerOptions } from './server.js';
import { probe, RawRtspClient, run, waitFor } from './test/helpers.js';

const account = { username: 'admin', password: 'Cam-pass1' };
const basicAuth = { Authorization: `Basic ${Buffer.from(`${account.username}:${account.password}`).toString('base64')}` };

/** A server of one small MJPEG stream at /mjpeg for a describe block, stopped after it with the raw clients it gave. */
function mjpegServer(opts: RtspServerOptions, fps: number) {
  const server = new RtspServer({ account, basicAuth: true, idleStopMs: 500, ...opts });
  const clients: RawRtspClient[] = [];
  beforeAll(async () => {
    server.addStream('/mjpeg', { codec: 'mjpeg', width: 160, height: 120, fps });
    await server.start();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });
  const client = (): RawRtspClient => {
    const c = new RawRtspClient(server.port);
    clients.push(c);
    return c;
  };
  return { server, client };
}

// Each test has its own streams or connections, so they run at the same time. Sessions keep the default
// timeout: on a loaded machine a client can stall for a second, which must not end its session here.
describe.concurrent('RTSP server with ffmpeg test streams', () => {
  const server = new RtspServer({ account, basicAuth: true, idleStopMs: 500 });
  let dir = '';
  const clients: RawRtspClient[] = [];
  const rawClient = (): RawRtspClient => {
    const c = new RawRtspClient(server.port);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server.addStream('/Streaming/Channels/101', { width: 640, height: 360, fps: 15, bitrateKbps: 400 });
    server.addStream('/Streaming/Channels/102', { width: 320, height: 240, fps: 10, bitrateKbps: 128, audio: true, pattern: 'smptebars' });
    server.addStream('/hevc', { codec: 'h265', width: 320, height: 240, fps: 10 });
    server.addStream('/mjpeg', { codec: 'mjpeg', width: 320, height: 240, fps: 10 });
    await server.start();
    dir = await mkdtemp(join(tmpdir(), 'vigil-rtsp-'));
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves H.264 that ffprobe reads with its width, height and codec, after a Digest challenge', async () => {
    const { streams, result } = await probe(server.url('/Streaming/Channels/101', account));
    expect(result.stderr).toBe('');
    expect(streams).toEqual([expect.objectContaining({ codec_type: 'video', codec_name: 'h264', width: 640, height: 360 })]);
  });

  it('serves H.264 with G.711 µ-law audio as two tracks, also over UDP', async () => {
    const { streams } = await probe(server.url('/Streaming/Channels/102', account), 'udp');
    expect(streams.map((s) => [s.codec_name, s.width])).toEqual([
      ['h264', 320],
      ['pcm_mulaw', undefined],
    ]);
  });

  it.each([
    ['/hevc', 'hevc'],
    ['/mjpeg', 'mjpeg'],
  ])('serves %s as %s', async (path, codec) => {
    const { streams } = await probe(server.url(path, account));
    expect(streams).toEqual([expect.objectContaining({ codec_name: codec, width: 320, height: 240 })]);
  });

  it('records 2 s with -c copy into an MP4 whose pictures change', async () => {
    const file = join(dir, 'clip.mp4');
    const pulled = await run('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-i', server.url('/Streaming/Channels/101', account), '-t', '2', '-c', 'copy', '-y', file]);
    expect(pulled.code, pulled.stderr).toBe(0);
    const hashes = await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-f', 'framemd5', '-']);
    const frames = hashes.stdout.split('\n').filter((l) => /^0,/.test(l)).map((l) => l.split(',').at(-1)!.trim());
    expect(frames.length).toBeGreaterThanOrEqual(20);
    expect(frames[0]).not.toBe(frames.at(-1));
  });

  it('refuses a wrong password with 401 and a Digest challenge, and takes Basic when offered', async () => {
    const wrong = await probe(server.url('/Streaming/Channels/101', { username: 'admin', password: 'nope' }));
    expect(wrong.result.code).not.toBe(0);
    expect(wrong.result.stderr).toContain('401');
    const c = rawClient();
    const uri = server.url('/Streaming/Channels/101');
    const challenged = await c.request('DESCRIBE', uri, 1);
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('www-authenticate')).toMatch(/^(Digest|Basic) /);
    const described = await c.request('DESCRIBE', uri, 2, basicAuth);
    expect(described.status).toBe(200);
    expect(described.headers.get('content-base')).toBe(`${uri}/`);
    expect(described.body).toContain('a=control:trackID=0');
  });

  it('answers 404 for an unknown path, 454 for an unknown session and 461 for multicast', async () => {
    const c = rawClient();
    expect((await c.request('DESCRIBE', server.url('/nothing/here'), 1, basicAuth)).status).toBe(404);
    expect((await c.request('PLAY', server.url('/hevc'), 2, { ...basicAuth, Session: 'deadbeef' })).status).toBe(454);
    expect((await c.request('SETUP', `${server.url('/hevc')}/trackID=0`, 3, { ...basicAuth, Transport: 'RTP/AVP;multicast' })).status).toBe(461);
    expect((await c.request('SETUP', `${server.url('/hevc')}/trackID=5`, 4, { ...basicAuth, Transport: 'RTP/AVP/TCP;interleaved=0-1' })).status).toBe(404);
    expect((await c.request('RECORD', server.url('/hevc'), 5, basicAuth)).status).toBe(501);
    expect((await c.request('OPTIONS', '*', 6)).headers.get('public')).toContain('GET_PARAMETER');
    const wrong = await probe(server.url('/nothing', account));
    expect(wrong.result.stderr).toContain('404');
  });

  it('answers a malformed request with 400 and closes that connection, and keeps serving others', async () => {
    const bad = rawClient();
    expect((await bad.send('THIS IS NOT RTSP\r\n\r\n')).status).toBe(400);
    const noCseq = rawClient();
    expect((await noCseq.send('OPTIONS * RTSP/1.0\r\n\r\n')).status).toBe(400);
    const good = rawClient();
    expect((await good.request('OPTIONS', '*', 1)).status).toBe(200);
    expect(server.counters.badRequests).toBeGreaterThanOrEqual(2);
  });
});

// Its own server: a short session timeout, with keep-alives well inside it.
describe('RTSP server with a session timeout', () => {
  const { server, client } = mjpegServer({ sessionTimeoutSec: 2 }, 10);

  it('plays over interleaved TCP on the channels asked for, keeps the session alive, and ends it after its timeout', async () => {
    const c = client();
    const base = server.url('/mjpeg');
    const setup = await c.request('SETUP', `${base}/trackID=0`, 1, { ...basicAuth, Transport: 'RTP/AVP/TCP;unicast;interleaved=6-7' });
    expect(setup.status).toBe(200);
    expect(setup.headers.get('transport')).toBe('RTP/AVP/TCP;unicast;interleaved=6-7');
    const session = setup.headers.get('session')!.split(';')[0]!;
    expect(setup.headers.get('session')).toBe(`${session};timeout=2`);
    expect((await c.request('SETUP', `${base}/trackID=0`, 2, { ...basicAuth, Session: session, Transport: 'RTP/AVP/TCP;interleaved=6-7' })).status).toBe(200);
    expect((await c.request('PLAY', base, 3, { ...basicAuth, Session: session })).status).toBe(200);
    await c.frames(6, 5);
    expect((await c.request('SETUP', `${base}/trackID=0`, 4, { ...basicAuth, Session: session, Transport: 'RTP/AVP/TCP' })).status).toBe(455);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 500));
      expect((await c.request('GET_PARAMETER', base, 5 + i, { ...basicAuth, Session: session })).status).toBe(200);
    }
    expect(server.sessions('/mjpeg')).toBe(1);
    expect((await c.request('PAUSE', base, 9, { ...basicAuth, Session: session })).status).toBe(200);
    await waitFor(() => server.sessions('/mjpeg') === 0, 6000, 'the session to time out');
    expect(server.sessions('/mjpeg')).toBe(0);
    expect((await c.request('PLAY', base, 10, { ...basicAuth, Session: session })).status).toBe(454);
  });
});

describe('RTSP server with a session limit', () => {
  const { server, client } = mjpegServer({ maxSessions: 1 }, 5);

  it('refuses a session beyond the limit with 453, and takes one again once a client ended its own with TEARDOWN', async () => {
    const track = `${server.url('/mjpeg')}/trackID=0`;
    const [a, b] = [client(), client()];
    const first = await a.request('SETUP', track, 1, { ...basicAuth, Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    expect(first.status).toBe(200);
    expect(server.sessionCount).toBe(1);
    const refused = await b.request('SETUP', track, 1, { ...basicAuth, Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    expect(refused.status).toBe(453);
    expect(server.counters.sessionsRefused).toBe(1);

    const session = first.headers.get('session')!.split(';')[0]!;
    expect((await a.request('TEARDOWN', server.url('/mjpeg'), 2, { ...basicAuth, Session: session })).status).toBe(200);
    expect(server.counters.teardowns).toBe(1);
    expect(server.sessionCount).toBe(0);
    expect((await b.request('SETUP', track, 2, { ...basicAuth, Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' })).status).toBe(200);
  });
});

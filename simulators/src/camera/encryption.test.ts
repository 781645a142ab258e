import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DigestClient, STREAM_ENCRYPTION_HEADER, buildDigestAuthorization, parseDigestChallenge, streamKeyFor } from '@vigil/protocol';
import { IpCameraSimulator, verificationCodeFor } from './ip-camera.js';

const started: IpCameraSimulator[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop()));
});

async function camera(opts: Partial<ConstructorParameters<typeof IpCameraSimulator>[0]> = {}) {
  const cam = new IpCameraSimulator({ serial: 'ENC0001', password: 'Secret-1', streams: { sub: { width: 320, height: 180, fps: 10 } }, ...opts });
  started.push(cam);
  await cam.start();
  return cam;
}

/** One RTSP request over a fresh TCP connection; the status line and headers of the answer. */
async function rtsp(socket: Socket, request: string): Promise<{ status: number; headers: Map<string, string> }> {
  const text = await new Promise<string>((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!received.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve(received);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(request);
  });
  const [statusLine, ...lines] = text.split('\r\n\r\n')[0]!.split('\r\n');
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as const));
  return { status: Number(statusLine!.split(' ')[1]), headers };
}

/** DESCRIBE as an RTSP client does it: first the Digest challenge, then the request answering it. */
async function describeStatus(cam: IpCameraSimulator, url: string) {
  const socket = connect(cam.endpoints.rtsp, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  try {
    const challenge = await rtsp(socket, `DESCRIBE ${url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n`);
    expect(challenge.status).toBe(401);
    const parsed = parseDigestChallenge(challenge.headers.get('www-authenticate')!);
    if (!parsed.ok) throw new Error(parsed.error);
    const authorization = buildDigestAuthorization({ challenge: parsed.value, username: 'admin', password: 'Secret-1', method: 'DESCRIBE', uri: url, nc: 1 });
    return await rtsp(socket, `DESCRIBE ${url} RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\nAuthorization: ${authorization}\r\n\r\n`);
  } finally {
    socket.destroy();
  }
}

const probe = (url: string) =>
  new Promise<{ ok: boolean; stdout: string; stderr: string }>((resolve) =>
    execFile('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', url], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ ok: !err, stdout, stderr }),
    ),
  );

describe('IpCameraSimulator image and video encryption', () => {
  it('refuses its streams without the key or with a wrong one, and plays them with it', async () => {
    const cam = await camera({ encryption: true });
    expect(cam.state.encryption).toBe(true);
    const key = streamKeyFor('ENC0001', verificationCodeFor('ENC0001'));
    expect(cam.encryptionKey).toBe(key);
    const uri = cam.streamUri('sub');

    const without = await describeStatus(cam, uri);
    expect(without.status).toBe(403);
    expect(without.headers.get(STREAM_ENCRYPTION_HEADER.toLowerCase())).toBe('key-required');
    const wrong = await describeStatus(cam, `${uri}?key=${'0'.repeat(32)}`);
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get(STREAM_ENCRYPTION_HEADER.toLowerCase())).toBe('key-wrong');
    const right = await describeStatus(cam, `${uri}?key=${key}`);
    expect(right.status).toBe(200);

    // ffmpeg sets up and plays the tracks with the key the DESCRIBE answer keeps in their URLs.
    const credentials = (u: string) => u.replace('rtsp://', 'rtsp://admin:Secret-1@');
    const played = await probe(credentials(`${uri}?key=${key}`));
    expect(played.stderr).toBe('');
    expect((JSON.parse(played.stdout) as { streams: unknown[] }).streams).toEqual([{ codec_name: 'h264', width: 320, height: 180 }]);
    const refused = await probe(credentials(uri));
    expect(refused.ok).toBe(false);
    expect(refused.stderr).toMatch(/403 Forbidden/);
  });

  it('refuses the snapshot the same way and follows the control endpoint', async () => {
    const cam = await camera();
    const key = cam.encryptionKey;
    const client = new DigestClient('admin', 'Secret-1');
    const snapshot = cam.snapshotUri('sub');
    expect((await client.fetch(snapshot)).status).toBe(200);

    const control = (body: unknown) =>
      fetch(`http://127.0.0.1:${cam.state.http}/__sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const on = await control({ encryption: true });
    expect(on.status).toBe(200);
    expect(((await on.json()) as { encryption: boolean }).encryption).toBe(true);

    const without = await client.fetch(snapshot);
    expect(without.status).toBe(403);
    expect(without.headers.get(STREAM_ENCRYPTION_HEADER)).toBe('key-required');
    const wrong = await client.fetch(`${snapshot}&key=nope`);
    expect(wrong.headers.get(STREAM_ENCRYPTION_HEADER)).toBe('key-wrong');
    const right = await client.fetch(`${snapshot}&key=${key}`);
    expect(right.status).toBe(200);
    expect(right.headers.get('content-type')).toBe('image/jpeg');
    // Credentials still come first: without them the answer is the Digest challenge.
    expect((await fetch(`${snapshot}&key=${key}`)).status).toBe(401);
    const uri = cam.streamUri('main');
    expect((await describeStatus(cam, uri)).status).toBe(403);

    await control({ encryption: false });
    expect((await client.fetch(snapshot)).status).toBe(200);
    expect((await describeStatus(cam, uri)).status).toBe(200);
  });
});

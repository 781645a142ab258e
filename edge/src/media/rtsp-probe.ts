import { connect, type Socket } from 'node:net';
import { buildDigestAuthorization, MediaRefusal, parseDigestChallenge, STREAM_ENCRYPTION_HEADER } from '@vigil/protocol';
import { MediaError } from './errors.js';
import { parseSdp, type StreamDescription } from './sdp.js';

export interface RtspProbeOptions {
  username: string;
  password: string;
  timeoutMs?: number;
  /** A recording (playback or clip): a 404 means no recording rather than no stream. */
  recording?: boolean;
}

interface RtspResponse {
  status: number;
  reason: string;
  headers: Map<string, string[]>;
  body: string;
}

const MAX_RESPONSE_BYTES = 256 * 1024;
const USER_AGENT = 'Vigil-Edge';

/**
 * Asks an RTSP server what a stream carries (OPTIONS, then DESCRIBE with Digest when challenged) over one TCP
 * connection, and closes it: no SETUP, so the device starts nothing. Refusals come back as MediaErrors with the
 * contract's codes, so that `media.open` answers before ffmpeg ever starts.
 */
export async function probeRtsp(url: string, opts: RtspProbeOptions): Promise<StreamDescription> {
  const u = new URL(url);
  if (u.protocol !== 'rtsp:') throw new MediaError(MediaRefusal.failed, `not an RTSP URL: ${u.protocol}`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(u.port || 554);
  // The request URI carries no credentials; ffmpeg gets them in its own URL.
  u.username = '';
  u.password = '';
  const requestUri = u.toString();
  const conn = await RtspConnection.open(host, port, opts.timeoutMs ?? 5_000);
  try {
    await conn.request('OPTIONS', requestUri, {});
    let res = await conn.request('DESCRIBE', requestUri, { Accept: 'application/sdp' });
    if (res.status === 401) {
      const challenge = (res.headers.get('www-authenticate') ?? []).find((h) => /^digest\s/i.test(h));
      const parsed = challenge ? parseDigestChallenge(challenge) : undefined;
      if (!parsed?.ok) throw new MediaError(MediaRefusal.loginFailed, 'the device asks for a login the box cannot answer (no Digest challenge)');
      const authorization = buildDigestAuthorization({ challenge: parsed.value, username: opts.username, password: opts.password, method: 'DESCRIBE', uri: requestUri });
      res = await conn.request('DESCRIBE', requestUri, { Accept: 'application/sdp', Authorization: authorization });
    }
    throwForStatus(res, opts.recording ?? false);
    const description = parseSdp(res.body);
    if (!description.video) throw new MediaError(MediaRefusal.streamUnavailable, 'the stream has no video the box can handle (H.264, H.265 or MJPEG)');
    return description;
  } finally {
    conn.close();
  }
}

function throwForStatus(res: RtspResponse, recording: boolean): void {
  if (res.status === 200) return;
  const what = `RTSP ${res.status} ${res.reason}`;
  if (res.status === 401) throw new MediaError(MediaRefusal.loginFailed, `the device refused the box's login (${what})`);
  if (res.status === 403) {
    const encryption = res.headers.get(STREAM_ENCRYPTION_HEADER.toLowerCase())?.[0];
    if (encryption === 'key-required') throw new MediaError(MediaRefusal.verificationCodeRequired, 'image and video encryption is on: the device verification code is needed');
    if (encryption === 'key-wrong') throw new MediaError(MediaRefusal.verificationCodeWrong, 'the verification code does not open the stream');
    throw new MediaError(MediaRefusal.loginFailed, `the device refused the stream (${what})`);
  }
  if (res.status === 404) {
    if (recording) throw new MediaError(MediaRefusal.noRecording, `no recording at the time asked (${what})`);
    throw new MediaError(MediaRefusal.streamUnavailable, `the device has no such stream (${what})`);
  }
  if (res.status === 453 || res.status === 503) throw new MediaError(MediaRefusal.streamUnavailable, `the device cannot stream now (${what})`);
  throw new MediaError(MediaRefusal.failed, `the device answered ${what}`);
}

class RtspConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private cseq = 0;
  private waiter: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    const end = (err?: Error): void => {
      this.failure ??= new MediaError(MediaRefusal.deviceUnreachable, `the device closed the RTSP connection${err ? `: ${err.message}` : ''}`);
      this.wake();
    };
    socket.on('error', end);
    socket.on('close', () => end());
  }

  static open(host: string, port: number, timeoutMs: number): Promise<RtspConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new MediaError(MediaRefusal.deviceUnreachable, `no answer from ${host}:${port} (RTSP)`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new MediaError(MediaRefusal.deviceUnreachable, `cannot reach ${host}:${port} (RTSP): ${(err as { code?: string }).code ?? err.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RtspConnection(socket, timeoutMs));
      });
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.resolve();
  }

  async request(method: string, uri: string, headers: Record<string, string>): Promise<RtspResponse> {
    const cseq = ++this.cseq;
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${cseq}`, `User-Agent: ${USER_AGENT}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const res = this.take();
      if (res && Number(res.headers.get('cseq')?.[0] ?? cseq) === cseq) return res;
      if (res) continue;
      if (this.failure) throw this.failure;
      if (this.buffer.length > MAX_RESPONSE_BYTES) throw new MediaError(MediaRefusal.failed, 'RTSP answer too large');
      await this.wait(deadline - Date.now(), method);
    }
  }

  private wait(ms: number, method: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new MediaError(MediaRefusal.deviceUnreachable, `no answer to RTSP ${method}`));
      }, Math.max(0, ms));
      this.waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject,
      };
    });
  }

  /** One complete response from the buffer, or null. */
  private take(): RtspResponse | null {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const head = this.buffer.subarray(0, end).toString('utf8').split('\r\n');
    const headers = new Map<string, string[]>();
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      headers.set(key, [...(headers.get(key) ?? []), line.slice(colon + 1).trim()]);
    }
    const length = Number(headers.get('content-length')?.[0] ?? 0);
    if (this.buffer.length < end + 4 + length) return null;
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    const m = /^RTSP\/1\.\d\s+(\d{3})\s*(.*)$/.exec(head[0] ?? '');
    if (!m) {
      this.failure = new MediaError(MediaRefusal.failed, 'not an RTSP answer');
      return null;
    }
    return { status: Number(m[1]), reason: m[2] ?? '', headers, body };
  }

  close(): void {
    this.socket.destroy();
  }
}

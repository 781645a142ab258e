import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`). */
export function run(command: string, args: readonly string[], timeoutMs = 15_000): Promise<Finished> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
}

/** ffprobe's view of an RTSP URL's streams. */
export async function probe(url: string, transport: 'tcp' | 'udp' = 'tcp'): Promise<{ streams: ProbedStream[]; result: Finished }> {
  // One second of analysis is plenty with a keyframe every second, and keeps the tests quick.
  const result = await run('ffprobe', ['-v', 'error', '-analyzeduration', '1000000', '-rtsp_transport', transport, '-show_streams', '-of', 'json', url]);
  if (result.code !== 0) return { streams: [], result };
  return { streams: (JSON.parse(result.stdout) as { streams: ProbedStream[] }).streams, result };
}

/** An ffmpeg viewer that reads the stream until killed, writing nothing. */
export function startViewer(url: string): ChildProcess {
  return spawn('ffmpeg', ['-v', 'error', '-nostdin', '-rtsp_transport', 'tcp', '-i', url, '-map', '0:v', '-c', 'copy', '-f', 'null', '-'], {
    stdio: 'ignore',
  });
}

/** Resolves with the exit code once the child has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited(child);
}

/** The ffmpeg sources (children sending RTP) this test process has running, as the OS sees them. */
export async function ffmpegSources(): Promise<number[]> {
  const r = await run('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+ ffmpeg .* -f rtp /.test(l))
    .map((l) => Number(l.split(' ')[0]));
}

/** Polls `check` until it is true or the deadline passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A bare RTSP client: sends raw text on one connection and returns the responses' heads and bodies in order.
 */
export class RawRtspClient {
  private readonly socket;
  private buffer = '';
  private waiting: (() => void) | undefined;
  closed = false;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.buffer += d;
      this.waiting?.();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    this.socket.on('error', () => undefined);
  }

  /** Sends raw bytes and reads one response (skipping interleaved RTP frames). */
  async send(raw: string): Promise<{ status: number; headers: Map<string, string>; body: string }> {
    this.socket.write(raw, 'latin1');
    return this.read();
  }

  async request(method: string, uri: string, cseq: number, headers: Record<string, string> = {}): Promise<{ status: number; headers: Map<string, string>; body: string }> {
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${cseq}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    return this.send(`${lines.join('\r\n')}\r\n\r\n`);
  }

  /** Reads interleaved bytes until `count` frames on `channel` arrived. */
  async frames(channel: number, count: number): Promise<void> {
    let seen = 0;
    for (;;) {
      while (this.buffer.startsWith('$') && this.buffer.length >= 4) {
        const length = (this.buffer.charCodeAt(2) << 8) | this.buffer.charCodeAt(3);
        if (this.buffer.length < 4 + length) break;
        if (this.buffer.charCodeAt(1) === channel) seen++;
        this.buffer = this.buffer.slice(4 + length);
      }
      if (seen >= count) return;
      await this.more();
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private async read(): Promise<{ status: number; headers: Map<string, string>; body: string }> {
    for (;;) {
      while (this.buffer.startsWith('$') && this.buffer.length >= 4) {
        const length = (this.buffer.charCodeAt(2) << 8) | this.buffer.charCodeAt(3);
        if (this.buffer.length < 4 + length) break;
        this.buffer = this.buffer.slice(4 + length);
      }
      const end = this.buffer.indexOf('\r\n\r\n');
      if (!this.buffer.startsWith('$') && end >= 0) {
        const [statusLine = '', ...lines] = this.buffer.slice(0, end).split('\r\n');
        const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as const));
        const length = Number(headers.get('content-length') ?? 0);
        if (this.buffer.length >= end + 4 + length) {
          const body = this.buffer.slice(end + 4, end + 4 + length);
          this.buffer = this.buffer.slice(end + 4 + length);
          return { status: Number(statusLine.split(' ')[1]), headers, body };
        }
      }
      if (this.closed) throw new Error('connection closed');
      await this.more();
    }
  }

  private more(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no response')), 10_000);
      this.waiting = () => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve();
      };
    });
  }
}

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { MediaFormat } from '@vigil/protocol';
import type { StreamDescription } from './sdp.js';


/** How long ffmpeg gets to leave after `q` (it tears the RTSP session down) before it is killed. */
const QUIT_GRACE_MS = 3_000;
const STDERR_KEEP = 2_048;

export interface PipelineArgs {
  /** The RTSP URL with the account in it. */
  url: string;
  format: MediaFormat;
  audio: StreamDescription['audio'];
}

/**
 * The ffmpeg command for a stream, writing to stdout:
 * - fmp4: the video copied into fragmented MP4 (a fragment per key frame), AAC copied, G.711 made AAC, any other
 *   audio left out so that it never costs the video;
 * - mpegts: MPEG-1 video for JSMpeg (H.265 and MJPEG, which browsers cannot decode), without audio, since the
 *   contract's `start` can only say AAC or none.
 */
export function pipelineArgs(p: PipelineArgs): string[] {
  const args = ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-timeout', '10000000', '-i', p.url, '-map', '0:v:0'];
  if (p.format === 'fmp4') {
    args.push('-c:v', 'copy', ...audioCopyArgs(p.audio));
    args.push('-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', 'pipe:1');
  } else {
    // MPEG-1 allows only the standard frame rates; a sequence header every second lets a new viewer start.
    args.push('-an', '-c:v', 'mpeg1video', '-b:v', '1000k', '-bf', '0', '-r', '25', '-g', '25', '-f', 'mpegts', 'pipe:1');
  }
  return args;
}

/** AAC copied, G.711 made AAC, any other audio left out so that it never costs the video. */
export function audioCopyArgs(audio: StreamDescription['audio']): string[] {
  if (audio === 'aac') return ['-map', '0:a:0', '-c:a', 'copy'];
  if (audio === 'pcmu' || audio === 'pcma') return ['-map', '0:a:0', '-c:a', 'aac', '-b:a', '32k', '-ar', '16000', '-ac', '1'];
  return ['-an'];
}

/** Puts the device account into an RTSP URL for ffmpeg. */
export function withAccount(url: string, username: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(username);
  u.password = encodeURIComponent(password);
  return u.toString();
}

interface FfmpegEvents {
  data: [chunk: Buffer];
  exit: [code: number | null, stderr: string];
}

/**
 * One ffmpeg child. Its stdout is a pipe into this process: if this process dies, ffmpeg's next write fails
 * and it exits too, so none is left behind even after a SIGKILL.
 */
export class FfmpegProcess extends EventEmitter<FfmpegEvents> {
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';
  private exited = false;
  private killTimer: NodeJS.Timeout | null = null;

  /** `command`: the system ffmpeg by default (VIGIL_FFMPEG names another). */
  constructor(args: string[], command = 'ffmpeg') {
    super();
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => this.emit('data', d));
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-STDERR_KEEP);
    });
    // stdin may be closed by the time `q` is written; that is not an error.
    this.child.stdin.on('error', () => undefined);
    this.child.on('error', (err) => {
      this.stderr += `\n${err.message}`;
      this.finish(null);
    });
    this.child.on('close', (code) => this.finish(code));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Stops reading ffmpeg's output: it blocks once the pipe is full (backpressure). */
  pause(): void {
    this.child.stdout.pause();
  }

  resume(): void {
    this.child.stdout.resume();
  }

  private finish(code: number | null): void {
    if (this.exited) return;
    this.exited = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.emit('exit', code, this.stderr.trim());
  }

  /** Asks ffmpeg to quit (it sends TEARDOWN), killing it if it has not gone within the grace period. */
  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    const gone = new Promise<void>((resolve) => this.once('exit', () => resolve()));
    this.child.stdin.end('q');
    this.killTimer ??= setTimeout(() => this.kill(), QUIT_GRACE_MS);
    return gone;
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

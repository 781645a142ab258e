/**
 * A live test stream: an ffmpeg child encodes a lavfi test pattern (with a clock overlay) and sends one RTP
 * stream per track to UDP sockets of ours; we fan the packets out to RTSP sessions. The child runs only
 * while someone wants the stream.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { fail, ok, type Result } from '@vigil/protocol';

export const RTSP_CODECS = ['h264', 'h265', 'mjpeg'] as const;
export type RtspCodec = (typeof RTSP_CODECS)[number];
export const TEST_PATTERNS = ['testsrc2', 'smptebars'] as const;
export type TestPattern = (typeof TEST_PATTERNS)[number];

export interface RtspStreamSpec {
  codec?: RtspCodec;
  width?: number;
  height?: number;
  fps?: number;
  bitrateKbps?: number;
  /** H.264 profile; H.265 is always Main. */
  profile?: 'baseline' | 'main';
  /** Adds a G.711 µ-law audio track (a tone). */
  audio?: boolean;
  pattern?: TestPattern;
  /** Text next to the clock in the overlay; defaults to the stream's path. */
  label?: string;
}

export type ResolvedStreamSpec = Required<RtspStreamSpec>;

/**
 * Recorded video played back: the overlay shows the recorded time (UTC), from `startsAtMs` on, and the source
 * ends after `durationMs` with an RTCP BYE instead of running until nobody watches.
 */
export interface PlaybackClock {
  startsAtMs: number;
  durationMs: number;
}

const SPEC_KEYS = new Set(['codec', 'width', 'height', 'fps', 'bitrateKbps', 'profile', 'audio', 'pattern', 'label']);

/** Checks a stream spec and fills in defaults. Never throws. */
export function resolveStreamSpec(input: unknown, path: string): Result<ResolvedStreamSpec> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return fail('a stream spec must be an object');
  const s = input as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!SPEC_KEYS.has(k)) return fail(`unknown stream field ${k}`);
  const codec = s.codec ?? 'h264';
  if (!RTSP_CODECS.includes(codec as RtspCodec)) return fail(`codec must be one of ${RTSP_CODECS.join(', ')}`);
  const int = (key: string, def: number, min: number, max: number): Result<number> => {
    const v = s[key] ?? def;
    return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? ok(v) : fail(`${key} must be an integer from ${min} to ${max}`);
  };
  // RFC 2435 carries width and height in units of 8 pixels in one byte.
  const maxSide = codec === 'mjpeg' ? 2040 : 4096;
  const width = int('width', 640, 16, maxSide);
  const height = int('height', 360, 16, maxSide);
  const fps = int('fps', 15, 1, 60);
  const bitrate = int('bitrateKbps', 512, 16, 50_000);
  if (!width.ok) return width;
  if (!height.ok) return height;
  if (!fps.ok) return fps;
  if (!bitrate.ok) return bitrate;
  if (width.value % 2 !== 0 || height.value % 2 !== 0) return fail('width and height must be even');
  const profile = s.profile ?? 'main';
  if (profile !== 'baseline' && profile !== 'main') return fail('profile must be baseline or main');
  const audio = s.audio ?? false;
  if (typeof audio !== 'boolean') return fail('audio must be a boolean');
  const pattern = s.pattern ?? 'testsrc2';
  if (!TEST_PATTERNS.includes(pattern as TestPattern)) return fail(`pattern must be one of ${TEST_PATTERNS.join(', ')}`);
  const label = s.label ?? path;
  if (typeof label !== 'string' || label.length > 64) return fail('label must be a string of at most 64 characters');
  return ok({
    codec: codec as RtspCodec,
    width: width.value,
    height: height.value,
    fps: fps.value,
    bitrateKbps: bitrate.value,
    profile,
    audio,
    pattern: pattern as TestPattern,
    label,
  });
}

const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
];
const overlayChecks = new Map<string, Promise<string | undefined>>();

/** The font file for the clock overlay, or undefined when this ffmpeg has no drawtext or there is no font. */
export function overlayFont(ffmpegPath: string): Promise<string | undefined> {
  let check = overlayChecks.get(ffmpegPath);
  if (!check) {
    check = new Promise((resolve) => {
      execFile(ffmpegPath, ['-hide_banner', '-filters'], (err, stdout) => {
        resolve(!err && /\bdrawtext\b/.test(stdout) ? FONT_CANDIDATES.find((f) => existsSync(f)) : undefined);
      });
    });
    overlayChecks.set(ffmpegPath, check);
  }
  return check;
}

export interface RtpPorts {
  rtp: number;
  rtcp: number;
}

/** The ffmpeg arguments for a spec: video (and audio) as separate RTP streams to our ports; SDP on stdout. */
export function ffmpegArgs(spec: ResolvedStreamSpec, ports: readonly RtpPorts[], font: string | undefined, playback?: PlaybackClock): string[] {
  const { width, height, fps, bitrateKbps: kbps } = spec;
  // A connected socket makes ffmpeg fail, and exit, once our ports are gone (e.g. the simulator was killed).
  const url = (p: RtpPorts | undefined): string => `rtp://127.0.0.1:${p?.rtp ?? 0}?rtcpport=${p?.rtcp ?? 0}&connect=1`;
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  args.push('-re', '-f', 'lavfi', '-i', `${spec.pattern}=size=${width}x${height}:rate=${fps}`);
  if (spec.audio) args.push('-re', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=8000');
  if (font) {
    // Only characters that need no escaping in a filter graph; the clock is drawtext's own localtime, or for
    // playback the frame's timestamp counted from the recorded start time.
    const label = spec.label.replace(/[^A-Za-z0-9 _./-]/g, '_');
    const size = Math.max(12, Math.round(height / 20));
    const clock = playback ? `%{pts\\:gmtime\\:${Math.floor(playback.startsAtMs / 1000)}}` : '%{localtime}';
    args.push('-vf', `drawtext=fontfile=${font}:text='${clock} ${label}':x=8:y=8:fontsize=${size}:fontcolor=white:box=1:boxcolor=black@0.6`);
  }
  args.push('-map', '0:v');
  // A keyframe every second, so a new viewer sees a picture quickly.
  if (spec.codec === 'h264') {
    args.push('-c:v', 'libx264', '-profile:v', spec.profile, '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p');
    args.push('-g', String(fps), '-keyint_min', String(fps), '-sc_threshold', '0');
    args.push('-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${Math.max(8, kbps >> 1)}k`, '-payload_type', '96');
  } else if (spec.codec === 'h265') {
    args.push('-c:v', 'libx265', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-b:v', `${kbps}k`);
    // Parameter sets in band with every keyframe: the SDP ffmpeg writes carries none.
    args.push('-x265-params', `keyint=${fps}:min-keyint=${fps}:scenecut=0:repeat-headers=1:log-level=error`, '-payload_type', '96');
  } else {
    // RFC 2435 can only signal the standard Huffman tables.
    args.push('-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-huffman', 'default', '-b:v', `${kbps}k`);
  }
  // A playback ends at its duration and says so with an RTCP BYE, which ends an ffmpeg client cleanly.
  const finite = playback ? ['-t', (playback.durationMs / 1000).toFixed(3), '-rtpflags', 'send_bye'] : [];
  args.push(...finite, '-f', 'rtp', url(ports[0]));
  if (spec.audio) args.push('-map', '1:a', '-c:a', 'pcm_mulaw', '-ar', '8000', '-ac', '1', '-payload_type', '0', ...finite, '-f', 'rtp', url(ports[1]));
  return args;
}

/**
 * Turns ffmpeg's SDP (addressed to our local ports) into what DESCRIBE answers: no addresses or ports,
 * aggregate control at the session level and `trackID=N` per media section.
 */
export function describeSdp(raw: string, sessionName: string, sessionId: number, durationSec?: number): string {
  const out: string[] = [];
  let track = -1;
  const endMedia = (): void => {
    if (track >= 0) out.push(`a=control:trackID=${track}`);
  };
  for (const line of raw.split(/\r?\n/)) {
    if (line === '' || line.startsWith('c=') || line.startsWith('a=tool:')) continue;
    if (line.startsWith('m=')) {
      if (track < 0) out.push('a=control:*', `a=range:npt=0-${durationSec === undefined ? '' : durationSec.toFixed(3)}`);
      endMedia();
      track++;
      out.push(line.replace(/^m=(\S+) \d+ /, 'm=$1 0 '));
    } else if (line.startsWith('o=')) out.push(`o=- ${sessionId} 1 IN IP4 0.0.0.0`);
    else if (line.startsWith('s=')) out.push(`s=${sessionName.replace(/[\r\n]/g, ' ')}`, 'c=IN IP4 0.0.0.0');
    else out.push(line);
  }
  endMedia();
  return `${out.join('\r\n')}\r\n`;
}

/** Called with each RTP (or RTCP) packet ffmpeg sends for a track. */
export type PacketListener = (track: number, rtcp: boolean, packet: Buffer) => void;

interface Run {
  sockets: Socket[];
  child: ChildProcess | undefined;
  /** The DESCRIBE body once ffmpeg has printed its SDP. */
  sdp: Promise<Result<string>>;
  /** Settles once the child is spawned, or once starting was given up. */
  spawned: Promise<void>;
  exited: Promise<void>;
  /** Set when we end the run on purpose, so its exit is not restarted. */
  ending: boolean;
}

export interface StreamSourceOptions {
  ffmpegPath: string;
  /** How long the child keeps running after the last viewer leaves. */
  idleStopMs: number;
  /** How long to wait before restarting a child that died while in use. */
  restartDelayMs: number;
  /** Makes the source a playback: one run, its packets kept until the first subscriber takes them. */
  playback?: PlaybackClock;
  /** Called once a playback's run has ended (it never restarts). */
  onFinished?: () => void;
}

const SDP_TIMEOUT_MS = 15_000;
const KILL_GRACE_MS = 2_000;
/** How long a finished playback still reads its sockets: the last packets and the BYE may trail ffmpeg's exit. */
const FINISH_GRACE_MS = 300;
/** Packets a playback keeps between DESCRIBE and PLAY (a few seconds of video). */
const MAX_BACKLOG_PACKETS = 4000;

export class StreamSource {
  readonly tracks: number;
  private readonly listeners = new Set<PacketListener>();
  private run: Run | undefined;
  private users = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private silentUntil = 0;
  private downUntil = 0;
  private closed = false;
  private finished = false;
  /** A playback's packets from its start until PLAY, so its viewer sees it from the recorded start time. */
  private backlog: Array<[track: number, rtcp: boolean, packet: Buffer]> | undefined;
  private readonly sessionId = Math.floor(Math.random() * 1e9);
  /** How many times a child was started, for tests. */
  starts = 0;
  lastError: string | undefined;

  constructor(
    readonly path: string,
    readonly spec: ResolvedStreamSpec,
    private readonly opts: StreamSourceOptions,
  ) {
    this.tracks = spec.audio ? 2 : 1;
    if (opts.playback) this.backlog = [];
  }

  get running(): boolean {
    return this.run !== undefined;
  }

  get pid(): number | undefined {
    return this.run?.child?.pid;
  }

  /** True while the stream is made to be down (see `drop`). */
  get down(): boolean {
    return Date.now() < this.downUntil;
  }

  /** Starts the child if needed and resolves with the SDP for DESCRIBE. */
  ready(): Promise<Result<string>> {
    if (this.closed) return Promise.resolve(fail('the server is stopping'));
    if (this.finished) return Promise.resolve(fail('the playback has ended'));
    if (this.down) return Promise.resolve(fail('the stream is down'));
    const run = (this.run ??= this.launch());
    // The idle countdown starts once the SDP is out: a slow start must not eat the client's time to SETUP.
    return run.sdp.then((sdp) => {
      if (this.users === 0 && this.run === run) this.armIdleStop();
      return sdp;
    });
  }

  /** A session uses the stream: keep the child running. */
  hold(): void {
    this.users++;
    clearTimeout(this.idleTimer);
  }

  release(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0) this.armIdleStop();
  }

  subscribe(listener: PacketListener): () => void {
    this.listeners.add(listener);
    const backlog = this.backlog;
    this.backlog = undefined;
    for (const [track, rtcp, packet] of backlog ?? []) listener(track, rtcp, packet);
    return () => this.listeners.delete(listener);
  }

  /** Keeps the child running but forwards nothing for `ms`, like a stalled camera. */
  silence(ms: number): void {
    this.silentUntil = Date.now() + ms;
  }

  /** Kills the child; `ready` refuses for `ms`, after which the stream starts again on demand. */
  async drop(ms: number): Promise<void> {
    this.downUntil = Date.now() + ms;
    clearTimeout(this.restartTimer);
    await this.end();
  }

  /** Kills the child for good. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.restartTimer);
    this.listeners.clear();
    await this.end();
  }

  private armIdleStop(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.users === 0) this.end().catch((e: unknown) => (this.lastError = String(e)));
    }, this.opts.idleStopMs);
  }

  private async end(): Promise<void> {
    const run = this.run;
    if (!run) return;
    run.ending = true;
    this.run = undefined;
    await run.spawned;
    const child = run.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const force = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      child.kill('SIGTERM');
      await run.exited;
      clearTimeout(force);
    }
  }

  private launch(): Run {
    let exited!: () => void;
    let spawned!: () => void;
    const run: Run = {
      sockets: [],
      child: undefined,
      sdp: Promise.resolve(fail('not started')),
      spawned: new Promise<void>((r) => (spawned = r)),
      exited: new Promise<void>((r) => (exited = r)),
      ending: false,
    };
    run.sdp = this.spawnChild(run, { spawned, exited });
    return run;
  }

  private async spawnChild(run: Run, mark: { spawned: () => void; exited: () => void }): Promise<Result<string>> {
    const closeSockets = (): void => {
      for (const s of run.sockets) s.close();
      run.sockets = [];
    };
    const giveUp = (error: string): Result<string> => {
      closeSockets();
      mark.spawned();
      mark.exited();
      return fail(error);
    };
    const ports: RtpPorts[] = [];
    try {
      for (let track = 0; track < this.tracks; track++) {
        const [rtp, rtcp] = [await this.bindSocket(run, track, false), await this.bindSocket(run, track, true)];
        ports.push({ rtp, rtcp });
      }
    } catch (e) {
      return giveUp(`cannot bind RTP sockets: ${e instanceof Error ? e.message : String(e)}`);
    }
    const font = await overlayFont(this.opts.ffmpegPath);
    if (run.ending) return giveUp('stopped before it started');
    const playback = this.opts.playback;
    const child = spawn(this.opts.ffmpegPath, ffmpegArgs(this.spec, ports, font, playback), { stdio: ['ignore', 'pipe', 'pipe'] });
    run.child = child;
    this.starts++;
    mark.spawned();
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => resolve(fail('ffmpeg printed no SDP')), SDP_TIMEOUT_MS);
      const settle = (r: Result<string>): void => {
        clearTimeout(timer);
        if (!r.ok) this.lastError = r.error;
        resolve(r);
      };
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        // ffmpeg prints "SDP:", then the SDP, then an empty line.
        const start = stdout.indexOf('SDP:\n');
        if (start >= 0 && stdout.endsWith('\n\n')) {
          settle(ok(describeSdp(stdout.slice(start + 5), this.spec.label, this.sessionId, playback && playback.durationMs / 1000)));
        }
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-2000);
      });
      child.on('error', (e) => {
        settle(fail(`cannot run ffmpeg: ${e.message}`));
        if (child.pid === undefined) {
          closeSockets();
          mark.exited();
        }
      });
      child.on('close', (code, signal) => {
        settle(fail(`ffmpeg exited (${code ?? signal}): ${stderr.trim()}`));
        if (playback && !run.ending) {
          if (code !== 0) this.lastError = `ffmpeg exited (${code ?? signal}): ${stderr.trim()}`;
          this.finished = true;
          setTimeout(() => {
            closeSockets();
            mark.exited();
            if (this.run === run) this.run = undefined;
            this.opts.onFinished?.();
          }, FINISH_GRACE_MS);
          return;
        }
        closeSockets();
        mark.exited();
        if (run.ending) return;
        this.lastError = `ffmpeg exited (${code ?? signal}): ${stderr.trim()}`;
        if (this.run === run) this.run = undefined;
        this.scheduleRestart();
      });
    });
  }

  private scheduleRestart(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.closed || this.down || this.run || this.users === 0) return;
      this.run = this.launch();
    }, this.opts.restartDelayMs);
  }

  private bindSocket(run: Run, track: number, rtcp: boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      run.sockets.push(socket);
      socket.once('error', reject);
      socket.on('message', (packet) => {
        if (run.ending || Date.now() < this.silentUntil) return;
        if (this.backlog) {
          if (this.backlog.length < MAX_BACKLOG_PACKETS) this.backlog.push([track, rtcp, packet]);
          return;
        }
        for (const listener of this.listeners) listener(track, rtcp, packet);
      });
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        // Errors after binding (e.g. ICMP port unreachable) must not crash the simulator.
        socket.on('error', (e) => (this.lastError = e.message));
        resolve(socket.address().port);
      });
    });
  }
}

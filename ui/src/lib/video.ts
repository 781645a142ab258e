import type { JsmpegSource, Player as JsmpegPlayer } from '@cycjimmy/jsmpeg-player';
import type { IngestMessage, MediaStart, MediaStreamName } from '@vigil/protocol';
import { CLIP_MAX_SECONDS, LIVE_VIEW_WINDOW_LIMIT, PLAYBACK_WINDOW_LIMIT, VideoErrorCode, type VideoSource } from '@vigil/protocol/api';
import { ApiError, errorMessage } from './api';

/**
 * The player of one video window: it reads the session's WebSocket (a JSON `start`, then fMP4 init + fragments or
 * MPEG-TS chunks, see protocol/src/media.ts) and shows it in a <video> through Media Source Extensions, or in a
 * <canvas> through JSMpeg for the MPEG-1 the box transcodes to.
 */

export type PlayerState = 'connecting' | 'playing' | 'stalled' | 'ended' | 'error';

/** A live player that falls further behind than this jumps to the newest frame. */
const MAX_LIVE_LAG_SEC = 3;
/** Media older than this behind the play position is dropped, so the buffer stays small. */
const KEEP_BEHIND_SEC = 30;
/** How much is kept behind the play position when older media is dropped. */
const TRIM_TO_SEC = 10;

export interface PlayerEvents {
  state(state: PlayerState, problem?: { code: string; message: string }): void;
  start(start: MediaStart): void;
}

/** The WebSocket address of a session's stream path, on this page's origin. */
export function socketUrl(path: string): string {
  const url = new URL(path, window.location.href);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  return url.href;
}

interface Output {
  readonly element: HTMLVideoElement | HTMLCanvasElement;
  write(data: ArrayBuffer): void;
  /** The end of a playback: what is queued still plays. */
  end(): void;
  /** Seconds played since this output began. */
  position(): number;
  dispose(): void;
}

/** fMP4 into a <video> through Media Source Extensions, appended in order and never while the buffer is busy. */
class Mp4Output implements Output {
  private readonly mediaSource = new MediaSource();
  private buffer: SourceBuffer | null = null;
  private readonly queue: ArrayBuffer[] = [];
  private readonly listeners = new AbortController();
  private readonly follower: ReturnType<typeof setInterval>;
  private retry: ReturnType<typeof setTimeout> | null = null;
  /** Media time of the first frame buffered, the zero of `position()`. */
  private origin: number | null = null;
  private ending = false;

  constructor(
    readonly element: HTMLVideoElement,
    mime: string,
    private readonly live: boolean,
    private readonly playing: () => void,
    private readonly fail: (message: string) => void,
  ) {
    const signal = this.listeners.signal;
    this.mediaSource.addEventListener(
      'sourceopen',
      () => {
        URL.revokeObjectURL(element.src);
        try {
          this.buffer = this.mediaSource.addSourceBuffer(mime);
        } catch (e) {
          fail(`This browser cannot play this video (${mime}): ${errorMessage(e)}`);
          return;
        }
        this.buffer.mode = 'segments';
        this.buffer.addEventListener('updateend', () => this.pump(), { signal });
        this.buffer.addEventListener('error', () => fail('The browser could not decode the video.'), { signal });
        this.pump();
      },
      { once: true, signal },
    );
    element.addEventListener('playing', () => playing(), { signal });
    element.addEventListener('error', () => fail(element.error?.message || 'The browser could not play the video.'), { signal });
    element.src = URL.createObjectURL(this.mediaSource);
    this.follower = setInterval(() => this.follow(), 500);
  }

  write(data: ArrayBuffer): void {
    this.queue.push(data);
    this.pump();
  }

  end(): void {
    this.ending = true;
    this.pump();
  }

  position(): number {
    return this.origin === null ? 0 : Math.max(0, this.element.currentTime - this.origin);
  }

  private pump(): void {
    const buffer = this.buffer;
    if (!buffer || buffer.updating || this.retry || this.mediaSource.readyState !== 'open') return;
    if (this.trim(buffer, KEEP_BEHIND_SEC)) return;
    const next = this.queue.shift();
    if (!next) {
      if (this.ending) this.mediaSource.endOfStream();
      return;
    }
    try {
      buffer.appendBuffer(next);
    } catch (e) {
      if (e instanceof DOMException && e.name === 'QuotaExceededError') {
        // The buffer is full (a playback sent faster than it plays): drop what was played, and try again shortly.
        this.queue.unshift(next);
        this.trim(buffer, 2);
        this.retry = setTimeout(() => {
          this.retry = null;
          this.pump();
        }, 1000);
      } else {
        this.fail(`The browser refused the video: ${errorMessage(e)}`);
      }
    }
  }

  /** Drops media more than `keep` seconds behind the play position; true when a removal started. */
  private trim(buffer: SourceBuffer, keep: number): boolean {
    const ranges = buffer.buffered;
    if (!ranges.length) return false;
    const start = ranges.start(0);
    const now = this.element.currentTime;
    if (now - start <= keep) return false;
    const to = now - Math.min(keep, TRIM_TO_SEC);
    if (to <= start) return false;
    buffer.remove(start, to);
    return true;
  }

  /** Keeps the play position inside what is buffered: at the live edge for live, over gaps for both. */
  private follow(): void {
    const video = this.element;
    const ranges = video.buffered;
    if (!ranges.length) return;
    if (this.origin === null) this.origin = ranges.start(0);
    const now = video.currentTime;
    const end = ranges.end(ranges.length - 1);
    if (this.live && end - now > MAX_LIVE_LAG_SEC) {
      video.currentTime = Math.max(ranges.start(ranges.length - 1), end - 0.5);
    } else {
      let inside = false;
      let ahead: number | null = null;
      for (let i = 0; i < ranges.length; i++) {
        if (now >= ranges.start(i) && now < ranges.end(i)) inside = true;
        else if (ranges.start(i) > now && ahead === null) ahead = ranges.start(i);
      }
      if (!inside && ahead !== null) video.currentTime = ahead;
    }
    if (video.paused && !video.ended && video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) void video.play().catch(() => undefined);
  }

  dispose(): void {
    clearInterval(this.follower);
    if (this.retry) clearTimeout(this.retry);
    this.listeners.abort();
    this.queue.length = 0;
    this.buffer = null;
  }
}

/** Data that arrives before JSMpeg's decoder is ready is held until it starts. */
class SocketFedSource implements JsmpegSource {
  streaming = true;
  established = false;
  completed = false;
  progress = 0;
  private destination: { write(data: ArrayBuffer): void } | null = null;
  private started = false;
  private readonly held: ArrayBuffer[] = [];

  connect(destination: { write(data: ArrayBuffer): void }): void {
    this.destination = destination;
  }

  start(): void {
    this.started = true;
    this.progress = 1;
    for (const data of this.held.splice(0)) this.write(data);
  }

  resume(): void {
    // The socket pushes; there is nothing to ask for.
  }

  destroy(): void {
    this.held.length = 0;
    this.destination = null;
  }

  write(data: ArrayBuffer): void {
    if (!this.started) {
      this.held.push(data);
      return;
    }
    this.established = true;
    this.destination?.write(data);
  }
}

/** MPEG-TS (MPEG-1 video) drawn into a <canvas> by JSMpeg, which is loaded the first time it is needed. */
class MpegTsOutput implements Output {
  private player: JsmpegPlayer | null = null;
  private readonly early: ArrayBuffer[] = [];
  private shown = false;
  private disposed = false;

  constructor(
    readonly element: HTMLCanvasElement,
    playing: () => void,
    fail: (message: string) => void,
  ) {
    import('@cycjimmy/jsmpeg-player')
      .then(({ default: JSMpeg }) => {
        if (this.disposed) return;
        this.player = new JSMpeg.Player('', {
          canvas: element,
          source: SocketFedSource,
          audio: false,
          // The 2D renderer also works where WebGL is missing (headless browsers, remote desktops).
          disableGl: true,
          pauseWhenHidden: false,
          videoBufferSize: 2 * 1024 * 1024,
          onVideoDecode: () => {
            if (this.shown) return;
            this.shown = true;
            playing();
          },
        });
        for (const data of this.early.splice(0)) this.write(data);
      })
      .catch((e: unknown) => fail(`The MPEG-1 player could not be loaded: ${errorMessage(e)}`));
  }

  write(data: ArrayBuffer): void {
    if (this.player) (this.player.source as SocketFedSource).write(data);
    else this.early.push(data);
  }

  end(): void {
    // JSMpeg decodes what it was given; nothing more comes.
  }

  position(): number {
    return Math.max(0, this.player?.currentTime || 0);
  }

  dispose(): void {
    this.disposed = true;
    this.early.length = 0;
    this.player?.destroy();
  }
}

/** One window's stream: the socket, and the output the latest `start` asked for. */
export class VideoStream {
  private readonly socket: WebSocket;
  private output: Output | null = null;
  private state: PlayerState = 'connecting';
  private closedHere = false;
  /** A new `start` replaced the output: the stream plays again once the new output shows a frame. */
  private restarting = false;

  constructor(
    private readonly host: HTMLElement,
    url: string,
    private readonly live: boolean,
    private readonly events: PlayerEvents,
  ) {
    this.socket = new WebSocket(socketUrl(url));
    this.socket.binaryType = 'arraybuffer';
    this.socket.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
      if (typeof event.data === 'string') this.control(event.data);
      else this.data(event.data);
    };
    this.socket.onclose = (event) => {
      if (this.closedHere || this.state === 'ended' || this.state === 'error') return;
      this.fail('CONNECTION_CLOSED', event.reason || 'The connection to the video closed.');
    };
  }

  /** Seconds played since the latest `start` (for the recorded time of a playback). */
  position(): number {
    return this.output?.position() ?? 0;
  }

  close(): void {
    this.closedHere = true;
    this.socket.close(1000);
    this.output?.dispose();
    this.output?.element.remove();
    this.output = null;
  }

  private setState(state: PlayerState, problem?: { code: string; message: string }): void {
    if (this.state === state && !problem) return;
    this.state = state;
    this.events.state(state, problem);
  }

  private fail(code: string, message: string): void {
    this.setState('error', { code, message });
    if (!this.closedHere) {
      this.closedHere = true;
      this.socket.close(1000);
    }
  }

  private control(text: string): void {
    let message: IngestMessage;
    try {
      message = JSON.parse(text) as IngestMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'start':
        this.begin(message);
        break;
      case 'stalled':
        if (this.state !== 'error' && this.state !== 'ended') this.setState('stalled');
        break;
      case 'end':
        this.output?.end();
        this.setState('ended');
        break;
      case 'error':
        this.fail(message.code, message.message);
        break;
    }
  }

  private data(data: ArrayBuffer): void {
    if (!this.output) return;
    if (this.state === 'stalled' && !this.restarting) this.setState('playing');
    this.output.write(data);
  }

  /** A first or a new `start`: a fresh output, reusing the element when the format stays. */
  private begin(start: MediaStart): void {
    const previous = this.output;
    previous?.dispose();
    this.output = null;
    this.restarting = previous !== null;
    this.events.start(start);
    const playing = (): void => {
      this.restarting = false;
      if (this.state !== 'error' && this.state !== 'ended') this.setState('playing');
    };
    if (start.format === 'fmp4') {
      if (typeof MediaSource === 'undefined' || !MediaSource.isTypeSupported(start.mime)) {
        this.fail('UNSUPPORTED_VIDEO', `This browser cannot play this video (${start.mime}). Try another browser, or the sub stream.`);
        return;
      }
      const video = previous?.element instanceof HTMLVideoElement ? previous.element : this.element('video');
      this.output = new Mp4Output(video, start.mime, this.live, playing, (message) => this.fail('PLAYER_FAILED', message));
    } else {
      // A new canvas: JSMpeg keeps its own decoder state per canvas.
      this.output = new MpegTsOutput(this.element('canvas'), playing, (message) => this.fail('PLAYER_FAILED', message));
    }
  }

  private element(kind: 'video'): HTMLVideoElement;
  private element(kind: 'canvas'): HTMLCanvasElement;
  private element(kind: 'video' | 'canvas'): HTMLVideoElement | HTMLCanvasElement {
    this.host.replaceChildren();
    if (kind === 'canvas') {
      const canvas = document.createElement('canvas');
      this.host.append(canvas);
      return canvas;
    }
    const video = document.createElement('video');
    // Muted and inline, so browsers let it start by itself.
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.disablePictureInPicture = true;
    this.host.append(video);
    return video;
  }
}

/** A window of the live view or playback page. */
export interface VideoWindow {
  /** Unique on the page; keys the window's player. */
  id: number;
  source: VideoSource;
  stream: MediaStreamName;
  /** The stream was chosen by hand, so a layout change does not switch it. */
  streamChosen: boolean;
  mode: 'live' | 'playback';
  /** Playback: the recorded time it starts at. */
  from?: string;
  /** Bumped to open the window again (new stream, time or verification code). */
  generation: number;
  /** The box found PTZ on the device when it opened the window. */
  ptz?: boolean;
}

/** The drag format of a source taken from the list onto a window. */
export const SOURCE_DRAG_TYPE = 'application/x-vigil-video-source';

export function sourceKey(source: { deviceId: string; channel: number | null }): string {
  return `${source.deviceId}:${source.channel ?? ''}`;
}

export function isVerificationRefusal(code: string | null | undefined): boolean {
  return code === VideoErrorCode.verificationCodeRequired || code === VideoErrorCode.verificationCodeWrong;
}

/** What a window says for a refusal of the API or of the box. */
export function refusalText(code: string, message: string): string {
  switch (code) {
    case VideoErrorCode.liveViewLimit:
      return `At most ${LIVE_VIEW_WINDOW_LIMIT} live-view windows at once. Close one to open another.`;
    case VideoErrorCode.playbackLimit:
      return `At most ${PLAYBACK_WINDOW_LIMIT} playback windows at once. Close one to open another.`;
    case VideoErrorCode.deviceOffline:
      return 'The device is offline. Video is available once it is back online.';
    case 'PERMISSION_DENIED':
      return 'You do not have permission to watch this device.';
    case VideoErrorCode.verificationCodeRequired:
      return 'Image and video encryption is on for this device: enter its verification code to watch it.';
    case VideoErrorCode.verificationCodeWrong:
      return 'The verification code is wrong. Enter the device verification code again.';
    default:
      return message;
  }
}

/** The code and message of a failed request, for a window. */
export function refusalOf(error: unknown): { code: string; message: string } {
  const code = error instanceof ApiError ? error.code : 'FAILED';
  return { code, message: refusalText(code, errorMessage(error)) };
}

/** A clip's range checked against the longest the portal downloads. */
export function clipProblem(from: number, to: number): { code: string; message: string } | null {
  if (!(to > from)) return { code: 'CLIP_RANGE', message: 'The clip must end after it starts.' };
  if ((to - from) / 1000 > CLIP_MAX_SECONDS) {
    return { code: VideoErrorCode.clipTooLong, message: `A clip can be at most ${CLIP_MAX_SECONDS / 60} minutes long. Choose a shorter range.` };
  }
  return null;
}

/** Saves a blob under a file name, as a download. */
export function saveBlob(blob: Blob, fileName: string): void {
  const href = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = href;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/** "2026-12-02 14-05-09": a timestamp that is safe in a file name. */
export function fileTime(at: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())} ${p(at.getHours())}-${p(at.getMinutes())}-${p(at.getSeconds())}`;
}

import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  CLIP_MAX_LENGTH_SECONDS,
  ClipDropReason,
  type ClipChannelConfig,
  type ClipEventType,
  type ClipsStatusResult,
} from '@vigil/protocol';
import { DEVICE_SERVICE_PATH } from '@vigil/protocol/onvif';
import { CameraEventSubscriber, RecorderEventSubscriber } from '../events/index.js';
import type { Logger } from '../log.js';
import { deviceKeyOf, RECORDER_USER, VideoDevices, type DeviceTarget } from '../media/devices.js';
import { withAccount } from '../media/ffmpeg.js';
import { probeRtsp } from '../media/rtsp-probe.js';
import { ClipQueue, type ClipRecordWithEvents } from './queue.js';
import { ChannelRecorder, type ClipFailure, type ClipFiles } from './recorder.js';
import { inSchedule } from './schedule.js';
import { ClipUploader } from './uploader.js';

/** A channel to record, with its device resolved by the agent (null when the box does not know it, see `problem`). */
export interface ResolvedClipChannel extends ClipChannelConfig {
  target: DeviceTarget | null;
  problem?: string;
}

/** Where clips go: the configured URL and the box's own login (its serial and MQTT secret). */
export interface ClipUploadTarget {
  uploadUrl: string;
  serial: string;
  secret: string;
  limitKbps: number | null;
}

export interface ClipServiceConfig {
  /** null: clips are recorded and kept, not sent (the box has no login yet). */
  upload: ClipUploadTarget | null;
  channels: ResolvedClipChannel[];
}

export interface ClipServiceOptions {
  dataDir: string;
  quotaBytes: number;
  log: Logger;
  ffmpegPath?: string;
  /** The wait before opening a failed stream again, doubling up to the maximum (defaults 2 s and 60 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

/** A device event as the subscribers report it; recorder events name their channel. */
interface Detection {
  type: ClipEventType;
  active: boolean;
  at: number;
  channel?: number;
}

type ChannelState = ClipsStatusResult['channels'][number]['state'];

/** The folder name of a channel's ring: channel keys hold a colon. */
const folderOf = (channelKey: string): string => channelKey.replace(/[^A-Za-z0-9_-]/g, '_');

/** The longest post time that keeps a clip of `pre` seconds within the clip length limit. */
const postWithin = (pre: number, post: number): number => Math.min(post, CLIP_MAX_LENGTH_SECONDS - pre);

const hostInUrl = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/**
 * One device's event subscription and the channels it feeds: a camera's ONVIF pull point, or a recorder's ISAPI
 * alert stream (its events name the channel).
 */
class EventSource {
  subscribed = false;
  readonly channels = new Set<ChannelRecording>();
  private readonly subscriber: CameraEventSubscriber | RecorderEventSubscriber;

  constructor(
    readonly key: string,
    target: DeviceTarget,
    private readonly log: Logger,
  ) {
    const up = (): void => {
      this.subscribed = true;
    };
    const down = (err: Error, retryInMs: number): void => {
      if (this.subscribed) this.log.warn('event subscription lost', { source: key, error: err.message, retryInMs });
      this.subscribed = false;
    };
    if (target.kind === 'camera') {
      const camera = new CameraEventSubscriber({
        deviceServiceUrl: `http://${hostInUrl(target.host)}:${target.port}${DEVICE_SERVICE_PATH}`,
        account: { username: target.username, password: target.password },
      });
      camera.on('subscribed', up).on('failure', down).on('detection', (e) => this.deliver(e));
      this.subscriber = camera;
    } else {
      const recorder = new RecorderEventSubscriber({ host: target.ip, httpPort: target.httpPort, username: target.username ?? RECORDER_USER, password: target.password });
      recorder.on('connected', up).on('failure', down).on('detection', (e) => this.deliver(e));
      this.subscriber = recorder;
    }
    this.subscriber.start();
  }

  private deliver(d: Detection): void {
    if (!d.active) return;
    for (const c of this.channels) if (d.channel === undefined || d.channel === c.channelNumber) c.onEvent(d.type, d.at);
  }

  stop(): Promise<void> {
    return this.subscriber.stop();
  }
}

interface RecordingDeps {
  ringsDir: string;
  clipsDir: string;
  devices: VideoDevices;
  log: Logger;
  ffmpegPath: string | undefined;
  retryInitialMs: number;
  retryMaxMs: number;
  onClip: (channel: ChannelRecording, record: ClipRecordWithEvents, files: ClipFiles) => void;
  onFailure: (channel: ChannelRecording, failure: ClipFailure) => void;
}

/**
 * One channel: its ring buffer (opened again with a doubling wait when the stream cannot be opened) and the rules
 * that turn its device's events into clips.
 */
class ChannelRecording {
  state: ChannelState = 'starting';
  error: string | undefined;
  lastEventAt: number | null = null;
  lastClipAt: number | null = null;
  source: EventSource | null = null;
  private recorder: ChannelRecorder | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs: number;
  private stopped = false;
  private opening: Promise<void> = Promise.resolve();

  constructor(
    public config: ResolvedClipChannel,
    /** What the ring depends on: the same device login and stream keep it running across configurations. */
    readonly streamKey: string,
    private readonly deps: RecordingDeps,
  ) {
    this.retryMs = deps.retryInitialMs;
  }

  get channelKey(): string {
    return this.config.channelKey;
  }

  /** The device's channel number (1 for a camera): recorder events name it. */
  get channelNumber(): number {
    return this.config.source.kind === 'recorder' ? this.config.source.channel : 1;
  }

  get pre(): number {
    return this.config.preSeconds;
  }

  get post(): number {
    return postWithin(this.config.preSeconds, this.config.postSeconds);
  }

  start(): void {
    const target = this.config.target;
    if (!target) {
      this.fail(this.config.problem ?? 'the box does not know the device');
      return;
    }
    this.opening = this.open(target);
  }

  /** Takes new settings with the same stream: the ring goes on. */
  update(config: ResolvedClipChannel): void {
    this.config = config;
    this.recorder?.setClipRange(this.pre, this.post);
  }

  onEvent(type: ClipEventType, at: number): void {
    const c = this.config;
    if (!c.triggers.includes(type) || at > c.activeUntil || !inSchedule(c.schedule, at)) return;
    if (!this.recorder || this.stopped) return;
    this.lastEventAt = at;
    try {
      this.recorder.trigger(at, { type, preSeconds: this.pre, postSeconds: this.post });
    } catch (err) {
      this.deps.log.warn('event not recorded', { channelKey: this.channelKey, type, at, error: (err as Error).message });
    }
  }

  private async open(target: DeviceTarget): Promise<void> {
    const device = this.deps.devices.for(target);
    let recorder: ChannelRecorder;
    try {
      const url = await device.streamUrl(this.config.stream, { kind: 'live' });
      const description = await probeRtsp(url, device.account);
      if (this.stopped) return;
      // A stream with the wrong codec, say, is refused here and asked again later (the installer may change it).
      recorder = new ChannelRecorder({
        channelId: this.channelKey,
        url: withAccount(url, device.account.username, device.account.password),
        description,
        ringDir: path.join(this.deps.ringsDir, folderOf(this.channelKey)),
        clipsDir: this.deps.clipsDir,
        preSeconds: this.pre,
        postSeconds: this.post,
        log: this.deps.log,
        ...(this.deps.ffmpegPath ? { ffmpegPath: this.deps.ffmpegPath } : {}),
      });
    } catch (err) {
      this.retry(err instanceof Error ? err.message : String(err));
      return;
    }
    recorder.on('segment', () => {
      this.state = 'buffering';
      this.error = undefined;
      this.retryMs = this.deps.retryInitialMs;
    });
    recorder.on('dropped', ({ code, stderr }) => this.fail(stderr.trim().split('\n').at(-1) || `the stream ended (ffmpeg exit ${code ?? 'by signal'})`));
    recorder.on('clip', (record, files) => {
      this.lastClipAt = Date.now();
      this.deps.onClip(this, record, files);
    });
    recorder.on('clipFailed', (failure) => this.deps.onFailure(this, failure));
    try {
      await recorder.start();
    } catch (err) {
      await recorder.stop();
      this.retry(`the ring buffer cannot start: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.recorder = recorder;
  }

  /** The error goes to the cloud in `clips.status`: the device login (in a URL of ffmpeg's message, say) is taken out. */
  private fail(error: string): void {
    this.state = 'failed';
    let text = error.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1');
    const password = this.config.target?.password;
    if (password) for (const form of new Set([password, encodeURIComponent(password)])) text = text.split(form).join('***');
    this.error = text.slice(0, 1024);
  }

  private retry(error: string): void {
    this.fail(error);
    if (this.stopped) return;
    this.deps.log.warn('clip stream not opened, trying again', { channelKey: this.channelKey, error, inMs: this.retryMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.start();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, this.deps.retryMaxMs);
  }

  /** Stops the ring; clips still open are written with the footage there is. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.opening.catch(() => undefined);
    await this.recorder?.stop();
  }
}

/**
 * The clips worker's heart: from the cloud's settings, a ring buffer per channel and an event subscription per
 * device; the events the channel records (its triggers, inside its schedule, while its service is active) make
 * clips, which go into the durable upload queue. Applying new settings restarts only what changed.
 */
export class ClipService {
  private readonly channels = new Map<string, ChannelRecording>();
  private readonly sources = new Map<string, EventSource>();
  private readonly deps: RecordingDeps;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(
    readonly queue: ClipQueue,
    readonly uploader: ClipUploader,
    private readonly opts: ClipServiceOptions,
    ringsDir: string,
    clipsDir: string,
  ) {
    const log = opts.log;
    this.deps = {
      ringsDir,
      clipsDir,
      devices: new VideoDevices(),
      log,
      ffmpegPath: opts.ffmpegPath,
      retryInitialMs: opts.retryInitialMs ?? 2_000,
      retryMaxMs: opts.retryMaxMs ?? 60_000,
      onClip: (channel, record, files) => {
        queue.add(record, files).catch((err: unknown) => log.error('clip not queued', { channelKey: channel.channelKey, clipId: record.clipId, err }));
      },
      onFailure: (channel, failure) => {
        log.warn('clip not recorded', { channelKey: channel.channelKey, clipId: failure.clipId, reason: failure.reason });
        queue
          .recordFailure({
            clipId: failure.clipId,
            channelKey: channel.channelKey,
            events: failure.events,
            reason: ClipDropReason.recordingFailed,
            message: failure.reason,
            bytes: 0,
          })
          .catch((err: unknown) => log.error('clip failure not kept', { channelKey: channel.channelKey, err }));
      },
    };
  }

  /** Opens the queue in `${dataDir}/clips/queue` and starts its uploader; rings of an earlier run are cleared. */
  static async open(opts: ClipServiceOptions): Promise<ClipService> {
    const root = path.join(opts.dataDir, 'clips');
    const ringsDir = path.join(root, 'rings');
    await rm(ringsDir, { recursive: true, force: true });
    await mkdir(ringsDir, { recursive: true });
    const clipsDir = path.join(root, 'queue');
    const queue = await ClipQueue.open({ dir: clipsDir, quotaBytes: opts.quotaBytes, log: opts.log });
    const uploader = new ClipUploader({ queue, log: opts.log });
    uploader.start();
    return new ClipService(queue, uploader, opts, ringsDir, clipsDir);
  }

  /** Applies settings after those given before (calls never overlap). */
  apply(config: ClipServiceConfig): Promise<void> {
    const next = this.chain.then(() => this.applyNow(config));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async applyNow(config: ClipServiceConfig): Promise<void> {
    if (this.stopped) throw new Error('the clip service is stopped');
    try {
      this.uploader.configure(config.upload);
    } catch (err) {
      // The channels still record: their clips wait in the queue for a usable upload target.
      this.opts.log.error('clips are not uploaded: the upload target is not usable', { error: (err as Error).message });
      this.uploader.configure(null);
    }
    const wanted = new Map(config.channels.map((c) => [c.channelKey, c]));
    const stopping: Promise<void>[] = [];
    for (const [key, channel] of this.channels) {
      const c = wanted.get(key);
      if (c && channel.streamKey === streamKeyOf(c)) continue;
      this.channels.delete(key);
      this.detach(channel);
      stopping.push(channel.stop());
    }
    // A ring being replaced lets go of its folder before the new one takes it.
    await Promise.all(stopping);
    for (const c of config.channels) {
      const known = this.channels.get(c.channelKey);
      if (known) {
        known.update(c);
        continue;
      }
      const channel = new ChannelRecording(c, streamKeyOf(c), this.deps);
      this.channels.set(c.channelKey, channel);
      this.attach(channel);
      channel.start();
    }
    await this.dropUnusedSources();
  }

  private attach(channel: ChannelRecording): void {
    const target = channel.config.target;
    if (!target) return;
    // One subscription per device: a recorder's channels share one.
    const key = deviceKeyOf(target);
    let source = this.sources.get(key);
    if (!source) {
      try {
        source = new EventSource(key, target, this.opts.log);
      } catch (err) {
        // The ring still runs: its state says it buffers, `eventsSubscribed` says no events come.
        this.opts.log.error('no event subscription for the channel', { channelKey: channel.channelKey, error: (err as Error).message });
        return;
      }
      this.sources.set(key, source);
    }
    source.channels.add(channel);
    channel.source = source;
  }

  private detach(channel: ChannelRecording): void {
    channel.source?.channels.delete(channel);
    channel.source = null;
  }

  private async dropUnusedSources(): Promise<void> {
    const unused = [...this.sources.values()].filter((s) => s.channels.size === 0);
    for (const s of unused) this.sources.delete(s.key);
    await Promise.all(unused.map((s) => s.stop()));
  }

  status(): ClipsStatusResult {
    return {
      channels: [...this.channels.values()].map((c) => ({
        channelKey: c.channelKey,
        state: c.state,
        eventsSubscribed: c.source?.subscribed ?? false,
        lastEventAt: c.lastEventAt,
        lastClipAt: c.lastClipAt,
        ...(c.error === undefined ? {} : { error: c.error }),
      })),
      queue: this.queue.stats(),
    };
  }

  /** Stops the rings (open clips are written and queued), the subscriptions and the uploader, then closes the queue. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.chain;
    const channels = [...this.channels.values()];
    this.channels.clear();
    for (const c of channels) this.detach(c);
    await Promise.all(channels.map((c) => c.stop()));
    await this.dropUnusedSources();
    await this.uploader.stop();
    await this.queue.close();
  }
}

/** The ring's identity: the device, its login and the stream (the event subscription follows the device). */
function streamKeyOf(c: ResolvedClipChannel): string {
  return JSON.stringify({ target: c.target, stream: c.stream });
}

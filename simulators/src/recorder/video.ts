/**
 * The video side of a simulated NVR/DVR: an RTSP server with each channel's live streams
 * (`/Streaming/Channels/N01` main, `N02` sub), playback of its recordings from a time
 * (`/Streaming/tracks/N01?starttime=YYYYMMDDTHHMMSSZ&endtime=...`, one source per viewer, its overlay showing
 * the recorded time), and the ISAPI content search over those recordings.
 */
import {
  STREAM_ENCRYPTION_HEADER,
  SearchStatus,
  buildContentSearchResult,
  channelOfTrack,
  fail,
  ok,
  parseContentSearch,
  parsePlaybackQuery,
  playbackUri,
  searchPage,
  type Result,
  type SearchMatch,
} from '@vigil/protocol';
import { RtspServer, resolveStreamSpec, type DynamicStream, type RtspAccount, type RtspStreamSpec } from '../rtsp/index.js';
import { Recordings, type RecordingOptions } from './recordings.js';

export const LIVE_PREFIX = '/Streaming/Channels';
export const PLAYBACK_PREFIX = '/Streaming/tracks';

const DEFAULT_STREAMS: Record<'main' | 'sub', RtspStreamSpec> = {
  main: { width: 1280, height: 720, fps: 15, bitrateKbps: 1024 },
  sub: { width: 640, height: 360, fps: 10, bitrateKbps: 256 },
};

export interface RecorderVideoOptions {
  /** The address the RTSP server listens on. */
  listenHost: string;
  /** 0 (default) picks a free port. */
  port?: number;
  realm: string;
  /** The device's admin account now; undefined (not activated) lets nobody in. */
  account: () => RtspAccount | undefined;
  /** The channels that exist now (an NVR's IP and PoE channels, a DVR's analog inputs). */
  channels: () => number[];
  /** The device clock (ms since the epoch). */
  now: () => number;
  /** Text in the overlay, before the channel. */
  label: string;
  recording?: RecordingOptions;
  /** Overrides of the main and sub stream specs (tests use small ones). */
  streams?: { main?: RtspStreamSpec; sub?: RtspStreamSpec };
  /** With image and video encryption on: the key RTSP URLs must carry as `key` (asked at each DESCRIBE and SETUP). */
  streamKey?: () => string | undefined;
  idleStopMs?: number;
  sessionTimeoutSec?: number;
}

/** Why an encrypted device refuses a stream URL's `key`, as an RTSP answer; undefined when the key opens it. */
export function streamKeyRefusal(query: URLSearchParams, expected: string | undefined): { status: number; headers: Record<string, string> } | undefined {
  if (expected === undefined) return undefined;
  const given = query.get('key');
  if (given === null || given === '') return { status: 403, headers: { [STREAM_ENCRYPTION_HEADER]: 'key-required' } };
  return given === expected ? undefined : { status: 403, headers: { [STREAM_ENCRYPTION_HEADER]: 'key-wrong' } };
}

export class RecorderVideo {
  readonly rtsp: RtspServer;
  readonly recordings: Recordings;
  private readonly streams: Record<'main' | 'sub', RtspStreamSpec>;

  /** Throws on bad recording options or stream specs. */
  constructor(private readonly opts: RecorderVideoOptions) {
    this.recordings = new Recordings(opts.recording ?? {}, opts.now);
    this.streams = { main: { ...DEFAULT_STREAMS.main, ...opts.streams?.main }, sub: { ...DEFAULT_STREAMS.sub, ...opts.streams?.sub } };
    for (const name of ['main', 'sub'] as const) {
      const checked = resolveStreamSpec(this.streams[name], name);
      if (!checked.ok) throw new RangeError(`channelStreams.${name}: ${checked.error}`);
    }
    this.rtsp = new RtspServer({
      host: opts.listenHost,
      port: opts.port ?? 0,
      account: opts.account,
      realm: opts.realm,
      guard: (_path, query) => streamKeyRefusal(query, opts.streamKey?.()),
      ...(opts.idleStopMs === undefined ? {} : { idleStopMs: opts.idleStopMs }),
      ...(opts.sessionTimeoutSec === undefined ? {} : { sessionTimeoutSec: opts.sessionTimeoutSec }),
    });
    this.rtsp.addDynamicStreams(PLAYBACK_PREFIX, (path, query) => this.playback(path, query));
  }

  get port(): number {
    return this.rtsp.port;
  }

  async start(): Promise<number> {
    await this.syncChannels();
    return (await this.rtsp.start()).port;
  }

  stop(): Promise<void> {
    return this.rtsp.stop();
  }

  /** Serves the live streams of the channels that exist now and ends those of channels that went. */
  async syncChannels(): Promise<void> {
    const wanted = new Map<string, RtspStreamSpec>();
    for (const channel of this.opts.channels()) {
      for (const [name, n] of [['main', 1], ['sub', 2]] as const) {
        wanted.set(`${LIVE_PREFIX}/${channel * 100 + n}`, { ...this.streams[name], label: `${this.opts.label} ch${channel} ${name}` });
      }
    }
    const have = new Set(this.rtsp.streams().map((s) => s.path));
    await Promise.all([...have].filter((p) => p.startsWith(`${LIVE_PREFIX}/`) && !wanted.has(p)).map((p) => this.rtsp.removeStream(p)));
    for (const [path, spec] of wanted) if (!have.has(path)) this.rtsp.addStream(path, spec);
  }

  /** Answers a CMSearchDescription with one page of matches; `rtspBase` is `rtsp://host:port` for the playback URIs. */
  search(body: Uint8Array, rtspBase: string): Result<string> {
    const q = parseContentSearch(body);
    if (!q.ok) return fail(q.error);
    const { searchId, trackIds, timeSpans, recordTypes, searchResultPosition, maxResults } = q.value;
    const existing = new Set(this.opts.channels());
    const all: SearchMatch[] = [];
    for (const trackId of new Set(trackIds)) {
      const track = channelOfTrack(trackId);
      // Recorders here record the main stream only.
      if (!track || track.stream !== 'main' || !existing.has(track.channel)) continue;
      const seen = new Set<number>();
      const found = timeSpans
        .flatMap((span) => this.recordings.segments(track.channel, span.start, span.end))
        .filter((s) => !seen.has(s.from) && seen.add(s.from) && (!recordTypes || recordTypes.includes(s.type)))
        .sort((a, b) => a.from - b.from);
      for (const s of found) all.push({ trackId, start: s.from, end: s.to, recordType: s.type, playbackUri: playbackUri(rtspBase, trackId, s.from, s.to) });
    }
    const { status, page } = searchPage(all, searchResultPosition, maxResults);
    return ok(buildContentSearchResult({ searchId, status, matches: status === SearchStatus.noMatches ? [] : page }));
  }

  /** A DESCRIBE of `/Streaming/tracks/N01?starttime=...`: a source from that time to `endtime` or the end of that recording. */
  private playback(path: string, query: URLSearchParams): DynamicStream | { status: number; headers?: Record<string, string> } {
    const m = /^\/Streaming\/tracks\/(\d{3,6})$/.exec(path);
    const track = m ? channelOfTrack(Number(m[1])) : undefined;
    if (!track || track.stream !== 'main' || !this.opts.channels().includes(track.channel)) return { status: 404 };
    const times = parsePlaybackQuery(query);
    if (!times.ok) return { status: 400, headers: { 'X-Error': times.error } };
    const recording = this.recordings.recordingAt(track.channel, times.value.start);
    if (!recording) return { status: 404, headers: { 'X-Error': 'no recording at starttime' } };
    const end = Math.min(times.value.end ?? Infinity, recording.to);
    return {
      spec: { ...this.streams.main, label: `${this.opts.label} ch${track.channel} playback` },
      playback: { startsAtMs: times.value.start, durationMs: end - times.value.start },
    };
  }
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClipEventType } from '@vigil/protocol';
import { FfmpegProcess } from '../media/ffmpeg.js';
import type { TimedSegment } from './ring.js';

/** A hole shorter than this between the covered and the asked range is segment rounding, not a gap. */
const GAP_TOLERANCE_MS = 500;

/** A stretch of the asked range the clip does not cover (the stream was down), in epoch milliseconds. */
export interface ClipGap {
  from: number;
  to: number;
}

/** An event that made (or extended) a clip: its type and when it happened on the box's clock. */
export interface ClipEvent {
  type: ClipEventType;
  at: number;
}

/** What the sidecar JSON of a clip says. Times are epoch milliseconds. */
export interface ClipRecord {
  /** Made when the clip is first asked for: the cloud knows the clip by it, so sending it again makes no second one. */
  clipId: string;
  channelId: string;
  /** Every event merged into the clip, oldest first, with its type. */
  events: ClipEvent[];
  /** The times of `events`. */
  eventTimes: number[];
  /** The range asked for: first event − pre to last event + post. */
  requestedStart: number;
  requestedEnd: number;
  /** The real first and last covered times (whole segments, from key frame to key frame). */
  startAt: number;
  endAt: number;
  /** The footage in the file (the gaps left out). */
  durationSeconds: number;
  /** Parts of the asked range with no footage; empty when the clip is complete. */
  gaps: ClipGap[];
  partial: boolean;
  /** File names in the clips folder. */
  video: string;
  thumbnail: string;
  bytes: number;
  sha256: string;
}

export interface AssembleInput {
  clipId: string;
  channelId: string;
  /** Oldest first (not empty). */
  events: ClipEvent[];
  requestedStart: number;
  requestedEnd: number;
  /** The segments covering the range, oldest first (not empty). */
  segments: TimedSegment[];
  /** H.265 gets the `hvc1` tag players expect in MP4. */
  hevc: boolean;
  clipsDir: string;
  /** The file stem of the clip in the clips folder. */
  name: string;
  ffmpegPath?: string;
}

/** The parts of [from, to] that no segment covers. */
export function gapsIn(from: number, to: number, segments: readonly TimedSegment[]): ClipGap[] {
  const gaps: ClipGap[] = [];
  let at = from;
  for (const s of segments) {
    if (s.startAt - at > GAP_TOLERANCE_MS) gaps.push({ from: at, to: Math.min(s.startAt, to) });
    at = Math.max(at, s.endAt);
    if (at >= to) break;
  }
  if (to - at > GAP_TOLERANCE_MS) gaps.push({ from: at, to });
  return gaps;
}

/** Where `at` falls in the joined footage (gaps left out), in seconds: the first frame after it when in a gap. */
export function offsetInClip(at: number, segments: readonly TimedSegment[]): number {
  let acc = 0;
  for (const s of segments) {
    const length = s.streamEnd - s.streamStart;
    if (at < s.startAt) return acc;
    if (at < s.endAt) return acc + (at - s.startAt) / 1000;
    acc += length;
  }
  return 0;
}

/**
 * Joins the segments into an MP4 (`-c copy`, moov first), takes a JPEG at the first event, hashes the MP4 and
 * writes the sidecar. Each file is written under a temporary name and renamed, the sidecar last: a sidecar on
 * disk means the clip is whole.
 */
export async function assembleClip(input: AssembleInput): Promise<ClipRecord> {
  const { clipsDir, name, segments } = input;
  const video = `${name}.mp4`;
  const thumbnail = `${name}.jpg`;
  const list = path.join(clipsDir, `.${name}.ffconcat`);
  const videoTmp = path.join(clipsDir, `.${video}.part`);
  const thumbTmp = path.join(clipsDir, `.${thumbnail}.part`);
  const sidecarTmp = path.join(clipsDir, `.${name}.json.part`);
  try {
    const lines = ['ffconcat version 1.0'];
    for (const s of segments) lines.push(`file '${s.file.replace(/'/g, "'\\''")}'`, `duration ${(s.streamEnd - s.streamStart).toFixed(6)}`);
    await writeFile(list, `${lines.join('\n')}\n`);
    await runFfmpeg(
      ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy', ...(input.hevc ? ['-tag:v', 'hvc1'] : []), '-movflags', '+faststart', '-f', 'mp4', videoTmp],
      input.ffmpegPath,
      'joining the segments',
    );
    const thumbArgs = (seek: number): string[] =>
      ['-hide_banner', '-loglevel', 'error', '-y', '-ss', seek.toFixed(3), '-i', videoTmp, '-map', '0:v:0', '-frames:v', '1', '-q:v', '5', '-f', 'image2', '-c:v', 'mjpeg', '-update', '1', thumbTmp];
    await runFfmpeg(thumbArgs(offsetInClip(input.events[0]!.at, segments)), input.ffmpegPath, 'taking the thumbnail');
    // An event in the last instant (or a gap at the end) has no frame after it: the first frame stands in.
    if (!(await nonEmpty(thumbTmp))) await runFfmpeg(thumbArgs(0), input.ffmpegPath, 'taking the thumbnail');
    if (!(await nonEmpty(thumbTmp))) throw new Error('taking the thumbnail failed: the clip has no video frame');
    const bytes = (await stat(videoTmp)).size;
    const first = segments[0]!;
    const last = segments.at(-1)!;
    const gaps = gapsIn(input.requestedStart, input.requestedEnd, segments);
    const record: ClipRecord = {
      clipId: input.clipId,
      channelId: input.channelId,
      events: input.events.map((e) => ({ ...e })),
      eventTimes: input.events.map((e) => e.at),
      requestedStart: input.requestedStart,
      requestedEnd: input.requestedEnd,
      startAt: Math.round(first.startAt),
      endAt: Math.round(last.endAt),
      durationSeconds: Number(segments.reduce((sum, s) => sum + s.streamEnd - s.streamStart, 0).toFixed(3)),
      gaps: gaps.map((g) => ({ from: Math.round(g.from), to: Math.round(g.to) })),
      partial: gaps.length > 0,
      video,
      thumbnail,
      bytes,
      sha256: await sha256Of(videoTmp),
    };
    await writeFile(sidecarTmp, `${JSON.stringify(record, null, 2)}\n`);
    await rename(videoTmp, path.join(clipsDir, video));
    await rename(thumbTmp, path.join(clipsDir, thumbnail));
    await rename(sidecarTmp, path.join(clipsDir, `${name}.json`));
    return record;
  } finally {
    await Promise.all([list, videoTmp, thumbTmp, sidecarTmp].map((f) => rm(f, { force: true })));
  }
}

const nonEmpty = (file: string): Promise<boolean> => stat(file).then((s) => s.size > 0, () => false);

export function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function runFfmpeg(args: string[], command: string | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const f = new FfmpegProcess(args, command);
    f.on('exit', (code, stderr) => {
      if (code === 0) resolve();
      else reject(new Error(`${what} failed: ${stderr.slice(-300) || `ffmpeg exited with ${code ?? 'a signal'}`}`));
    });
  });
}

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { IpCameraSimulator } from '@vigil/simulators';
import { tempDir, quietLog } from '../../test/util.js';
import { withAccount } from '../../media/ffmpeg.js';
import { probeRtsp } from '../../media/rtsp-probe.js';
import type { Cleanups } from '../../media/test/cameras.js';
import { ChannelRecorder, type ChannelRecorderOptions } from '../recorder.js';

const run = promisify(execFile);

/** A started recorder of the camera's sub stream, with its ring and clips in a fresh temporary folder. */
export async function startRecorder(cleanups: Cleanups, cam: IpCameraSimulator, over: Partial<ChannelRecorderOptions> = {}): Promise<{ recorder: ChannelRecorder; dir: string }> {
  const { dir, remove } = await tempDir();
  cleanups.push(remove);
  const url = withAccount(cam.streamUri('sub'), 'admin', 'admin12345');
  const description = await probeRtsp(url, { username: 'admin', password: 'admin12345' });
  const recorder = new ChannelRecorder({ channelId: 'cam-1', url, description, ringDir: `${dir}/ring`, clipsDir: `${dir}/clips`, log: quietLog, ...over });
  await recorder.start();
  cleanups.push(() => recorder.stop());
  return { recorder, dir };
}

/** Resolves with the first emission of `event` that passes `test`, or fails after `ms`. */
export function next<T extends unknown[]>(emitter: { on(e: string, f: (...a: T) => void): unknown; off(e: string, f: (...a: T) => void): unknown }, event: string, ms = 20_000, test: (...a: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const on = (...a: T): void => {
      if (!test(...a)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(a);
    };
    emitter.on(event, on);
  });
}

/** ffprobe's view of a media file: container duration and stream codecs. */
export async function probeFile(file: string): Promise<{ duration: number; codecs: string[]; frames: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'format=duration:stream=codec_name,codec_type,nb_read_frames', '-of', 'json', file]);
  const j = JSON.parse(stdout) as { format: { duration: string }; streams: { codec_name: string; codec_type: string; nb_read_frames?: string }[] };
  const video = j.streams.find((s) => s.codec_type === 'video');
  return { duration: Number(j.format.duration), codecs: j.streams.map((s) => s.codec_name), frames: Number(video?.nb_read_frames ?? 0) };
}

/** Polls `check` until it holds, failing after `ms`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { VideoSession } from '@vigil/protocol/api';
import { eventually } from '../harness/process.js';
import { ffmpegPulling, startVideoSite, TestPlayer, VIDEO_PASSWORD, type VideoSite } from '../harness/video-site.js';
import { isClosing, onRelease } from './procs.js';
import { fmt, median, percentile, printTable, round, verdict } from './report.js';
import { cpuMs, mib, rssBytes } from './rss.js';

/**
 * Live video through the box (DESIGN.md: "ffmpeg -c copy of a 1080p 4 Mbps H.264 stream costs 0.7–1.0 % of a
 * core"): the edge's CPU and memory per live stream against a bare `ffmpeg -c copy` of the same RTSP stream into
 * fragmented MP4, and the time from the portal's request to the first video fragment at the player.
 *
 * Each of `streams` cameras serves a 1080p H.264 main stream (the simulators' ffmpeg encodes it; that cost is
 * the same in both runs and is not counted: only the box's processes, or the bare ffmpeg, are measured). The
 * box's figure is what its process tree (agent, workers, the ffmpeg it runs) uses above its idle level, divided
 * by the streams; the players connect through the cloud as the portal's do.
 */
export interface VideoBenchOptions {
  streams: number;
  /** How long CPU is measured in each run. */
  measureSec: number;
  /** Cold opens for the time-to-first-frame figures. */
  firstFrameRounds: number;
}

export interface VideoBenchResult {
  streams: number;
  bareCpuPctPerStream: number;
  edgeCpuPctPerStream: number;
  cloudCpuPctPerStream: number;
  ratioCpu: number;
  bareRssPerStreamBytes: number;
  edgeRssPerStreamBytes: number;
  ratioRss: number;
  firstFrameMs: number[];
  sharedFirstFrameMs: number[];
}

/** DESIGN.md's edge footprint target: CPU per stream within 1.5x of a bare `ffmpeg -c copy`. */
const CPU_MAX_RATIO = 1.5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function checkOpen(): void {
  if (isClosing()) throw new Error('video bench interrupted');
}

/** A process and everything it started, from /proc. */
function tree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

const safe = <T>(fn: () => T, fallback: T): T => {
  try {
    return fn();
  } catch {
    return fallback;
  }
};

/** CPU time and RSS of a set of processes over `sec`; processes that start or end meanwhile count for their part. */
async function measure(pids: () => number[], sec: number): Promise<{ cpuPct: number; rssBytes: number }> {
  const before = new Map(pids().map((p) => [p, safe(() => cpuMs(p), 0)]));
  await sleep(sec * 1000);
  const now = pids();
  let used = 0;
  for (const p of now) used += safe(() => cpuMs(p), 0) - (before.get(p) ?? 0);
  const rss = now.reduce((sum, p) => sum + safe(() => rssBytes(p), 0), 0);
  return { cpuPct: (used / (sec * 1000)) * 100, rssBytes: rss };
}

/** The bare baseline: ffmpeg pulling the camera's stream over RTSP/TCP and copying it into fragmented MP4. */
function bareCopy(site: VideoSite<Record<string, { serial: string; args: readonly string[] }>>, name: string): ChildProcess {
  const cam = site.cameras[name]!;
  const url = `rtsp://admin:${VIDEO_PASSWORD}@${cam.host}:${cam.rtsp}/Streaming/Channels/101`;
  const child = spawn(
    'ffmpeg',
    ['-nostdin', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', url, '-c', 'copy', '-an', '-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', 'pipe:1'],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  return child;
}

export async function runVideoBench(logDir: string, opts: VideoBenchOptions): Promise<VideoBenchResult> {
  const specs = Object.fromEntries(
    Array.from({ length: opts.streams }, (_, i) => [`cam${i}`, { serial: `BENCHCAM${String(i).padStart(4, '0')}`, args: [] as readonly string[] }]),
  );
  const site = await startVideoSite(logDir, specs);
  const release = onRelease('video site', () => site.stop());
  try {
    const names = Object.keys(specs);
    const edgeTree = () => tree(site.edge.pid);
    const cloudPid = site.cloudPid;

    // Bare ffmpeg, one per camera.
    checkOpen();
    const bare = names.map((n) => bareCopy(site, n));
    await sleep(3000);
    const bareFig = await measure(() => bare.map((c) => c.pid!).filter((p) => p !== undefined), opts.measureSec);
    for (const c of bare) c.kill('SIGINT');
    await Promise.all(bare.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));

    // The box idle, then with one live window per camera.
    checkOpen();
    const idle = await measure(edgeTree, opts.measureSec);
    const sessions: VideoSession[] = [];
    const players: TestPlayer[] = [];
    for (const n of names) {
      const s = await site.client.post<VideoSession>(`/devices/${site.cameras[n]!.deviceId}/video/sessions`, { mode: 'live', stream: 'main' });
      if (s.status !== 201) throw new Error(`live view of ${n}: ${JSON.stringify(s.body)}`);
      sessions.push(s.body);
      const p = new TestPlayer(site.cloudUrl, s.body);
      await p.open();
      players.push(p);
    }
    await Promise.all(players.map((p) => p.receives(2, 'video at every player')));
    const cloudStart = cpuMs(cloudPid);
    const busy = await measure(edgeTree, opts.measureSec);
    const cloudPct = ((cpuMs(cloudPid) - cloudStart) / (opts.measureSec * 1000)) * 100;
    await Promise.all(players.map((p) => p.close()));
    for (const n of names) {
      const rtsp = site.cameras[n]!.rtsp;
      await eventually(() => Promise.resolve(ffmpegPulling(rtsp)), (p) => p.length === 0, 'the box stopped pulling', 20_000);
    }

    // Time to the first fragment: cold (nothing pulls the camera) and joining a stream someone watches.
    const first = site.cameras[names[0]!]!;
    const firstFrameMs: number[] = [];
    const sharedFirstFrameMs: number[] = [];
    for (let i = 0; i < opts.firstFrameRounds; i++) {
      checkOpen();
      const t0 = performance.now();
      const s = await site.client.post<VideoSession>(`/devices/${first.deviceId}/video/sessions`, { mode: 'live', stream: 'main' });
      const p = new TestPlayer(site.cloudUrl, s.body);
      await p.open();
      await p.receives(2, 'the first fragment');
      firstFrameMs.push(performance.now() - t0);
      const t1 = performance.now();
      const s2 = await site.client.post<VideoSession>(`/devices/${first.deviceId}/video/sessions`, { mode: 'live', stream: 'main' });
      const p2 = new TestPlayer(site.cloudUrl, s2.body);
      await p2.open();
      await p2.receives(2, 'the first fragment of a shared stream');
      sharedFirstFrameMs.push(performance.now() - t1);
      await p.close();
      await p2.close();
      await eventually(() => Promise.resolve(ffmpegPulling(first.rtsp)), (x) => x.length === 0, 'the box stopped pulling', 20_000);
    }

    const streams = names.length;
    const bareCpu = bareFig.cpuPct / streams;
    const edgeCpu = Math.max(0, busy.cpuPct - idle.cpuPct) / streams;
    const bareRss = bareFig.rssBytes / streams;
    const edgeRss = Math.max(0, busy.rssBytes - idle.rssBytes) / streams;
    const r: VideoBenchResult = {
      streams,
      bareCpuPctPerStream: bareCpu,
      edgeCpuPctPerStream: edgeCpu,
      cloudCpuPctPerStream: cloudPct / streams,
      ratioCpu: edgeCpu / bareCpu,
      bareRssPerStreamBytes: bareRss,
      edgeRssPerStreamBytes: edgeRss,
      ratioRss: edgeRss / bareRss,
      firstFrameMs,
      sharedFirstFrameMs,
    };
    printTable(
      `Live view through the box: ${streams} cameras, 1080p H.264 main streams, one window each, ${opts.measureSec} s per figure`,
      ['figure', 'bare ffmpeg -c copy', 'edge box', 'ratio edge / bare'],
      [
        [`CPU per stream (% of a core; target ratio <= ${CPU_MAX_RATIO})`, fmt(bareCpu, 2), fmt(edgeCpu, 2), `${fmt(r.ratioCpu, 2)} ${verdict(r.ratioCpu <= CPU_MAX_RATIO)}`],
        ['memory per stream (MiB)', fmt(mib(bareRss), 1), fmt(mib(edgeRss), 1), fmt(r.ratioRss, 2)],
        ['cloud relay CPU per stream (% of a core)', '', fmt(r.cloudCpuPctPerStream, 2), ''],
        [
          `request to first fragment, cold: p50 / max of ${firstFrameMs.length}`,
          '',
          `${fmt(median(firstFrameMs))} / ${fmt(percentile(firstFrameMs, 100))} ms`,
          '',
        ],
        [
          'request to first fragment, joining a watched stream: p50 / max',
          '',
          `${fmt(median(sharedFirstFrameMs))} / ${fmt(percentile(sharedFirstFrameMs, 100))} ms`,
          '',
        ],
      ],
    );
    return r;
  } finally {
    await release();
  }
}

export function videoJson(r: VideoBenchResult, opts: VideoBenchOptions) {
  return {
    ...opts,
    bareCpuPctPerStream: round(r.bareCpuPctPerStream, 2),
    edgeCpuPctPerStream: round(r.edgeCpuPctPerStream, 2),
    cloudCpuPctPerStream: round(r.cloudCpuPctPerStream, 2),
    ratioCpu: round(r.ratioCpu, 2),
    targetMaxRatioCpu: CPU_MAX_RATIO,
    pass: r.ratioCpu <= CPU_MAX_RATIO,
    bareRssPerStreamBytes: Math.round(r.bareRssPerStreamBytes),
    edgeRssPerStreamBytes: Math.round(r.edgeRssPerStreamBytes),
    ratioRss: round(r.ratioRss, 2),
    firstFrameP50Ms: Math.round(median(r.firstFrameMs)),
    firstFrameMaxMs: Math.round(percentile(r.firstFrameMs, 100)),
    sharedFirstFrameP50Ms: Math.round(median(r.sharedFirstFrameMs)),
  };
}

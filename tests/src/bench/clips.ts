import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ChannelRecorder, ClipQueue, ClipUploader, createLogger, probeRtsp } from '@vigil/edge';
import { registerCompany } from '@vigil/cloud/testing';
import { channelKeyOf, DeviceKind } from '@vigil/protocol';
import { ENTRY, startProcess, type Proc } from '../harness/process.js';
import { startCloud } from './cloud.js';
import { isClosing, onRelease } from './procs.js';
import { fmt, printTable, round, verdict } from './report.js';
import { cpuMs, mib, rssBytes } from './rss.js';

/**
 * Event clips (issue: clips through the box). Two figures, each against a baseline in the same run:
 *  - upload: the box's resumable uploader sending N clip files to the cloud's clip ingestion (PostgreSQL index,
 *    checksums, store) against a raw HTTP copy of the same bytes over loopback into a file;
 *  - buffering: the box's CPU keeping a pre-event ring buffer of `channels` camera streams (one ffmpeg segmenter per
 *    channel plus the recorder's own work) against as many bare `ffmpeg -c copy` processes of the same streams.
 *    DESIGN.md's edge footprint target: within 1.5x.
 */
export interface ClipsBenchOptions {
  clips: number;
  clipMiB: number;
  channels: number;
  measureSec: number;
}

export interface ClipsBenchResult {
  rawMBps: number;
  uploadMBps: number;
  ratioUpload: number;
  channels: number;
  bareCpuPctPerChannel: number;
  edgeCpuPctPerChannel: number;
  ratioCpu: number;
  bareRssPerChannelBytes: number;
  edgeRssPerChannelBytes: number;
}

const CPU_MAX_RATIO = 1.5;
const PASSWORD = 'Bench-pass-2026';
/** The camera simulator serves at most 10 RTSP sessions; channels are spread over cameras of 8. */
const SESSIONS_PER_CAMERA = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const quiet = createLogger('error');

function checkOpen(): void {
  if (isClosing()) throw new Error('clips bench interrupted');
}

// ------------------------------------------------------------------------------------------------ upload

/** A bare HTTP server that writes each request body into a file, and a client streaming files to it. */
async function rawCopy(files: string[], dir: string): Promise<number> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    const out = createWriteStream(join(dir, `raw-${n++}`));
    req.pipe(out);
    out.on('close', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const t0 = performance.now();
  let bytes = 0;
  for (const file of files) {
    bytes += await new Promise<number>((resolve, reject) => {
      let sent = 0;
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(sent));
      });
      req.on('error', reject);
      const src = createReadStream(file);
      src.on('data', (c) => (sent += c.length));
      src.pipe(req);
    });
  }
  const sec = (performance.now() - t0) / 1000;
  await new Promise<void>((r) => server.close(() => r()));
  return bytes / 1e6 / sec;
}

/** A company, site, claimed box, camera and active cloud storage channel, written straight into the cloud's database. */
async function seedChannel(cloudHttp: number, databaseUrl: string): Promise<{ serial: string; secret: string; channelKey: string }> {
  const company = await registerCompany(`http://127.0.0.1:${cloudHttp}/api/v1`, 'Bench Clips');
  const site = await company.client.post<{ id: string }>('/sites', { name: 'Bench', type: 'personal', timeZone: 'UTC', offlineDelaySec: 300 });
  if (site.status !== 201) throw new Error(`site: ${JSON.stringify(site.body)}`);
  const serial = `VGEBENCH${randomBytes(3).toString('hex').toUpperCase()}`;
  const secret = randomBytes(24).toString('hex');
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(
      `INSERT INTO edges (serial, company_id, site_id, secret_hash, provisioned_at, claimed_at) VALUES ($1, $2, $3, $4, now(), now())`,
      [serial, company.companyId, site.body.id, sha256(Buffer.from(secret))],
    );
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO devices (company_id, site_id, edge_serial, device_key, kind, protocol, manufacturer, model, serial, firmware, name, host, port,
         channels, reported_online, reported_at, status)
       VALUES ($1, $2, $3, 'BENCHCAM', $4, 'onvif', 'Hikvision', 'DS-2CD2143G2-I', 'BENCHCAM', 'V5.7.0', 'Bench camera', '127.0.0.1', 80, 1, true, now(), 'online')
       RETURNING id`,
      [company.companyId, site.body.id, serial, DeviceKind.camera],
    );
    const deviceId = rows[0]!.id;
    await db.query(
      `INSERT INTO cloud_storage_channels (device_id, channel, enabled, stream, triggers, pre_seconds, post_seconds, retention_days, activated_at, expires_at)
       VALUES ($1, 1, true, 'main', $2, 5, 10, 30, now() - interval '1 day', now() + interval '1 year')`,
      [deviceId, JSON.stringify({ motion: { enabled: true, notifySurveillanceCenter: true } })],
    );
    return { serial, secret, channelKey: channelKeyOf(deviceId, 1) };
  } finally {
    await db.end();
  }
}

async function uploadFigures(logDir: string, opts: ClipsBenchOptions): Promise<{ rawMBps: number; uploadMBps: number }> {
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-clips-'));
  const removeWork = onRelease('clips bench files', () => Promise.resolve(rmSync(work, { recursive: true, force: true })));
  const cloud = await startCloud('cloud-clips', logDir);
  try {
    const { serial, secret, channelKey } = await seedChannel(cloud.http, cloud.databaseUrl);
    const queueDir = join(work, 'queue');
    mkdirSync(queueDir);
    const thumbnail = randomBytes(20_000);
    const videos: string[] = [];
    const records = [];
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < opts.clips; i++) {
      const name = `bench-${i}`;
      const video = randomBytes(opts.clipMiB * 1024 * 1024);
      writeFileSync(join(queueDir, `${name}.mp4`), video);
      writeFileSync(join(queueDir, `${name}.jpg`), thumbnail);
      videos.push(join(queueDir, `${name}.mp4`));
      const at = t0 + i * 1000;
      records.push({
        name,
        record: {
          clipId: randomUUID(),
          channelId: channelKey,
          events: [{ type: 'motion' as const, at }],
          startAt: at - 5000,
          endAt: at + 10_000,
          durationSeconds: 15,
          partial: false,
          video: `${name}.mp4`,
          thumbnail: `${name}.jpg`,
          bytes: video.length,
          sha256: sha256(video),
          thumbnailBytes: thumbnail.length,
          thumbnailSha256: sha256(thumbnail),
        },
      });
    }
    // The same bytes, copied raw first (also warms the page cache for both runs).
    const rawDir = join(work, 'raw');
    mkdirSync(rawDir);
    const rawMBps = await rawCopy(videos, rawDir);
    checkOpen();

    // Sidecars written last, as the recorder does; opening the queue finds them.
    for (const { name, record } of records) writeFileSync(join(queueDir, `${name}.json`), JSON.stringify(record));
    const queue = await ClipQueue.open({ dir: queueDir, quotaBytes: 1e12, log: quiet });
    if (queue.stats().clips !== opts.clips) throw new Error(`the queue holds ${queue.stats().clips} clips, not ${opts.clips}`);
    const uploader = new ClipUploader({ queue, log: quiet });
    let uploaded = 0;
    const done = new Promise<void>((resolve, reject) => {
      uploader.on('uploaded', () => ++uploaded === opts.clips && resolve());
      uploader.on('failed', (id, err) => reject(new Error(`clip ${id}: ${err.message}`)));
    });
    const started = performance.now();
    uploader.configure({ uploadUrl: `http://127.0.0.1:${cloud.http}/api/v1/edge/clips`, serial, secret, limitKbps: null });
    uploader.start();
    await done;
    const sec = (performance.now() - started) / 1000;
    await uploader.stop();
    await queue.close();
    const bytes = records.reduce((sum, r) => sum + r.record.bytes + thumbnail.length, 0);
    return { rawMBps, uploadMBps: bytes / 1e6 / sec };
  } finally {
    await cloud.stop();
    await removeWork();
  }
}

// ------------------------------------------------------------------------------------------------ buffering

/** CPU (ms) of a set of processes now; processes gone meanwhile count as 0. */
function cpuOf(pids: number[]): number {
  let sum = 0;
  for (const p of pids) {
    try {
      sum += cpuMs(p);
    } catch {
      // gone
    }
  }
  return sum;
}

function rssOf(pids: number[]): number {
  let sum = 0;
  for (const p of pids) {
    try {
      sum += rssBytes(p);
    } catch {
      // gone
    }
  }
  return sum;
}

/** The direct children of this process that run ffmpeg (the recorders' segmenters). */
function ffmpegChildren(): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && stat.includes('(ffmpeg)')) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

async function bufferingFigures(logDir: string, opts: ClipsBenchOptions) {
  const cameras: Proc[] = [];
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-rings-'));
  const cleanup = onRelease('clips bench cameras', async () => {
    await Promise.all(cameras.map((c) => c.stop()));
    rmSync(work, { recursive: true, force: true });
  });
  try {
    const count = Math.ceil(opts.channels / SESSIONS_PER_CAMERA);
    const urls: string[] = [];
    for (let i = 0; i < count; i++) {
      const proc = await startProcess({
        name: `bench-clip-camera-${i}`,
        entry: ENTRY.sim,
        args: ['camera', '--serial', `BENCHRING${i}`, '--password', PASSWORD],
        logDir,
        ready: (l) => l.ready === true,
      });
      cameras.push(proc);
      const cam = (proc.lines.find((l) => l.ready === true)!.cameras as { host: string; rtsp: number }[])[0]!;
      urls.push(`rtsp://admin:${PASSWORD}@${cam.host}:${cam.rtsp}/Streaming/Channels/101`);
    }
    const urlOf = (ch: number) => urls[Math.floor(ch / SESSIONS_PER_CAMERA)]!;

    // Bare ffmpeg: the same streams copied into MPEG-TS files, as the ring's segments are.
    checkOpen();
    const bare: ChildProcess[] = [];
    for (let ch = 0; ch < opts.channels; ch++) {
      bare.push(
        spawn('ffmpeg', ['-nostdin', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', urlOf(ch), '-c', 'copy', '-an', '-f', 'mpegts', '-y', join(work, `bare-${ch}.ts`)], {
          stdio: 'ignore',
        }),
      );
    }
    await sleep(5000);
    const barePids = bare.map((c) => c.pid!).filter((p) => p !== undefined);
    const bareStart = cpuOf(barePids);
    await sleep(opts.measureSec * 1000);
    const bareCpu = ((cpuOf(barePids) - bareStart) / (opts.measureSec * 1000)) * 100;
    const bareRss = rssOf(barePids);
    for (const c of bare) c.kill('SIGINT');
    await Promise.all(bare.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));

    // The box's recorders, in this process: their ffmpeg children and this process's own CPU above its idle level.
    checkOpen();
    const idleStart = process.cpuUsage();
    await sleep(2000);
    const idleUsage = process.cpuUsage(idleStart);
    const idleMsPerSec = (idleUsage.user + idleUsage.system) / 1000 / 2;
    const idleRss = process.memoryUsage().rss;
    const description = await probeRtsp(urls[0]!, { username: 'admin', password: PASSWORD });
    const recorders: ChannelRecorder[] = [];
    for (let ch = 0; ch < opts.channels; ch++) {
      const r = new ChannelRecorder({
        channelId: `bench:${ch}`,
        url: urlOf(ch),
        description,
        ringDir: join(work, 'rings', String(ch)),
        clipsDir: join(work, 'clips'),
        log: quiet,
      });
      mkdirSync(join(work, 'clips'), { recursive: true });
      await r.start();
      recorders.push(r);
    }
    await sleep(5000);
    const pids = ffmpegChildren();
    const childStart = cpuOf(pids);
    const selfStart = process.cpuUsage();
    await sleep(opts.measureSec * 1000);
    const self = process.cpuUsage(selfStart);
    const selfMs = (self.user + self.system) / 1000 - idleMsPerSec * opts.measureSec;
    const edgeCpu = ((cpuOf(pids) - childStart + Math.max(0, selfMs)) / (opts.measureSec * 1000)) * 100;
    const edgeRss = rssOf(pids) + Math.max(0, process.memoryUsage().rss - idleRss);
    await Promise.all(recorders.map((r) => r.stop()));
    return { bareCpu, edgeCpu, bareRss, edgeRss };
  } finally {
    await cleanup();
  }
}

export async function runClipsBench(logDir: string, opts: ClipsBenchOptions): Promise<ClipsBenchResult> {
  const upload = await uploadFigures(logDir, opts);
  checkOpen();
  const buffering = await bufferingFigures(logDir, opts);
  const r: ClipsBenchResult = {
    rawMBps: upload.rawMBps,
    uploadMBps: upload.uploadMBps,
    ratioUpload: upload.rawMBps / upload.uploadMBps,
    channels: opts.channels,
    bareCpuPctPerChannel: buffering.bareCpu / opts.channels,
    edgeCpuPctPerChannel: buffering.edgeCpu / opts.channels,
    ratioCpu: buffering.edgeCpu / buffering.bareCpu,
    bareRssPerChannelBytes: buffering.bareRss / opts.channels,
    edgeRssPerChannelBytes: buffering.edgeRss / opts.channels,
  };
  printTable(
    `Clip upload: ${opts.clips} clips of ${opts.clipMiB} MiB over loopback`,
    ['figure', 'raw HTTP copy', 'box -> cloud ingestion', 'ratio raw / box'],
    [['throughput (MB/s)', fmt(r.rawMBps, 1), fmt(r.uploadMBps, 1), fmt(r.ratioUpload, 2)]],
  );
  printTable(
    `Pre-event buffering: ${opts.channels} channels of 1080p H.264, ${opts.measureSec} s per figure`,
    ['figure', 'bare ffmpeg -c copy', 'box recorders', 'ratio box / bare'],
    [
      [`CPU per channel (% of a core; target ratio <= ${CPU_MAX_RATIO})`, fmt(r.bareCpuPctPerChannel, 2), fmt(r.edgeCpuPctPerChannel, 2), `${fmt(r.ratioCpu, 2)} ${verdict(r.ratioCpu <= CPU_MAX_RATIO)}`],
      ['memory per channel (MiB)', fmt(mib(r.bareRssPerChannelBytes), 1), fmt(mib(r.edgeRssPerChannelBytes), 1), fmt(r.edgeRssPerChannelBytes / r.bareRssPerChannelBytes, 2)],
    ],
  );
  return r;
}

export const clipsJson = (r: ClipsBenchResult, opts: ClipsBenchOptions) => ({
  ...opts,
  rawMBps: round(r.rawMBps, 1),
  uploadMBps: round(r.uploadMBps, 1),
  ratioUpload: round(r.ratioUpload),
  bareCpuPctPerChannel: round(r.bareCpuPctPerChannel),
  edgeCpuPctPerChannel: round(r.edgeCpuPctPerChannel),
  ratioCpu: round(r.ratioCpu),
  bareRssMiBPerChannel: round(mib(r.bareRssPerChannelBytes), 1),
  edgeRssMiBPerChannel: round(mib(r.edgeRssPerChannelBytes), 1),
});

import { readdirSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { registerCompany, type ApiClient } from '@vigil/cloud/testing';
import type { MediaStart } from '@vigil/protocol';
import type { VideoSession } from '@vigil/protocol/api';
import { ENTRY, eventually, startProcess, type Proc } from './process.js';
import { edgeBox, startCloudProcess, startEdge, type CameraEndpoint } from './system.js';

export const VIDEO_PASSWORD = 'Video-pass-2026';
export const NVR_SERIAL = 'DS-7608NI-K220260101AACHE00000001';

export interface SimCamera extends CameraEndpoint {
  rtsp: number;
}

/** Small pictures keep the simulators' encoders light on a 2-core machine. */
const SMALL = ['--main-size', '640x360', '--sub-size', '320x180'] as const;
/** What each simulated camera of the site is: an H.264 PTZ camera with G.711 audio, an H.265 one, an encrypted one. */
export const CAMERAS = {
  front: { serial: 'VIDCAM0001', args: [...SMALL, '--audio', '--ptz'] },
  h265: { serial: 'VIDCAM0002', args: [...SMALL, '--main-codec', 'h265', '--sub-codec', 'h265'] },
  locked: { serial: 'VIDCAM0003', args: [...SMALL, '--encrypted'] },
} as const;
export type CameraName = keyof typeof CAMERAS;
export type CameraSpecs = Record<string, { serial: string; args: readonly string[] }>;

export interface VideoSite<C extends CameraSpecs = typeof CAMERAS> {
  cloudUrl: string;
  cloudPid: number;
  databaseUrl: string;
  client: ApiClient;
  login: { email: string; password: string; companyId: string };
  siteId: string;
  edge: Proc;
  /** The edge box's data folder. */
  edgeDataDir: string;
  cameras: Record<keyof C, SimCamera & { deviceId: string }>;
  nvr: { deviceId: string; ip: string; httpPort: number };
  /** The cloud goes away (SIGTERM) and comes back on the same port and database. */
  stopCloud(): Promise<void>;
  startCloud(): Promise<void>;
  stop(): Promise<void>;
}

export interface VideoSiteOptions {
  /** Extra settings of the cloud and of the edge box. */
  cloudEnv?: Record<string, string>;
  edgeEnv?: Record<string, string>;
}

/**
 * A site with video, every part its own process on loopback: the cloud, an edge box, ONVIF cameras (by default
 * three: H.264 with G.711 audio, H.265, encrypted) and an NVR with one channel; the installer signed in, the cameras
 * online on the site and the NVR added.
 */
export async function startVideoSite<C extends CameraSpecs = typeof CAMERAS>(
  dir: string,
  specs: C = CAMERAS as unknown as C,
  opts: VideoSiteOptions = {},
): Promise<VideoSite<C>> {
  const procs: Proc[] = [];
  let cloudProc: Proc | null = null;
  const stop = async () => {
    await Promise.all([...procs, ...(cloudProc ? [cloudProc] : [])].map((p) => p.stop()));
    await cloud?.dropDatabase();
  };
  let cloud: Awaited<ReturnType<typeof startCloudProcess>> | undefined;
  try {
    cloud = await startCloudProcess(dir, { env: opts.cloudEnv ?? {} });
    cloudProc = cloud.proc;
    const names = Object.keys(specs) as (keyof C & string)[];
    const cams = {} as Record<keyof C, SimCamera>;
    await Promise.all(
      names.map(async (name) => {
        const { serial, args } = specs[name]!;
        const proc = await startProcess({
          name: `camera-${name}`,
          entry: ENTRY.sim,
          args: ['camera', '--serial', serial, '--password', VIDEO_PASSWORD, ...args],
          logDir: dir,
          ready: (l) => l.ready === true,
        });
        procs.push(proc);
        cams[name] = (proc.lines.find((l) => l.ready === true)!.cameras as SimCamera[])[0]!;
      }),
    );
    const lan = await startProcess({
      name: 'nvr',
      entry: ENTRY.sim,
      args: [
        'lan',
        '--spec-json',
        JSON.stringify({
          sadpPort: 0,
          wsdPort: 0,
          multicast: false,
          devices: [
            {
              class: 'nvr',
              model: 'DS-7608NI-K2',
              serial: NVR_SERIAL,
              activated: true,
              password: VIDEO_PASSWORD,
              channels: [{ ip: '127.0.0.1', port: 1, password: VIDEO_PASSWORD, name: 'Door' }],
              channelStreams: { main: { width: 640, height: 360 }, sub: { width: 320, height: 180 } },
            },
          ],
        }),
      ],
      logDir: dir,
      ready: (l) => l.ready === true,
    });
    procs.push(lan);
    const nvr = (lan.lines.find((l) => l.ready === true)!.devices as { ip: string; httpPort: number; sadpPort: number }[])[0]!;

    const company = await registerCompany(`${cloud.url}/api/v1`, 'Video Installers');
    const client = company.client;
    const site = await client.post<{ id: string }>('/sites', { name: 'Video Shop', type: 'personal', timeZone: 'UTC', offlineDelaySec: 6 });
    if (site.status !== 201) throw new Error(`site: ${JSON.stringify(site.body)}`);
    const box = edgeBox(dir, cloud.url, Object.values(cams), VIDEO_PASSWORD);
    Object.assign(box.env, opts.edgeEnv ?? {});
    box.env.VIGIL_EDGE_SADP_TARGETS = `127.0.0.1:${nvr.sadpPort}`;
    box.env.VIGIL_EDGE_LAN_INTERVAL_MS = '300';
    const edge = await startEdge(dir, box);
    procs.push(edge);
    const added = await client.post(`/sites/${site.body.id}/edges`, { serial: box.serial, verificationCode: box.code });
    if (added.status !== 201) throw new Error(`edge: ${JSON.stringify(added.body)}`);
    type Device = { id: string; serial: string; status: string };
    const devices = await eventually(
      () => client.get<{ items: Device[] }>(`/sites/${site.body.id}/devices`),
      (r) => Object.values(specs).every((c) => r.body.items?.some((d) => d.serial === c.serial && d.status === 'online')),
      'the cameras online on the site',
    );
    await eventually(() => client.get<{ items: unknown[] }>(`/sites/${site.body.id}/lan`), (r) => (r.body.items?.length ?? 0) >= 1, 'the NVR on the LAN');
    if ((await client.call('PUT', '/me/device-defaults', { password: VIDEO_PASSWORD, verificationCode: '' })).status !== 200) throw new Error('device defaults');
    const nvrAdded = await client.post<{ devices: { id: string }[] }>(`/sites/${site.body.id}/onsite/add`, { serials: [NVR_SERIAL] });
    if (nvrAdded.status !== 201) throw new Error(`nvr: ${JSON.stringify(nvrAdded.body)}`);
    const deviceOf = (serial: string) => devices.body.items.find((d) => d.serial === serial)!.id;
    const cameras = Object.fromEntries(names.map((name) => [name, { ...cams[name], deviceId: deviceOf(specs[name]!.serial) }])) as VideoSite<C>['cameras'];
    const { port, databaseUrl } = cloud;
    return {
      cloudUrl: cloud.url,
      cloudPid: cloud.proc.pid,
      databaseUrl: cloud.databaseUrl,
      client,
      login: company,
      siteId: site.body.id,
      edge,
      edgeDataDir: box.dataDir,
      cameras,
      nvr: { deviceId: nvrAdded.body.devices[0]!.id, ip: nvr.ip, httpPort: nvr.httpPort },
      stopCloud: async () => {
        await cloudProc?.stop();
        cloudProc = null;
      },
      startCloud: async () => {
        if (cloudProc) return;
        cloudProc = (await startCloudProcess(dir, { databaseUrl, port, env: opts.cloudEnv ?? {} })).proc;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A player as the portal's: the window's WebSocket, keeping what arrived. */
export class TestPlayer {
  readonly starts: MediaStart[] = [];
  readonly texts: Record<string, unknown>[] = [];
  binaries = 0;
  bytes = 0;
  firstBinaryAt: number | null = null;
  closed: { code: number; reason: string } | null = null;
  private readonly ws: WebSocket;
  private readonly opened: Promise<void>;

  constructor(cloudUrl: string, session: Pick<VideoSession, 'url'>) {
    this.ws = new WebSocket(`${cloudUrl.replace(/^http/, 'ws')}${session.url}`);
    this.ws.binaryType = 'nodebuffer';
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        this.binaries++;
        this.bytes += data.length;
        this.firstBinaryAt ??= Date.now();
        return;
      }
      const msg = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      this.texts.push(msg);
      if (msg.type === 'start') this.starts.push(msg as unknown as MediaStart);
    });
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  open(): Promise<void> {
    return this.opened;
  }

  /** Resolves once `n` more binary messages (init segment, fragments or TS chunks) have arrived. */
  async receives(n: number, what: string, timeoutMs = 30_000): Promise<void> {
    const target = this.binaries + n;
    await eventually(() => Promise.resolve(this.binaries), (b) => b >= target, what, timeoutMs);
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** The ffmpeg processes that pull from an RTSP port (the edge's, not the simulators' own lavfi encoders). */
export function ffmpegPulling(rtspPort: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const args = cmd.split('\0');
    if (!/ffmpeg$/.test(args[0] ?? '')) continue;
    if (args.some((a) => a.startsWith('rtsp://') && a.includes(`:${rtspPort}/`))) pids.push(Number(entry));
  }
  return pids;
}

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { MqttClient } from 'mqtt';
import { channelKeyOf, DeviceKind, type ClipEventType, type ClipPart, type ClipUploadCreate, type ClipUploadState } from '@vigil/protocol';
import { cloudStorageChannels, devices, sites } from '../db/schema.js';
import { newSite, type ApiClient, type TestCloud } from '../testing/cloud.js';
import type { EdgePlayers } from '../testing/edge.js';

const DAY = 24 * 60 * 60 * 1000;
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let media: { video: Buffer; thumbnail: Buffer } | null = null;
/** A real MP4 (a few seconds of H.264 with its index up front) and a JPEG, from ffmpeg. */
export function clipMedia(): { video: Buffer; thumbnail: Buffer } {
  if (media) return media;
  // The index is moved to the front after encoding, which needs a file rather than a pipe.
  const dir = mkdtempSync(join(tmpdir(), 'vigil-clip-media-'));
  execFileSync('/usr/bin/ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=10', '-t', '3'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-movflags', '+faststart', '-y', join(dir, 'clip.mp4')],
  ]);
  media = {
    video: readFileSync(join(dir, 'clip.mp4')),
    thumbnail: execFileSync('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180', '-frames:v', '1', '-f', 'mjpeg', 'pipe:1']),
  };
  rmSync(dir, { recursive: true, force: true });
  return media;
}

/**
 * A site with an edge box that reaches a camera and a 4-channel NVR. Cloud storage (times around `t0`): the camera
 * and NVR channel 1 active (30 and 7 days of retention), NVR channel 2 switched on but expired, channel 3 active
 * but switched off, channel 4 never set.
 */
export async function clipSite(cloud: TestCloud, players: EdgePlayers, client: ApiClient, t0: number) {
  const siteId = await newSite(client);
  const box = await players.claimed(client, siteId);
  const [site] = await cloud.ctx.db.select().from(sites).where(eq(sites.id, siteId));
  const device = (kind: string, name: string, channels: number) => ({
    companyId: site!.companyId,
    siteId,
    edgeSerial: box.serial,
    deviceKey: `KEY${randomBytes(4).toString('hex')}`,
    kind,
    protocol: 'isapi',
    manufacturer: 'Hikvision',
    model: kind === DeviceKind.camera ? 'DS-2CD2143G2-I' : 'DS-7604NI-K1',
    serial: `SER${randomBytes(6).toString('hex')}`,
    firmware: 'V5.7.0',
    name,
    host: '10.0.0.20',
    port: 80,
    channels,
    reportedOnline: true,
    reportedAt: new Date(),
    status: 'online',
  });
  const [camera, nvr] = await cloud.ctx.db
    .insert(devices)
    .values([device(DeviceKind.camera, 'Yard camera', 1), device(DeviceKind.nvr, 'Main NVR', 4)])
    .returning({ id: devices.id });
  const channel = (deviceId: string, ch: number, enabled: boolean, from: number, until: number, retentionDays: number) => ({
    deviceId,
    channel: ch,
    enabled,
    triggers: { motion: { enabled: true, notifySurveillanceCenter: true } },
    preSeconds: 5,
    postSeconds: 10,
    retentionDays,
    activatedAt: new Date(from),
    expiresAt: new Date(until),
  });
  await cloud.ctx.db
    .insert(cloudStorageChannels)
    .values([
      channel(camera!.id, 1, true, t0 - DAY, t0 + 365 * DAY, 30),
      channel(nvr!.id, 1, true, t0 - DAY, t0 + 365 * DAY, 7),
      channel(nvr!.id, 2, true, t0 - 60 * DAY, t0 - 30 * DAY, 30),
      channel(nvr!.id, 3, false, t0 - DAY, t0 + 365 * DAY, 30),
    ]);
  return { siteId, companyId: site!.companyId, serial: box.serial, secret: box.password, edge: box.edge as MqttClient, camera: camera!.id, nvr: nvr!.id };
}
export type ClipSite = Awaited<ReturnType<typeof clipSite>>;

/** The metadata of a clip of `video` and `thumbnail` whose first event is at `eventAt`. */
export function clipMeta(deviceId: string, channel: number, eventAt: number, over: Partial<ClipUploadCreate> = {}, parts = clipMedia()): ClipUploadCreate {
  return {
    clipId: randomUUID(),
    channelKey: channelKeyOf(deviceId, channel),
    events: [{ type: 'motion' as ClipEventType, at: eventAt }],
    startAt: eventAt - 5000,
    endAt: eventAt + 10_000,
    durationSeconds: 15,
    partial: false,
    video: { bytes: parts.video.length, sha256: sha256(parts.video) },
    thumbnail: { bytes: parts.thumbnail.length, sha256: sha256(parts.thumbnail) },
    ...over,
  };
}

type Reply<T> = { status: number; body: T };

/** The box's side of the upload protocol, over plain HTTP with its Basic credentials. */
export class BoxClient {
  constructor(
    readonly uploadUrl: string,
    private readonly serial: string,
    private readonly secret: string,
  ) {}

  get authorization(): string {
    return `Basic ${Buffer.from(`${this.serial}:${this.secret}`).toString('base64')}`;
  }

  private async call<T>(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const res = await fetch(`${this.uploadUrl}${path}`, { method, headers: { authorization: this.authorization, ...headers }, body });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  create(meta: ClipUploadCreate) {
    return this.call<ClipUploadState & { code?: string }>('POST', '', JSON.stringify(meta), { 'content-type': 'application/json' });
  }

  state(clipId: string) {
    return this.call<ClipUploadState & { code?: string }>('GET', `/${clipId}`);
  }

  patch(clipId: string, part: ClipPart, offset: number, bytes: Buffer) {
    return this.call<ClipUploadState & { code?: string; state?: ClipUploadState }>('PATCH', `/${clipId}/${part}`, bytes, {
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
    });
  }

  /** Creates the clip and sends both parts whole; the last reply. */
  async upload(meta: ClipUploadCreate, parts = clipMedia()) {
    const created = await this.create(meta);
    if (created.status !== 201 && created.status !== 200) throw new Error(`create refused: ${created.status} ${JSON.stringify(created.body)}`);
    await this.patch(meta.clipId, 'video', 0, parts.video);
    return this.patch(meta.clipId, 'thumbnail', 0, parts.thumbnail);
  }
}

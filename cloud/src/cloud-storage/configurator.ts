import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import { channelKeyOf, RpcMethod, type ClipChannelConfig, type ClipsConfigureParams, type DiscoveredDevice, type MediaSource } from '@vigil/protocol';
import type { Db } from '../db/client.js';
import { cloudStorageChannels, cloudStorageDevices, devices, lanDevices, sites } from '../db/schema.js';
import { BoxPusher } from '../edges/pusher.js';
import type { Tunnel, TunnelListener } from '../edges/tunnel.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Vault } from '../security/vault.js';
import { isRecorder } from '../video/devices.js';
import { channelCount, clipTriggers, cloudStorageCapable, loginSealContext, settingsOf, type RecorderLogin } from './model.js';

/** Where boxes upload clips, under the cloud's public URL. */
export const CLIPS_UPLOAD_PATH = '/api/v1/edge/clips';
/** Pushes a box's channels again when one's service ends, so the box stops recording then. */
export const EXPIRY_JOB = 'cloudStorage.expiry';

export interface ClipsPlan {
  params: ClipsConfigureParams;
  /** When each listed channel's service ends. */
  expiries: { deviceId: string; channel: number; expiresAt: Date }[];
}

/**
 * What a box records for: every channel it reaches whose cloud storage is on, whose service is active and which
 * has an event with "Notify Surveillance Center". Recorder channels need the login the installer gave for the box,
 * and the recorder's address as the box last saw it on the LAN (else the address it was added with).
 */
export async function clipsPlanFor(
  db: Db,
  vault: Vault,
  serial: string,
  upload: { url: string; limitKbps: number | null },
  now = new Date(),
): Promise<ClipsPlan> {
  const rows = await db
    .select({ c: cloudStorageChannels, d: devices, timeZone: sites.timeZone, loginSealed: cloudStorageDevices.loginSealed })
    .from(cloudStorageChannels)
    .innerJoin(devices, eq(devices.id, cloudStorageChannels.deviceId))
    .innerJoin(sites, eq(sites.id, devices.siteId))
    .leftJoin(cloudStorageDevices, eq(cloudStorageDevices.deviceId, devices.id))
    .where(and(eq(devices.edgeSerial, serial), eq(cloudStorageChannels.enabled, true), gt(cloudStorageChannels.expiresAt, now)))
    .orderBy(asc(devices.id), asc(cloudStorageChannels.channel));
  const recorderSerials = [...new Set(rows.filter((r) => isRecorder(r.d)).map((r) => r.d.serial))];
  const seen = new Map<string, DiscoveredDevice>();
  if (recorderSerials.length > 0) {
    const sightings = await db
      .select({ serial: lanDevices.serial, data: lanDevices.data })
      .from(lanDevices)
      .where(and(eq(lanDevices.edgeSerial, serial), inArray(lanDevices.serial, recorderSerials)));
    for (const s of sightings) seen.set(s.serial, s.data as DiscoveredDevice);
  }

  const channels: ClipChannelConfig[] = [];
  const expiries: ClipsPlan['expiries'] = [];
  for (const { c, d, timeZone, loginSealed } of rows) {
    const settings = settingsOf(c);
    const triggers = clipTriggers(settings);
    if (!cloudStorageCapable(d) || c.channel > channelCount(d) || triggers.length === 0) continue;
    let source: MediaSource;
    if (isRecorder(d)) {
      if (!loginSealed) continue;
      const login = JSON.parse(vault.open(loginSealed, loginSealContext(d.id))) as RecorderLogin;
      const lan = seen.get(d.serial);
      source = {
        kind: 'recorder',
        recorder: { serial: d.serial, ip: lan?.network.ipv4 ?? d.host, httpPort: lan?.httpPort ?? d.port, username: login.username, password: login.password },
        channel: c.channel,
      };
    } else {
      source = { kind: 'camera', deviceKey: d.deviceKey };
    }
    channels.push({
      channelKey: channelKeyOf(d.id, c.channel),
      source,
      stream: settings.stream,
      triggers,
      schedule: settings.schedule ? { timeZone, periods: settings.schedule.periods } : null,
      preSeconds: settings.preSeconds,
      postSeconds: settings.postSeconds,
      activeUntil: c.expiresAt!.getTime(),
    });
    expiries.push({ deviceId: d.id, channel: c.channel, expiresAt: c.expiresAt! });
  }
  return { params: { uploadUrl: upload.url, uploadLimitKbps: upload.limitKbps, channels }, expiries };
}

/**
 * Keeps each connected edge box's clip recording configured from the channels' cloud storage: pushes
 * `clips.configure` when the box connects, when a channel's settings, service or the recorder's login change, and
 * when a channel's service expires (a durable job). Pushes run in the background, one at a time per box, always
 * with the configuration as it is then; an offline box is skipped, as it gets it when it connects.
 */
export class ClipsConfigurator implements TunnelListener {
  private readonly pusher: BoxPusher;
  private uploadBase: string | null = null;

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly tunnel: Tunnel,
    private readonly jobs: JobQueue,
    private readonly options: { rpcTimeoutMs: number; uploadLimitKbps: number | null },
    private readonly log: { warn(o: object, m: string): void },
  ) {
    this.pusher = new BoxPusher(tunnel, (serial) => this.push(serial), 'clip recording configuration', log);
    tunnel.listen(this);
    jobs.handle(EXPIRY_JOB, (p) => this.deviceChanged(String(p.deviceId)));
  }

  /** The cloud's public URL, known once it listens: boxes upload under it. */
  listening(publicUrl: string): void {
    this.uploadBase = publicUrl.replace(/\/$/, '');
  }

  get uploadUrl(): string {
    if (this.uploadBase === null) throw new Error('the cloud does not listen yet: no upload URL');
    return `${this.uploadBase}${CLIPS_UPLOAD_PATH}`;
  }

  edgeConnected(serial: string): void {
    this.pusher.schedule(serial);
  }

  /** A channel, the service or the login of a device reached through `serial` changed; returns at once. */
  boxChanged(serial: string): void {
    if (this.tunnel.isConnected(serial)) this.pusher.schedule(serial);
  }

  /** As `boxChanged`, for the box that reaches the device now. */
  async deviceChanged(deviceId: string): Promise<void> {
    const [device] = await this.db.select({ edgeSerial: devices.edgeSerial }).from(devices).where(eq(devices.id, deviceId));
    if (device?.edgeSerial) this.boxChanged(device.edgeSerial);
  }

  private async push(serial: string): Promise<void> {
    const plan = await clipsPlanFor(this.db, this.vault, serial, { url: this.uploadUrl, limitKbps: this.options.uploadLimitKbps });
    for (const e of plan.expiries) await this.jobs.schedule(`${EXPIRY_JOB}:${e.deviceId}:${e.channel}`, EXPIRY_JOB, e.expiresAt, { deviceId: e.deviceId });
    await this.tunnel.call(serial, RpcMethod.clipsConfigure, plan.params, this.options.rpcTimeoutMs);
  }

  close(): void {
    this.pusher.close();
  }
}

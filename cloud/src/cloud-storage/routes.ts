import { SiteParams } from '../http/params.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, asc, desc, eq, isNotNull, sql } from 'drizzle-orm';
import Type from 'typebox';
import { CLIP_MAX_LENGTH_SECONDS, channelKeyOf, ClipEventType, RpcMethod, type ClipsStatusResult } from '@vigil/protocol';
import {
  ActivateBodySchema,
  BandwidthTestSchema,
  ChannelSettingsBodySchema,
  CloudStorageChannelSchema,
  CloudStorageErrorCode,
  DeviceCloudStorageSchema,
  ErrorCode,
  PackageOrderBodySchema,
  PackageSchema,
  PackagesReplySchema,
  RecordingMode,
  RegionFeature,
  Permission,
  RecorderLoginBodySchema,
  ServiceState,
  SiteOperation,
  DevicePermissionName,
  StorageUsageSchema,
  type BandwidthTest,
  type ChannelSettingsBody,
  type CloudStorageChannel,
  type DeviceCloudStorage,
  type PackageOrderBody,
  type StorageUsage,
} from '@vigil/protocol/api';
import { manageSites, requireAuth, requirePermission } from '../auth/plugin.js';
import { deviceFor, type DeviceNeed } from '../devices/routes.js';
import { clips, cloudStorageChannels, cloudStorageDevices, devices } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { siteOfRequest } from '../sites/access.js';
import { requireAuthenticatedCompany, requireFeature } from '../regions/features.js';
import {
  channelCount,
  channelLabel,
  cloudStorageCapable,
  DEFAULT_SETTINGS,
  isRecording,
  loginSealContext,
  normalized,
  recommendation,
  serviceState,
  settingsOf,
  supportedTriggers,
  type RecorderLogin,
} from './model.js';
import { isRecorder } from '../video/devices.js';
import { listPackages, lockPackage, orderPackage } from './packages.js';

const DeviceParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
const ChannelParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }), channel: Type.Integer({ minimum: 1, maximum: 9999 }) });
const configure = [manageSites, requirePermission(Permission.deviceConfigure)];
/** Cloud storage settings go to the device: Manage Device on the site, and Configuration of a handed-over device. */
const CONFIGURE: DeviceNeed = { op: SiteOperation.manageDevice, use: DevicePermissionName.configuration };

/** How long the box uploads in the bandwidth test. */
const BANDWIDTH_TEST_SECONDS = 5;
/** The box's channel states are a nicety of the settings page: it does not wait long for them. */
const STATUS_TIMEOUT_MS = 3_000;
/** The box answered and records nothing for the channel. */
const BOX_IDLE = 'idle';
const TERM_INTERVAL = { monthly: sql`interval '1 month'`, annual: sql`interval '1 year'` } as const;

type ChannelRow = typeof cloudStorageChannels.$inferSelect;
type DeviceRow = typeof devices.$inferSelect;

/**
 * Cloud Storage (manual §5.3): the company's packages, each channel's settings and service for devices reached
 * through an edge box, the NVR/DVR login the box records with, the box's uplink bandwidth test, and the storage
 * the site's clips use. Every change is pushed to the box by `ctx.clipsConfigurator`.
 */
export async function cloudStorageRoutes(app: FastifyInstance) {
  const { ctx } = app;

  // ---- packages -----------------------------------------------------------------------------------

  app.get('/cloud-storage/packages', { schema: { response: { 200: PackagesReplySchema } } }, async (request) => ({
    items: await listPackages(ctx.db, requireAuth(request).companyId),
  }));

  app.post(
    '/cloud-storage/packages',
    {
      schema: { body: PackageOrderBodySchema, response: { 201: PackageSchema } },
      preHandler: requirePermission(Permission.accountsManage),
      config: { oplog: 'Purchase Cloud Storage Package' },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      // A value-added service: only where the region has it, and only for an authenticated company.
      await requireFeature(ctx.db, auth, RegionFeature.cloudStorage);
      await requireAuthenticatedCompany(ctx.db, auth);
      const body = request.body as PackageOrderBody;
      const ordered = await orderPackage(ctx.db, auth.companyId, body, auth.accountId);
      request.oplog.detail = `${body.channels} channel(s), ${body.retentionDays}-day ${body.term} ${body.mode === RecordingMode.event ? 'event' : '24/7'} recording`;
      return reply.status(201).send(ordered);
    },
  );

  // ---- a device's channels ------------------------------------------------------------------------

  /** The device of the route, which must be a video device reached through an edge box. */
  async function storageDevice(request: FastifyRequest, need: DeviceNeed = {}) {
    const found = await deviceFor(ctx.db, request, need);
    const { device } = found;
    if (!cloudStorageCapable(device)) {
      const why = device.edgeSerial === null ? 'is not reached through an edge box of the site (it was added by IP/domain or connects by itself)' : 'has no video';
      throw new AppError(409, CloudStorageErrorCode.deviceUnsupported, `${device.name} ${why}: cloud storage records video devices through the site's edge box.`);
    }
    return { ...found, edgeSerial: device.edgeSerial };
  }

  function checkChannel(device: DeviceRow, channel: number): void {
    const count = channelCount(device);
    if (channel > count) {
      throw new AppError(404, ErrorCode.notFound, isRecorder(device) ? `${device.name} has no channel ${channel} (it has ${count}).` : `${device.name} is a camera: its only channel is 1.`);
    }
  }

  const channelRows = async (deviceId: string) =>
    new Map((await ctx.db.select().from(cloudStorageChannels).where(eq(cloudStorageChannels.deviceId, deviceId))).map((r) => [r.channel, r]));

  function channelView(device: DeviceRow, channel: number, row: ChannelRow | undefined, boxState: string | null): CloudStorageChannel {
    const settings = settingsOf(row);
    const state = serviceState(row, new Date());
    return {
      deviceId: device.id,
      channel,
      label: channelLabel(device, channel),
      settings,
      supportedTriggers: supportedTriggers(device),
      service: {
        state,
        packageId: row?.packageId ?? null,
        retentionDays: (row?.retentionDays ?? null) as CloudStorageChannel['service']['retentionDays'],
        activatedAt: row?.activatedAt?.toISOString() ?? null,
        expiresAt: row?.expiresAt?.toISOString() ?? null,
      },
      recording: isRecording(settings, state),
      boxState,
    };
  }

  /** What the box says of its channels now; null when it is offline or does not answer soon. */
  async function boxStates(edgeSerial: string): Promise<Map<string, string> | null> {
    if (!ctx.tunnel.isConnected(edgeSerial)) return null;
    try {
      const status: ClipsStatusResult = await ctx.tunnel.call(edgeSerial, RpcMethod.clipsStatus, {}, Math.min(ctx.config.rpcTimeoutMs, STATUS_TIMEOUT_MS));
      return new Map(status.channels.map((c) => [c.channelKey, c.state]));
    } catch (err) {
      ctx.log.warn({ err, edgeSerial }, 'clip status of the edge box not read');
      return null;
    }
  }

  /** The newest bandwidth test of the box: it measured the uplink every device behind the box shares. */
  async function lastBandwidthTest(edgeSerial: string): Promise<BandwidthTest | null> {
    const [row] = await ctx.db
      .select({ test: cloudStorageDevices.bandwidthTest })
      .from(cloudStorageDevices)
      .innerJoin(devices, eq(devices.id, cloudStorageDevices.deviceId))
      .where(and(eq(devices.edgeSerial, edgeSerial), isNotNull(cloudStorageDevices.bandwidthTest)))
      .orderBy(desc(sql`${cloudStorageDevices.bandwidthTest}->>'testedAt'`))
      .limit(1);
    return (row?.test as BandwidthTest | undefined) ?? null;
  }

  async function loginOf(deviceId: string): Promise<string | null> {
    const [row] = await ctx.db.select({ sealed: cloudStorageDevices.loginSealed }).from(cloudStorageDevices).where(eq(cloudStorageDevices.deviceId, deviceId));
    return row?.sealed ?? null;
  }

  app.get('/devices/:deviceId/cloud-storage', { schema: { params: DeviceParams, response: { 200: DeviceCloudStorageSchema } }, preHandler: manageSites }, async (request) => {
    const { device, edgeSerial } = await storageDevice(request);
    const [rows, states, test, login] = await Promise.all([channelRows(device.id), boxStates(edgeSerial), lastBandwidthTest(edgeSerial), loginOf(device.id)]);
    const channels = Array.from({ length: channelCount(device) }, (_, i) => i + 1).map((channel) =>
      channelView(device, channel, rows.get(channel), states ? (states.get(channelKeyOf(device.id, channel)) ?? BOX_IDLE) : null),
    );
    const reply: DeviceCloudStorage = { deviceId: device.id, edgeSerial, loginSet: login !== null, needsLogin: isRecorder(device), channels, lastBandwidthTest: test };
    return reply;
  });

  app.put(
    '/devices/:deviceId/cloud-storage/channels/:channel',
    { schema: { params: ChannelParams, body: ChannelSettingsBodySchema, response: { 200: CloudStorageChannelSchema } }, preHandler: configure, config: { oplog: 'Configure Cloud Storage' } },
    async (request) => {
      const { channel } = request.params as { channel: number };
      const body = request.body as ChannelSettingsBody;
      const { device, edgeSerial } = await storageDevice(request, CONFIGURE);
      checkChannel(device, channel);
      request.oplog.detail = `${channelLabel(device, channel)}: cloud storage ${body.enabled ? 'on' : 'off'}`;
      const bad = body.schedule?.periods.find((p) => p.end <= p.start);
      if (bad) throw new AppError(400, ErrorCode.validationFailed, `An arming period must end after it starts (${bad.start} to ${bad.end} minutes).`);
      if (body.preSeconds + body.postSeconds > CLIP_MAX_LENGTH_SECONDS) {
        throw new AppError(400, ErrorCode.validationFailed, `Pre- and post-event recording make at most ${CLIP_MAX_LENGTH_SECONDS} s together (${body.preSeconds} + ${body.postSeconds} s asked).`);
      }
      const supported = supportedTriggers(device);
      const unsupported = [ClipEventType.intrusion, ClipEventType.lineCrossing].filter((t) => body.triggers[t]?.enabled && !supported.includes(t));
      if (unsupported.length > 0) {
        throw new AppError(422, CloudStorageErrorCode.triggerUnsupported, `${device.name} is a solar camera: it detects motion only, not ${unsupported.join(' or ')}.`);
      }
      if (body.enabled && isRecorder(device) && (await loginOf(device.id)) === null) {
        throw new AppError(422, CloudStorageErrorCode.loginMissing, `Set the login the edge box uses for ${device.name} before switching cloud storage on.`);
      }
      const settings = normalized(body);
      const values = { ...settings, updatedAt: new Date() };
      const [row] = await ctx.db
        .insert(cloudStorageChannels)
        .values({ deviceId: device.id, channel, ...values })
        .onConflictDoUpdate({ target: [cloudStorageChannels.deviceId, cloudStorageChannels.channel], set: values })
        .returning();
      ctx.clipsConfigurator.boxChanged(edgeSerial);
      return channelView(device, channel, row, null);
    },
  );

  app.post(
    '/devices/:deviceId/cloud-storage/channels/:channel/activate',
    { schema: { params: ChannelParams, body: ActivateBodySchema, response: { 200: CloudStorageChannelSchema } }, preHandler: configure, config: { oplog: 'Activate Cloud Storage Service' } },
    async (request) => {
      const auth = requireAuth(request);
      const { channel } = request.params as { channel: number };
      const { packageId } = request.body as { packageId: string };
      await requireFeature(ctx.db, auth, RegionFeature.cloudStorage);
      const { device, edgeSerial } = await storageDevice(request, CONFIGURE);
      checkChannel(device, channel);
      const label = channelLabel(device, channel);
      request.oplog.detail = label;
      const row = await ctx.db.transaction(async (tx) => {
        // The channel's row first, then the package's: two activations of one channel, or of one package's last
        // channel, wait for each other.
        await tx
          .insert(cloudStorageChannels)
          .values({ deviceId: device.id, channel, ...DEFAULT_SETTINGS })
          .onConflictDoNothing();
        const [current] = await tx
          .select()
          .from(cloudStorageChannels)
          .where(and(eq(cloudStorageChannels.deviceId, device.id), eq(cloudStorageChannels.channel, channel)))
          .for('update');
        const pkg = await lockPackage(tx, auth.companyId, packageId);
        if (!pkg) throw new AppError(409, CloudStorageErrorCode.noPackageLeft, 'Your company holds no cloud storage package of that id.');
        if (pkg.row.mode === RecordingMode.continuous) {
          throw new AppError(422, CloudStorageErrorCode.modeUnsupported, `24/7 recording is not offered through the edge box: ${label} records events. Activate an event package.`);
        }
        if (serviceState(current, new Date()) === ServiceState.active) {
          throw new AppError(409, CloudStorageErrorCode.alreadyActive, `The service of ${label} runs until ${current!.expiresAt!.toISOString()}: activate it again once it has expired.`);
        }
        if (pkg.used >= pkg.row.channels) {
          throw new AppError(409, CloudStorageErrorCode.noPackageLeft, `All ${pkg.row.channels} channel(s) of that package are in use.`);
        }
        const [activated] = await tx
          .update(cloudStorageChannels)
          .set({
            packageId,
            retentionDays: pkg.row.retentionDays,
            activatedAt: sql`now()`,
            expiresAt: sql`now() + ${TERM_INTERVAL[pkg.row.term as keyof typeof TERM_INTERVAL]}`,
            updatedAt: new Date(),
          })
          .where(and(eq(cloudStorageChannels.deviceId, device.id), eq(cloudStorageChannels.channel, channel)))
          .returning();
        request.oplog.detail = `${label}: ${pkg.row.retentionDays}-day ${pkg.row.term} package, until ${activated!.expiresAt!.toISOString()}`;
        return activated!;
      });
      ctx.clipsConfigurator.boxChanged(edgeSerial);
      return channelView(device, channel, row, null);
    },
  );

  app.put(
    '/devices/:deviceId/cloud-storage/login',
    { schema: { params: DeviceParams, body: RecorderLoginBodySchema }, preHandler: configure, config: { oplog: 'Configure Cloud Storage' } },
    async (request, reply) => {
      const login = request.body as RecorderLogin;
      const { device, edgeSerial } = await storageDevice(request, CONFIGURE);
      if (!isRecorder(device)) {
        throw new AppError(409, CloudStorageErrorCode.deviceUnsupported, `${device.name} is a camera: the edge box logs in to it with the device password, it needs no login of its own.`);
      }
      request.oplog.detail = `login of the edge box to ${device.name} (user ${login.username})`;
      const sealed = ctx.vault.seal(JSON.stringify({ username: login.username, password: login.password }), loginSealContext(device.id));
      await ctx.db
        .insert(cloudStorageDevices)
        .values({ deviceId: device.id, loginSealed: sealed })
        .onConflictDoUpdate({ target: cloudStorageDevices.deviceId, set: { loginSealed: sealed, updatedAt: new Date() } });
      ctx.clipsConfigurator.boxChanged(edgeSerial);
      return reply.status(204).send();
    },
  );

  // ---- the box's uplink ---------------------------------------------------------------------------

  app.post(
    '/devices/:deviceId/cloud-storage/bandwidth-test',
    { schema: { params: DeviceParams, response: { 200: BandwidthTestSchema } }, preHandler: configure, config: { oplog: 'Uplink Bandwidth Test' } },
    async (request) => {
      // Edge boxes are not devices of the site: the test runs on the box that reaches the device.
      const { device } = await deviceFor(ctx.db, request, { op: SiteOperation.manageDevice });
      const edgeSerial = device.edgeSerial;
      if (edgeSerial === null) {
        throw new AppError(409, CloudStorageErrorCode.deviceUnsupported, `${device.name} is not reached through an edge box of the site: there is no box uplink to test.`);
      }
      request.oplog.detail = `edge box ${edgeSerial}`;
      if (!ctx.tunnel.isConnected(edgeSerial)) throw new AppError(409, ErrorCode.edgeOffline, `The edge box ${edgeSerial} that reaches ${device.name} is not connected right now.`);
      const timeoutMs = BANDWIDTH_TEST_SECONDS * 1000 + Math.max(ctx.config.rpcTimeoutMs, 30_000);
      let result;
      try {
        result = await ctx.tunnel.call(edgeSerial, RpcMethod.clipsBandwidthTest, { uploadUrl: ctx.clipsConfigurator.uploadUrl, seconds: BANDWIDTH_TEST_SECONDS }, timeoutMs);
      } catch (err) {
        if (err instanceof AppError && (err.code === ErrorCode.rpcTimeout || err.code === ErrorCode.rpcFailed)) {
          throw new AppError(502, CloudStorageErrorCode.bandwidthTestFailed, err.message);
        }
        throw err;
      }
      if (!result.ok) throw new AppError(502, CloudStorageErrorCode.bandwidthTestFailed, `The edge box ${edgeSerial} could not finish the test: ${result.message}`);
      const test: BandwidthTest = { testedAt: new Date().toISOString(), uploadKbps: result.uploadKbps, ...recommendation(result.uploadKbps) };
      await ctx.db
        .insert(cloudStorageDevices)
        .values({ deviceId: device.id, bandwidthTest: test })
        .onConflictDoUpdate({ target: cloudStorageDevices.deviceId, set: { bandwidthTest: test, updatedAt: new Date() } });
      request.oplog.detail += `: ${test.uploadKbps} kbps`;
      return test;
    },
  );

  // ---- storage used -------------------------------------------------------------------------------

  app.get('/sites/:siteId/cloud-storage/usage', { schema: { params: SiteParams, response: { 200: StorageUsageSchema } }, preHandler: manageSites }, async (request) => {
    const site = await siteOfRequest(ctx.db, request);
    const rows = await ctx.db
      .select({
        device: devices,
        channel: clips.channel,
        bytes: sql<number>`sum(${clips.videoBytes} + ${clips.thumbnailBytes})::bigint`.mapWith(Number),
        clips: sql<number>`count(*)::int`,
      })
      .from(clips)
      .innerJoin(devices, eq(devices.id, clips.deviceId))
      .where(and(eq(clips.siteId, site.id), eq(clips.complete, true)))
      .groupBy(devices.id, clips.channel)
      .orderBy(asc(devices.name), asc(devices.id), asc(clips.channel));
    const channels = rows.map((r) => ({ deviceId: r.device.id, channel: r.channel, label: channelLabel(r.device, r.channel), bytes: r.bytes, clips: r.clips }));
    const usage: StorageUsage = {
      bytes: channels.reduce((n, c) => n + c.bytes, 0),
      clips: channels.reduce((n, c) => n + c.clips, 0),
      channels,
    };
    return usage;
  });
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, eq, ne, sql } from 'drizzle-orm';
import Type from 'typebox';
import { ChannelRefusal, DeviceKind, LanDeviceClass, RpcMethod, type ChannelSource, type ChannelsRefused, type RecorderChannels, type RecorderTarget } from '@vigil/protocol';
import {
  AddChannelsBodySchema,
  AddChannelsReplySchema,
  ChannelErrorCode,
  ChannelOrderBodySchema,
  DEVICE_KIND_LABELS,
  DevicePermissionName,
  DeviceChannelsSchema,
  ErrorCode,
  PERSONAL_SITE_MAX_CHANNELS,
  Permission,
  SiteOperation,
  SiteType,
  type AddChannelsBody,
  type ChannelOrderBody,
  type DeviceChannels,
} from '@vigil/protocol/api';
import { manageSites, requireAuth, requirePermission } from '../auth/plugin.js';
import type { CloudContext } from '../context.js';
import type { Auth } from '../types.js';
import { devices } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { readDeviceDefaults } from '../onsite/defaults.js';
import { ipv4Number } from '../onsite/operations.js';
import { edgeSeeingAll, names, sightingsOf } from '../onsite/sightings.js';
import { deviceFor, type DeviceNeed } from './routes.js';

const DeviceParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
const ChannelParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }), channelId: Type.Integer({ minimum: 1, maximum: 9999 }) });
const manage = [manageSites, requirePermission(Permission.deviceManage)];
/** The recorder's channels are its configuration: reading them needs Configuration of a handed-over recorder, changing them Manage Device too. */
const READ: DeviceNeed = { use: DevicePermissionName.configuration };
const CHANGE: DeviceNeed = { op: SiteOperation.manageDevice, use: DevicePermissionName.configuration };

/** The account activation gives a device, which the recorder logs in to cameras picked from the LAN with. */
const CAMERA_USER = 'admin';

/** How each refusal of the edge box leaves the API. */
const REFUSAL_STATUS: Record<ChannelRefusal, number> = {
  [ChannelRefusal.notOnLan]: 409,
  [ChannelRefusal.notRecorder]: 409,
  [ChannelRefusal.loginFailed]: 409,
  [ChannelRefusal.busy]: 409,
  [ChannelRefusal.channelLimit]: 409,
  [ChannelRefusal.channelExists]: 409,
  [ChannelRefusal.poeChannel]: 409,
  [ChannelRefusal.cameraUnreachable]: 422,
  [ChannelRefusal.cameraLoginRefused]: 422,
  [ChannelRefusal.channelNotFound]: 404,
  [ChannelRefusal.invalidOrder]: 400,
  [ChannelRefusal.deviceRefused]: 502,
};

const refusal = (r: ChannelsRefused) => new AppError(REFUSAL_STATUS[r.code], r.code, r.message);

/**
 * The connected edge box that sees a site's recorder (and the cameras named) on the LAN, and the target it logs
 * in to the recorder with: the caller's default device password, which the cloud opens for the one call.
 */
export async function recorderTarget(
  ctx: CloudContext,
  auth: Auth,
  device: { serial: string; name: string },
  site: { id: string; companyId: string },
  cameraSerials: readonly string[] = [],
  log?: { warn(o: object, m: string): void },
) {
  const sightings = await sightingsOf(ctx.db, site, [device.serial, ...cameraSerials]);
  const edge = edgeSeeingAll(sightings, [device.serial, ...cameraSerials], ctx.tunnel, 'add');
  if (!edge.connected) throw new AppError(409, ErrorCode.edgeOffline, `The edge box ${edge.serial} that sees ${device.name} is not connected right now.`);
  const defaults = await readDeviceDefaults(ctx.db, ctx.vault, auth.accountId, log);
  if (!defaults) {
    throw new AppError(409, ErrorCode.noDeviceDefaults, 'No default device password is saved: the edge box logs in to the recorder with it. Save it first (Default Device Password).');
  }
  const seen = sightings.byEdge.get(device.serial)!.get(edge.serial)!;
  const target: RecorderTarget = { serial: device.serial, ip: seen.network.ipv4, httpPort: seen.httpPort, password: defaults.password };
  return { edgeSerial: edge.serial, sightings, defaults, seen, target };
}

/**
 * The channels of a site's NVR or DVR (manual §3.1.2, Table 3-4: list, "Add Channel → Manually Select", delete,
 * sort), through the edge box that sees it on the LAN. The edge logs in to the recorder with the installer's
 * default device password, which the cloud opens for the one call. The device's channel count follows what the
 * recorder reports, within a personal site's 128 channels.
 */
export async function channelRoutes(app: FastifyInstance) {
  const { ctx } = app;

  /** The recorder of the route, the edge box that reaches it now, and what the edge needs to log in to it. */
  async function recorderFor(request: FastifyRequest, need: DeviceNeed, cameraSerials: readonly string[] = []) {
    const auth = requireAuth(request);
    const { device, site } = await deviceFor(ctx.db, request, need);
    if (device.edgeSerial === null) {
      throw new AppError(
        409,
        ChannelErrorCode.noEdgeBox,
        `${device.name} is not reached through an edge box of the site (it connects to the platform by itself or by IP/domain), so its channels cannot be managed from here.`,
      );
    }
    if (device.kind !== DeviceKind.nvr && device.kind !== DeviceKind.dvr) {
      const kind = DEVICE_KIND_LABELS[device.kind as DeviceKind] ?? device.kind;
      throw new AppError(409, ChannelErrorCode.notRecorder, `${device.name} is a ${kind.toLowerCase()}, not an NVR or DVR: it has no channels to manage.`);
    }
    const { edgeSerial, sightings, defaults, seen, target } = await recorderTarget(ctx, auth, device, site, cameraSerials, request.log);
    request.oplog.detail = `through edge box ${edgeSerial}`;
    return {
      device,
      site,
      edgeSerial,
      sightings,
      defaults,
      target,
      /** A DVR's analog inputs (its discovery answer counts them with its IP channels); 0 for an NVR. */
      analog: (recorder: RecorderChannels) => Math.max(0, seen.channels - recorder.maxChannels),
    };
  }

  type Recorder = Awaited<ReturnType<typeof recorderFor>>;

  /** Stores the recorder's channel count as it is now; the portal hears of every change (and of a count found out of step). */
  async function keepCount(r: Recorder, recorder: RecorderChannels, changed: boolean): Promise<DeviceChannels> {
    const count = r.analog(recorder) + recorder.channels.length;
    if (count !== r.device.channels) {
      await ctx.db.update(devices).set({ channels: count, updatedAt: new Date() }).where(eq(devices.id, r.device.id));
    }
    if (changed || count !== r.device.channels) ctx.hub.publish(r.site.companyId, { type: 'devices.changed', siteId: r.site.id });
    return { deviceId: r.device.id, ...recorder };
  }

  async function list(r: Recorder): Promise<RecorderChannels> {
    const result = await ctx.tunnel.call(r.edgeSerial, RpcMethod.nvrChannelsList, { recorder: r.target }, ctx.config.rpcTimeoutMs);
    if (!result.ok) throw refusal(result);
    return result.recorder;
  }

  app.get('/devices/:deviceId/channels', { schema: { params: DeviceParams, response: { 200: DeviceChannelsSchema } }, preHandler: manageSites }, async (request) => {
    const r = await recorderFor(request, READ);
    return keepCount(r, await list(r), false);
  });

  app.post(
    '/devices/:deviceId/channels',
    { schema: { params: DeviceParams, body: AddChannelsBodySchema, response: { 200: AddChannelsReplySchema } }, preHandler: manage, config: { oplog: 'Add Channel' } },
    async (request) => {
      const body = request.body as AddChannelsBody;
      if ((body.serials === undefined) === (body.address === undefined)) {
        throw new AppError(400, ErrorCode.validationFailed, 'Give either the serial numbers of cameras on the LAN or the address of one camera.');
      }
      if (body.address && body.password !== undefined) {
        throw new AppError(400, ErrorCode.validationFailed, 'The password field goes with serials; give the camera’s password in address.');
      }
      if (body.address && ipv4Number(body.address.ipAddress) === null) {
        throw new AppError(400, ErrorCode.validationFailed, `body/address/ipAddress "${body.address.ipAddress}" is not an IPv4 address`);
      }
      const r = await recorderFor(request, CHANGE, body.serials ?? []);

      let cameras: (ChannelSource & { label: string })[];
      if (body.serials) {
        const serials = body.serials;
        const notCameras = serials.filter((s) => r.sightings.device(s).deviceClass !== LanDeviceClass.camera);
        if (notCameras.length > 0) throw new AppError(422, ChannelErrorCode.notCamera, `Only network cameras can be added as channels: ${names(notCameras)} ${notCameras.length > 1 ? 'are not cameras' : 'is not a camera'}.`);
        const inactive = serials.filter((s) => !r.sightings.device(s).activated);
        if (inactive.length > 0) throw new AppError(409, ErrorCode.deviceNotActivated, `${names(inactive)} ${inactive.length > 1 ? 'are' : 'is'} not activated: activate ${inactive.length > 1 ? 'them' : 'it'} first.`);
        cameras = serials.map((serial) => {
          const d = r.sightings.byEdge.get(serial)!.get(r.edgeSerial)!;
          return { label: serial, serial, ipAddress: d.network.ipv4, port: d.httpPort, username: CAMERA_USER, password: body.password ?? r.defaults.password };
        });
      } else {
        const a = body.address!;
        cameras = [{ label: `${a.ipAddress}:${a.port}`, ...a }];
      }
      request.oplog.detail = `${names(cameras.map((c) => c.label))} ${request.oplog.detail ?? ''}`.trim();

      // A personal site takes at most 128 channels, counted with what the recorder has now.
      if (r.site.type === SiteType.personal) {
        const current = await list(r);
        const [others] = await ctx.db
          .select({ n: sql<number>`coalesce(sum(${devices.channels}), 0)::int` })
          .from(devices)
          .where(and(eq(devices.siteId, r.site.id), ne(devices.id, r.device.id)));
        const has = (others?.n ?? 0) + r.analog(current) + current.channels.length;
        const total = has + cameras.length;
        if (total > PERSONAL_SITE_MAX_CHANNELS) {
          throw new AppError(
            422,
            ErrorCode.siteChannelLimit,
            `A personal site takes at most ${PERSONAL_SITE_MAX_CHANNELS} channels: "${r.site.name}" has ${has} and ${cameras.length > 1 ? 'these cameras bring' : 'this camera brings'} ${cameras.length}, ${total} in all.`,
          );
        }
      }

      const result = await ctx.tunnel.call(
        r.edgeSerial,
        RpcMethod.nvrChannelsAdd,
        { recorder: r.target, cameras: cameras.map(({ label: _label, ...c }) => c) },
        ctx.config.rpcTimeoutMs,
      );
      if (!result.ok) throw refusal(result);
      const results = result.added.map((o, i) => ({ camera: cameras[i]?.label ?? `${o.ipAddress}:${o.port}`, ...o }));
      const failed = results.filter((o) => !o.ok);
      const channels = await keepCount(r, result.recorder, failed.length < results.length);
      if (failed.length === results.length) {
        const first = failed[0]!;
        throw new AppError(REFUSAL_STATUS[first.code ?? ChannelRefusal.deviceRefused], first.code ?? ChannelRefusal.deviceRefused, failed.map((o) => o.message).join(' '));
      }
      if (failed.length > 0) request.oplog.detail += `; ${failed.length} of ${results.length} not added`;
      return { results, channels };
    },
  );

  app.delete(
    '/devices/:deviceId/channels/:channelId',
    { schema: { params: ChannelParams, response: { 200: DeviceChannelsSchema } }, preHandler: manage, config: { oplog: 'Delete Channel' } },
    async (request) => {
      const { channelId } = request.params as { channelId: number };
      const r = await recorderFor(request, CHANGE);
      request.oplog.detail = `channel ${channelId} ${request.oplog.detail ?? ''}`.trim();
      const result = await ctx.tunnel.call(r.edgeSerial, RpcMethod.nvrChannelsRemove, { recorder: r.target, channelId }, ctx.config.rpcTimeoutMs);
      if (!result.ok) throw refusal(result);
      return keepCount(r, result.recorder, true);
    },
  );

  app.put(
    '/devices/:deviceId/channels/order',
    { schema: { params: DeviceParams, body: ChannelOrderBodySchema, response: { 200: DeviceChannelsSchema } }, preHandler: manage, config: { oplog: 'Sort Channels' } },
    async (request) => {
      const { order } = request.body as ChannelOrderBody;
      const r = await recorderFor(request, CHANGE);
      request.oplog.detail = `order ${order.join(', ')} ${request.oplog.detail ?? ''}`.trim();
      const result = await ctx.tunnel.call(r.edgeSerial, RpcMethod.nvrChannelsOrder, { recorder: r.target, order }, ctx.config.rpcTimeoutMs);
      if (!result.ok) throw refusal(result);
      return keepCount(r, result.recorder, true);
    },
  );
}


import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, asc, eq } from 'drizzle-orm';
import Type from 'typebox';
import { accessModeFeatures, DeviceAccessMode, DeviceListSchema, DeviceSchema, ErrorCode, Permission, PresenceHistorySchema, UpdateDeviceBodySchema, type UpdateDeviceBody } from '@vigil/protocol/api';
import { devices, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import { checkOfflineDelay, siteScope, visibleSite } from '../sites/access.js';

const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
const DeviceParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
const seeSites = requirePermission(Permission.siteManageAll, Permission.siteManageAssigned);

export function deviceView(d: typeof devices.$inferSelect) {
  const accessMode = d.accessMode === DeviceAccessMode.ipDomain ? DeviceAccessMode.ipDomain : DeviceAccessMode.p2p;
  return {
    id: d.id,
    siteId: d.siteId,
    edgeSerial: d.edgeSerial,
    kind: d.kind,
    protocol: d.protocol,
    manufacturer: d.manufacturer,
    model: d.model,
    serial: d.serial,
    firmware: d.firmware,
    name: d.name,
    address: `${d.host}:${d.port}`,
    accessMode,
    features: accessModeFeatures(accessMode),
    channels: d.channels,
    status: d.status === 'online' ? ('online' as const) : ('offline' as const),
    statusChangedAt: d.statusChangedAt?.toISOString() ?? null,
    lastSeenAt: d.lastSeenAt?.toISOString() ?? null,
    offlineDelaySec: d.offlineDelaySec,
    createdAt: d.createdAt.toISOString(),
  };
}

export async function deviceRoutes(app: FastifyInstance) {
  const { ctx } = app;

  async function deviceFor(request: FastifyRequest) {
    const auth = requireAuth(request);
    const { deviceId } = request.params as { deviceId: string };
    const [row] = await ctx.db
      .select({ device: devices, site: sites })
      .from(devices)
      .innerJoin(sites, eq(sites.id, devices.siteId))
      .where(and(eq(devices.id, deviceId), siteScope(auth)));
    if (!row) throw new AppError(404, ErrorCode.deviceNotFound, 'Device not found.');
    request.oplog.siteId = row.site.id;
    request.oplog.siteName = row.site.name;
    request.oplog.target = row.device.name;
    return row;
  }

  app.get('/sites/:siteId/devices', { schema: { params: SiteParams, response: { 200: DeviceListSchema } }, preHandler: seeSites }, async (request) => {
    const site = await visibleSite(ctx.db, requireAuth(request), (request.params as { siteId: string }).siteId);
    const rows = await ctx.db.select().from(devices).where(eq(devices.siteId, site.id)).orderBy(asc(devices.name), asc(devices.id));
    return { items: rows.map(deviceView) };
  });

  app.get('/devices/:deviceId', { schema: { params: DeviceParams, response: { 200: DeviceSchema } }, preHandler: seeSites }, async (request) => {
    return deviceView((await deviceFor(request)).device);
  });

  app.patch(
    '/devices/:deviceId',
    { schema: { params: DeviceParams, body: UpdateDeviceBodySchema, response: { 200: DeviceSchema } }, preHandler: [seeSites, requirePermission(Permission.deviceManage)], config: { oplog: 'Edit Device' } },
    async (request) => {
      const { device, site } = await deviceFor(request);
      const body = request.body as UpdateDeviceBody;
      checkOfflineDelay(body.offlineDelaySec, ctx.config.minOfflineDelaySec);
      const [updated] = await ctx.db.update(devices).set({ ...body, updatedAt: new Date() }).where(eq(devices.id, device.id)).returning();
      ctx.hub.publish(site.companyId, { type: 'devices.changed', siteId: site.id });
      return deviceView(updated!);
    },
  );

  app.get('/devices/:deviceId/history', { schema: { params: DeviceParams, response: { 200: PresenceHistorySchema } }, preHandler: seeSites }, async (request) => {
    const { device } = await deviceFor(request);
    return { items: await ctx.edges.history('device', device.id) };
  });
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, asc, eq } from 'drizzle-orm';
import Type from 'typebox';
import { shortSerial } from '@vigil/protocol';
import {
  accessModeFeatures,
  DeviceAccessMode,
  DeviceListSchema,
  DeviceSchema,
  ErrorCode,
  Permission,
  PresenceHistorySchema,
  SiteOperation,
  UpdateDeviceBodySchema,
  type DeviceUse,
  type UpdateDeviceBody,
} from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { devices, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { manageSites, requireAuth, requirePermission } from '../auth/plugin.js';
import { checkOfflineDelay, siteScope, visibleSite } from '../sites/access.js';
import { checkDeviceUse, deviceUseColumns, NO_DEVICE_USE, requireSiteOperation } from '../sites/gate.js';

const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
const DeviceParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
/** Seeing a site's devices needs one of the site permissions. */

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
    shortSerial: d.shortSerial ?? shortSerial(d.serial),
    firmware: d.firmware,
    name: d.name,
    // Devices that connect by themselves have no address the platform calls.
    address: d.host ? `${d.host}:${d.port}` : '',
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

/** What a route does with a device: an operation of Table 3-12 on its site, and a use a handed-over site's owner grants. */
export interface DeviceNeed {
  op?: SiteOperation;
  use?: DeviceUse;
}

/**
 * The device of the route's `:deviceId` with its site, if the caller may see that site (else 404); fills in the log
 * line. Refuses what `need` names and the site's status (409) or the caller's grants (403) do not allow.
 */
export async function deviceFor(db: Db, request: FastifyRequest, need: DeviceNeed = {}) {
  const auth = requireAuth(request);
  const { deviceId } = request.params as { deviceId: string };
  const [row] = await db
    // The grant of a use is read in the same query: the gate costs no extra round trip.
    .select({ device: devices, site: sites, held: need.use ? deviceUseColumns(auth.companyId, need.use) : NO_DEVICE_USE })
    .from(devices)
    .innerJoin(sites, eq(sites.id, devices.siteId))
    .where(and(eq(devices.id, deviceId), siteScope(auth)));
  if (!row) throw new AppError(404, ErrorCode.deviceNotFound, 'Device not found.');
  request.oplog.siteId = row.site.id;
  request.oplog.siteName = row.site.name;
  request.oplog.target = row.device.name;
  if (need.op) requireSiteOperation(row.site, need.op);
  if (need.use) checkDeviceUse(row.site, row.device, need.use, row.held);
  return { device: row.device, site: row.site };
}

export async function deviceRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/sites/:siteId/devices', { schema: { params: SiteParams, response: { 200: DeviceListSchema } }, preHandler: manageSites }, async (request) => {
    const site = await visibleSite(ctx.db, requireAuth(request), (request.params as { siteId: string }).siteId);
    const rows = await ctx.db.select().from(devices).where(eq(devices.siteId, site.id)).orderBy(asc(devices.name), asc(devices.id));
    return { items: rows.map(deviceView) };
  });

  app.get('/devices/:deviceId', { schema: { params: DeviceParams, response: { 200: DeviceSchema } }, preHandler: manageSites }, async (request) => {
    return deviceView((await deviceFor(ctx.db, request)).device);
  });

  app.patch(
    '/devices/:deviceId',
    { schema: { params: DeviceParams, body: UpdateDeviceBodySchema, response: { 200: DeviceSchema } }, preHandler: [manageSites, requirePermission(Permission.deviceManage)], config: { oplog: 'Edit Device' } },
    async (request) => {
      const { device, site } = await deviceFor(ctx.db, request, { op: SiteOperation.manageDevice });
      const body = request.body as UpdateDeviceBody;
      checkOfflineDelay(body.offlineDelaySec, ctx.config.minOfflineDelaySec);
      const [updated] = await ctx.db.update(devices).set({ ...body, updatedAt: new Date() }).where(eq(devices.id, device.id)).returning();
      ctx.hub.publish(site.companyId, { type: 'devices.changed', siteId: site.id });
      return deviceView(updated!);
    },
  );

  app.get('/devices/:deviceId/history', { schema: { params: DeviceParams, response: { 200: PresenceHistorySchema } }, preHandler: manageSites }, async (request) => {
    const { device } = await deviceFor(ctx.db, request);
    return { items: await ctx.edges.history('device', device.id) };
  });
}

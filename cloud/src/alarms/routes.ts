import type { FastifyInstance } from 'fastify';
import { and, arrayContains, count, desc, eq, gte, inArray, lte, type SQL } from 'drizzle-orm';
import Type from 'typebox';
import {
  AlarmDelivery,
  ArcAlarmListSchema,
  ArcAlarmQuerySchema,
  ArcServiceState,
  DeviceAlarmListSchema,
  DeviceAlarmQuerySchema,
  type ArcAlarmQuery,
  type ArcEventType,
  type DeviceAlarmQuery,
} from '@vigil/protocol/api';
import { alarmEvents, arcPanels, companies, devices, sites } from '../db/schema.js';
import { manageSites, requireAuth } from '../auth/plugin.js';
import { arcSide } from '../arc/access.js';
import { deviceFor } from '../devices/routes.js';

const DeviceParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
/** The ARC keeps seeing what it received from a panel while it is suspended, not after it lets the panel go. */
const INBOX_STATES = [ArcServiceState.accepted, ArcServiceState.suspended];

type AlarmRow = typeof alarmEvents.$inferSelect;

function alarmView(r: AlarmRow) {
  return {
    id: String(r.id),
    at: r.receivedAt.toISOString(),
    code: r.code,
    restore: r.restore,
    zone: r.zone,
    area: r.area,
    description: r.description,
    types: r.types as ArcEventType[],
    delivery: r.deliveryPath === AlarmDelivery.direct || r.deliveryPath === AlarmDelivery.server ? r.deliveryPath : r.forwarded ? AlarmDelivery.waiting : AlarmDelivery.kept,
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
    transmissionMs: r.transmissionMs,
  };
}

const paging = (q: { page?: number; pageSize?: number }) => {
  const pageSize = q.pageSize ?? 50;
  return { limit: pageSize, offset: ((q.page ?? 1) - 1) * pageSize };
};

/** The alarm log: an ARC's inbox of what was forwarded to it, and each panel's events for its installer. */
export async function alarmLogRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/arc/alarms', { schema: { querystring: ArcAlarmQuerySchema, response: { 200: ArcAlarmListSchema } }, preHandler: arcSide(ctx.db) }, async (request) => {
    const arcCompanyId = requireAuth(request).companyId;
    const q = request.query as ArcAlarmQuery;
    const where: SQL[] = [eq(alarmEvents.arcCompanyId, arcCompanyId), eq(arcPanels.arcCompanyId, arcCompanyId), inArray(arcPanels.state, INBOX_STATES)];
    if (q.deviceId) where.push(eq(alarmEvents.deviceId, q.deviceId));
    if (q.from) where.push(gte(alarmEvents.receivedAt, new Date(q.from)));
    if (q.to) where.push(lte(alarmEvents.receivedAt, new Date(q.to)));
    if (q.category) where.push(arrayContains(alarmEvents.types, [q.category]));
    const { limit, offset } = paging(q);
    const [rows, [total]] = await Promise.all([
      ctx.db
        .select({ alarm: alarmEvents, device: devices.name, site: sites.name, installer: companies.name })
        .from(alarmEvents)
        .innerJoin(arcPanels, eq(arcPanels.deviceId, alarmEvents.deviceId))
        .innerJoin(devices, eq(devices.id, alarmEvents.deviceId))
        .innerJoin(sites, eq(sites.id, devices.siteId))
        .innerJoin(companies, eq(companies.id, sites.companyId))
        .where(and(...where))
        .orderBy(desc(alarmEvents.receivedAt), desc(alarmEvents.id))
        .limit(limit)
        .offset(offset),
      ctx.db
        .select({ n: count() })
        .from(alarmEvents)
        .innerJoin(arcPanels, eq(arcPanels.deviceId, alarmEvents.deviceId))
        .where(and(...where)),
    ]);
    return {
      total: total?.n ?? 0,
      items: rows.map((r) => ({
        ...alarmView(r.alarm),
        deviceId: r.alarm.deviceId,
        device: r.device,
        site: r.site,
        installer: r.installer,
        account: r.alarm.arcAccount ?? '',
      })),
    };
  });

  app.get(
    '/devices/:deviceId/alarms',
    { schema: { params: DeviceParams, querystring: DeviceAlarmQuerySchema, response: { 200: DeviceAlarmListSchema } }, preHandler: manageSites },
    async (request) => {
      const { device, site } = await deviceFor(ctx.db, request);
      const where = and(eq(alarmEvents.deviceId, device.id), eq(alarmEvents.companyId, site.companyId));
      const { limit, offset } = paging(request.query as DeviceAlarmQuery);
      const [rows, [total]] = await Promise.all([
        ctx.db.select().from(alarmEvents).where(where).orderBy(desc(alarmEvents.receivedAt), desc(alarmEvents.id)).limit(limit).offset(offset),
        ctx.db.select({ n: count() }).from(alarmEvents).where(where),
      ]);
      return { total: total?.n ?? 0, items: rows.map((r) => ({ ...alarmView(r), account: r.account })) };
    },
  );
}

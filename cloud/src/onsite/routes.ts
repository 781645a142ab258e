import { SiteParams } from '../http/params.js';
import type { FastifyInstance } from 'fastify';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { pingLevel, shortSerial, type DiscoveredDevice } from '@vigil/protocol';
import { LanDeviceListSchema, Permission } from '@vigil/protocol/api';
import { devices, edges, lanDevices } from '../db/schema.js';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import { visibleSite } from '../sites/access.js';


/** The On-site view: what the site's edge boxes discover on the customer's LAN (the SADP role). */
export async function onsiteRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get(
    '/sites/:siteId/lan',
    { schema: { params: SiteParams, response: { 200: LanDeviceListSchema } }, preHandler: requirePermission(Permission.deviceManage) },
    async (request) => {
      const site = await visibleSite(ctx.db, requireAuth(request), (request.params as { siteId: string }).siteId);
      const rows = await ctx.db
        .select({ lan: lanDevices })
        .from(lanDevices)
        .innerJoin(edges, eq(edges.serial, lanDevices.edgeSerial))
        .where(eq(edges.siteId, site.id))
        .orderBy(asc(lanDevices.serial));
      const serials = rows.map((r) => r.lan.serial);
      const added = serials.length
        ? await ctx.db.select({ id: devices.id, serial: devices.serial }).from(devices).where(and(eq(devices.siteId, site.id), inArray(devices.serial, serials)))
        : [];
      const addedBySerial = new Map(added.map((d) => [d.serial, d.id]));
      return {
        items: rows.map(({ lan }) => {
          const d = lan.data as DiscoveredDevice;
          return {
            ...d,
            edgeSerial: lan.edgeSerial,
            shortSerial: shortSerial(d.serial),
            pingLevel: d.pingMs === null ? null : pingLevel(d.pingMs),
            siteDeviceId: addedBySerial.get(d.serial) ?? null,
            seenAt: lan.seenAt.toISOString(),
          };
        }),
      };
    },
  );
}

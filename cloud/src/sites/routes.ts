import { SiteParams } from '../http/params.js';
import type { FastifyInstance } from 'fastify';
import { and, count, desc, eq, ilike, or, sql, type SQL } from 'drizzle-orm';
import Type from 'typebox';
import {
  CreateSiteBodySchema,
  ErrorCode,
  SiteListQuerySchema,
  SiteListSchema,
  SiteOperation,
  SiteSchema,
  UpdateSiteBodySchema,
  type CreateSiteBody,
  type SiteListQuery,
  type UpdateSiteBody,
} from '@vigil/protocol/api';
import { edges, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { manageSites, requireAuth } from '../auth/plugin.js';
import { requireOwnCompanySite, siteScope, siteOfRequest, visibleSite } from './access.js';
import { checkSiteFields, insertSite, rethrowSiteError } from './create.js';
import { requireSiteOperation } from './gate.js';


// Written out in SQL: inside a subquery Drizzle would leave the outer column unqualified.
const siteColumns = {
  site: sites,
  edgeCount: sql<number>`(SELECT count(*)::int FROM edges e WHERE e.site_id = "sites"."id")`,
  deviceCount: sql<number>`(SELECT count(*)::int FROM devices d WHERE d.site_id = "sites"."id")`,
  devicesOnline: sql<number>`(SELECT count(*)::int FROM devices d WHERE d.site_id = "sites"."id" AND d.status = 'online')`,
};

function view(row: { site: typeof sites.$inferSelect; edgeCount: number; deviceCount: number; devicesOnline: number }) {
  const { site: s } = row;
  return {
    ...s,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    edgeCount: row.edgeCount,
    deviceCount: row.deviceCount,
    devicesOnline: row.devicesOnline,
  };
}

export async function siteRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const minDelay = ctx.config.minOfflineDelaySec;

  const checkFields = (body: Partial<CreateSiteBody>) => checkSiteFields(body, minDelay);

  async function load(siteId: string) {
    const [row] = await ctx.db.select(siteColumns).from(sites).where(eq(sites.id, siteId));
    if (!row) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
    return view(row);
  }

  app.get('/sites', { schema: { querystring: SiteListQuerySchema, response: { 200: SiteListSchema } }, preHandler: manageSites }, async (request) => {
    const auth = requireAuth(request);
    const q = request.query as SiteListQuery;
    const page = q.page ?? 1;
    const pageSize = q.pageSize ?? 50;
    const where: SQL[] = [siteScope(auth)];
    if (q.search) {
      const like = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(or(ilike(sites.name, like), ilike(sites.address, like), ilike(sites.city, like), ilike(sites.customerRemark, like))!);
    }
    if (q.type) where.push(eq(sites.type, q.type));
    if (q.status) where.push(eq(sites.status, q.status));
    if (q.groupId) where.push(eq(sites.groupId, q.groupId));
    const [rows, [total]] = await Promise.all([
      ctx.db.select(siteColumns).from(sites).where(and(...where)).orderBy(desc(sites.createdAt)).limit(pageSize).offset((page - 1) * pageSize),
      ctx.db.select({ n: count() }).from(sites).where(and(...where)),
    ]);
    return { items: rows.map(view), total: total?.n ?? 0 };
  });

  app.post(
    '/sites',
    { schema: { body: CreateSiteBodySchema, response: { 201: SiteSchema } }, preHandler: manageSites, config: { oplog: 'Add Site' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const body = request.body as CreateSiteBody;
      request.oplog.target = body.name;
      let site;
      try {
        site = await insertSite(ctx.db, auth, body, minDelay);
      } catch (err) {
        rethrowSiteError(err, body.name);
      }
      request.oplog.siteId = site.id;
      request.oplog.siteName = site.name;
      return reply.status(201).send(await load(site.id));
    },
  );

  app.get('/sites/:siteId', { schema: { params: SiteParams, response: { 200: SiteSchema } }, preHandler: manageSites }, async (request) => {
    const site = await visibleSite(ctx.db, requireAuth(request), (request.params as { siteId: string }).siteId);
    return load(site.id);
  });

  app.patch(
    '/sites/:siteId',
    { schema: { params: SiteParams, body: UpdateSiteBodySchema, response: { 200: SiteSchema } }, preHandler: manageSites, config: { oplog: 'Edit Site' } },
    async (request) => {
      const site = await siteOfRequest(ctx.db, request);
      requireOwnCompanySite(requireAuth(request), site);
      requireSiteOperation(site, SiteOperation.editSite);
      request.oplog.target = site.name;
      const body = request.body as UpdateSiteBody;
      if (body.timeZone !== undefined && body.timeZone !== site.timeZone) {
        throw new AppError(422, ErrorCode.timeZoneImmutable, `The time zone of ${site.name} (${site.timeZone}) cannot be changed after the site is created.`);
      }
      checkFields(body);
      try {
        await ctx.db
          .update(sites)
          .set({ ...body, ...(body.name ? { name: body.name.trim() } : {}), updatedAt: new Date() })
          .where(eq(sites.id, site.id));
      } catch (err) {
        rethrowSiteError(err, body.name ?? '');
      }
      ctx.hub.publish(site.companyId, { type: 'site.changed', siteId: site.id });
      return load(site.id);
    },
  );

  app.delete(
    '/sites/:siteId',
    { schema: { params: SiteParams, response: { 204: Type.Null() } }, preHandler: manageSites, config: { oplog: 'Delete Site' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const site = await visibleSite(ctx.db, auth, (request.params as { siteId: string }).siteId);
      requireOwnCompanySite(auth, site);
      requireSiteOperation(site, SiteOperation.deleteSite);
      request.oplog.target = site.name;
      request.oplog.siteName = site.name;
      // The site's boxes are released: their credentials die with their rows and they return to claim mode.
      const released = await ctx.db.select({ serial: edges.serial }).from(edges).where(eq(edges.siteId, site.id));
      for (const { serial } of released) await ctx.edges.remove(serial);
      await ctx.db.delete(sites).where(eq(sites.id, site.id));
      ctx.hub.publish(site.companyId, { type: 'site.changed', siteId: site.id });
      return reply.status(204).send();
    },
  );
}

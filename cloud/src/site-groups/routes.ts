import type { FastifyInstance } from 'fastify';
import { and, asc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  ErrorCode,
  GroupSitesBodySchema,
  SiteAdminErrorCode,
  SiteGroupAssignBodySchema,
  SiteGroupAssignmentSchema,
  SiteGroupBodySchema,
  SiteGroupSchema,
  SiteGroupsReplySchema,
  SiteOperation,
  type GroupSitesBody,
  type SiteGroup,
  type SiteGroupAssignBody,
  type SiteGroupBody,
} from '@vigil/protocol/api';
import { manageSites, requireAuth } from '../auth/plugin.js';
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { siteGroups, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { IdParams, SiteParams } from '../http/params.js';
import { requireOwnCompanySite, siteOfRequest, siteScope } from '../sites/access.js';
import { lockSite, requireSiteOperation } from '../sites/gate.js';
import type { Auth } from '../types.js';
import { checkGroupable, groupNotFound, lockGroup } from './groups.js';


const nameTaken = (name: string) => new AppError(409, SiteAdminErrorCode.siteGroupNameTaken, `Your company already has a site group named "${name.trim()}".`);

/** The group's name as stored: trimmed, and not blank. */
function groupName(body: SiteGroupBody): string {
  const name = body.name.trim();
  if (!name) throw new AppError(400, ErrorCode.validationFailed, 'Enter a name for the group.');
  return name;
}

function rethrowGroupError(err: unknown, name: string): never {
  if (isUniqueViolation(err, 'site_groups_company_name_key')) throw nameTaken(name);
  throw err;
}

async function listGroups(db: Db, auth: Auth, only?: string): Promise<SiteGroup[]> {
  const where = and(eq(siteGroups.companyId, auth.companyId), only ? eq(siteGroups.id, only) : undefined);
  const [groups, members] = await Promise.all([
    db.select().from(siteGroups).where(where).orderBy(asc(sql`lower(${siteGroups.name})`), asc(siteGroups.id)),
    db
      .select({ id: sites.id, groupId: sites.groupId })
      .from(sites)
      .where(and(eq(sites.companyId, auth.companyId), isNotNull(sites.groupId), siteScope(auth), only ? eq(sites.groupId, only) : undefined))
      .orderBy(asc(sites.name)),
  ]);
  return groups.map((g) => ({
    id: g.id,
    name: g.name,
    siteIds: members.filter((m) => m.groupId === g.id).map((m) => m.id),
    createdAt: g.createdAt.toISOString(),
  }));
}

/**
 * Site groups (manual §3.3.4): a company's personal sites grouped by city or by a customer with many sites. A site
 * is in one group at most (`sites.group_id`), so joining a group leaves the previous one.
 */
export async function siteGroupRoutes(app: FastifyInstance) {
  const { ctx } = app;

  async function groupById(auth: Auth, id: string): Promise<SiteGroup> {
    const [group] = await listGroups(ctx.db, auth, id);
    if (!group) throw groupNotFound();
    return group;
  }

  app.get('/site-groups', { schema: { response: { 200: SiteGroupsReplySchema } }, preHandler: manageSites }, async (request) => ({
    items: await listGroups(ctx.db, requireAuth(request)),
  }));

  app.post(
    '/site-groups',
    { schema: { body: SiteGroupBodySchema, response: { 201: SiteGroupSchema } }, preHandler: manageSites, config: { oplog: 'Create Site Group' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const body = request.body as SiteGroupBody;
      request.oplog.target = body.name.trim();
      const name = groupName(body);
      let id: string;
      try {
        const [row] = await ctx.db.insert(siteGroups).values({ companyId: auth.companyId, name }).returning({ id: siteGroups.id });
        id = row!.id;
      } catch (err) {
        rethrowGroupError(err, name);
      }
      return reply.status(201).send(await groupById(auth, id));
    },
  );

  app.patch(
    '/site-groups/:id',
    { schema: { params: IdParams, body: SiteGroupBodySchema, response: { 200: SiteGroupSchema } }, preHandler: manageSites, config: { oplog: 'Rename Site Group' } },
    async (request) => {
      const auth = requireAuth(request);
      const { id } = request.params as { id: string };
      const name = groupName(request.body as SiteGroupBody);
      try {
        await ctx.db.transaction(async (tx) => {
          const group = await lockGroup(tx, auth.companyId, id);
          request.oplog.target = group.name;
          request.oplog.detail = `Renamed to ${name}`;
          await tx.update(siteGroups).set({ name }).where(eq(siteGroups.id, id));
        });
      } catch (err) {
        rethrowGroupError(err, name);
      }
      return groupById(auth, id);
    },
  );

  app.delete(
    '/site-groups/:id',
    { schema: { params: IdParams, response: { 204: Type.Null() } }, preHandler: manageSites, config: { oplog: 'Delete Site Group' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const { id } = request.params as { id: string };
      const ungrouped = await ctx.db.transaction(async (tx) => {
        const group = await lockGroup(tx, auth.companyId, id);
        request.oplog.target = group.name;
        const members = await tx.select({ id: sites.id, managed: sql<boolean>`${siteScope(auth)}` }).from(sites).where(eq(sites.groupId, id));
        // Ungrouping sites the caller does not manage is not for it to do.
        if (members.some((m) => !m.managed)) {
          throw new AppError(403, ErrorCode.permissionDenied, `"${group.name}" holds sites you do not manage: deleting it needs Manage All Sites.`);
        }
        // The foreign key leaves the group's sites ungrouped.
        await tx.delete(siteGroups).where(eq(siteGroups.id, id));
        return members;
      });
      for (const { id: siteId } of ungrouped) ctx.hub.publish(auth.companyId, { type: 'site.changed', siteId });
      return reply.status(204).send();
    },
  );

  app.put(
    '/site-groups/:id/sites',
    { schema: { params: IdParams, body: GroupSitesBodySchema, response: { 200: SiteGroupSchema } }, preHandler: manageSites, config: { oplog: 'Move to Group' } },
    async (request) => {
      const auth = requireAuth(request);
      const { id } = request.params as { id: string };
      const siteIds = [...new Set((request.body as GroupSitesBody).siteIds)];
      await ctx.db.transaction(async (tx) => {
        const group = await lockGroup(tx, auth.companyId, id);
        request.oplog.detail = group.name;
        const rows = await tx
          .select()
          .from(sites)
          .where(and(inArray(sites.id, siteIds), siteScope(auth)))
          .orderBy(asc(sites.id))
          .for('update');
        if (rows.length !== siteIds.length) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
        for (const site of rows) {
          requireOwnCompanySite(auth, site);
          checkGroupable(site);
        }
        request.oplog.target = rows.map((s) => s.name).join(', ');
        if (rows.length === 1) {
          request.oplog.siteId = rows[0]!.id;
          request.oplog.siteName = rows[0]!.name;
        }
        await tx.update(sites).set({ groupId: id, updatedAt: new Date() }).where(inArray(sites.id, siteIds));
      });
      for (const siteId of siteIds) ctx.hub.publish(auth.companyId, { type: 'site.changed', siteId });
      return groupById(auth, id);
    },
  );

  app.put(
    '/sites/:siteId/group',
    { schema: { params: SiteParams, body: SiteGroupAssignBodySchema, response: { 200: SiteGroupAssignmentSchema } }, preHandler: manageSites, config: { oplog: 'Move to Group' } },
    async (request) => {
      const auth = requireAuth(request);
      const visible = await siteOfRequest(ctx.db, request);
      requireOwnCompanySite(auth, visible);
      request.oplog.target = visible.name;
      const { groupId } = request.body as SiteGroupAssignBody;
      await ctx.db.transaction(async (tx) => {
        const site = await lockSite(tx, visible.id);
        if (groupId !== null) {
          const group = await lockGroup(tx, auth.companyId, groupId);
          request.oplog.detail = group.name;
          checkGroupable(site);
        } else {
          request.oplog.action = 'Remove from Group';
          requireSiteOperation(site, SiteOperation.moveToGroup);
        }
        await tx.update(sites).set({ groupId, updatedAt: new Date() }).where(eq(sites.id, site.id));
      });
      ctx.hub.publish(auth.companyId, { type: 'site.changed', siteId: visible.id });
      return { siteId: visible.id, groupId };
    },
  );
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, asc, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  AssignManagersBodySchema,
  ErrorCode,
  ManagerCandidatesReplySchema,
  ManagerValidityBodySchema,
  Permission,
  SITE_MANAGERS_MAX,
  SiteAdminErrorCode,
  SiteManagerSchema,
  SiteManagersReplySchema,
  SiteOperation,
  SitesManagersQuerySchema,
  SitesManagersReplySchema,
  type AssignManagersBody,
  type ManagerValidityBody,
} from '@vigil/protocol/api';
import { manageSites, requireAuth, requirePermission } from '../auth/plugin.js';
import type { Tx } from '../db/client.js';
import { siteManagers, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { SiteParams } from '../http/params.js';
import { notifyAccounts, type NotificationDraft } from '../notifications/notify.js';
import { requireOwnCompanySite, siteOfRequest, siteScope } from '../sites/access.js';
import { lockSite, requireSiteOperation } from '../sites/gate.js';
import { holdsManageAll, MANAGER_ROLES, managerAccounts, managerCandidates, managersOf, validityText } from './managers.js';

const manageAll = requirePermission(Permission.siteManageAll);
const ManagerParams = Type.Object({ siteId: Type.String({ format: 'uuid' }), accountId: Type.String({ format: 'uuid' }) });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const refuse = (code: string, message: string) => new AppError(422, code, message);
const managerNotFound = () => new AppError(404, SiteAdminErrorCode.siteManagerNotFound, 'This account is not a manager of the site.');

/** A validity given as an ISO date must lie ahead. */
function futureExpiry(iso: string | null): Date | null {
  if (iso === null) return null;
  const at = new Date(iso);
  if (at.getTime() <= Date.now()) throw refuse(SiteAdminErrorCode.managerExpiryPast, `The validity must end in the future, not at ${iso}.`);
  return at;
}

const live = (m: { expiresAt: Date | null }, now: number) => m.expiresAt === null || m.expiresAt.getTime() > now;
const sameExpiry = (a: Date | null, b: Date | null) => (a?.getTime() ?? null) === (b?.getTime() ?? null);

const validityChanged = (site: { id: string; name: string }, expiresAt: Date | null): NotificationDraft => ({
  kind: 'site_manager.changed',
  title: 'Site manager validity changed',
  body: `Your validity as site manager of "${site.name}" is now ${validityText(expiresAt)}.`,
  data: { siteId: site.id },
});

/** How many Lifetime managers the site has, `except` left out. */
async function lifetimeManagers(tx: Tx, siteId: string, except?: string): Promise<number> {
  const [n] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(siteManagers)
    .where(and(eq(siteManagers.siteId, siteId), isNull(siteManagers.expiresAt), except ? ne(siteManagers.accountId, except) : undefined));
  return n?.n ?? 0;
}

/**
 * Site managers (manual §3.4.4): installers assigned to sites with a validity, Lifetime or until a time. Holders of
 * Manage All Sites assign them; each site keeps at most 100 and at least one Lifetime manager; a holder of Manage
 * All Sites is always Lifetime. `siteScope` gives a Manage Assigned Sites installer the sites it manages until the
 * assignment expires.
 */
export async function siteManagerRoutes(app: FastifyInstance) {
  const { ctx } = app;

  /** The route's site, of the caller's own company, locked for the transaction, its status allowing Assign Site. */
  async function lockRouteSite(tx: Tx, request: FastifyRequest) {
    const auth = requireAuth(request);
    const visible = await siteOfRequest(ctx.db, request);
    requireOwnCompanySite(auth, visible);
    return lockSite(tx, visible.id, SiteOperation.assignManagers);
  }

  app.get('/sites/:siteId/managers', { schema: { params: SiteParams, response: { 200: SiteManagersReplySchema } }, preHandler: manageSites }, async (request) => {
    const site = await siteOfRequest(ctx.db, request);
    return { items: (await managersOf(ctx.db, [site.id])).get(site.id) ?? [] };
  });

  app.get(
    '/site-managers',
    { schema: { querystring: SitesManagersQuerySchema, response: { 200: SitesManagersReplySchema } }, preHandler: manageSites },
    async (request) => {
      const auth = requireAuth(request);
      const ids = [...new Set((request.query as { siteIds: string }).siteIds.split(',').map((s) => s.trim()))];
      if (ids.some((id) => !UUID.test(id))) throw new AppError(400, ErrorCode.validationFailed, 'siteIds must be site ids separated by commas.');
      const seen = await ctx.db.select({ id: sites.id }).from(sites).where(and(inArray(sites.id, ids), siteScope(auth)));
      const bySite = await managersOf(ctx.db, seen.map((s) => s.id));
      return { items: [...bySite].map(([siteId, managers]) => ({ siteId, managers })) };
    },
  );

  app.get('/site-managers/candidates', { schema: { response: { 200: ManagerCandidatesReplySchema } }, preHandler: manageAll }, async (request) => ({
    items: await managerCandidates(ctx.db, requireAuth(request).companyId),
  }));

  app.post(
    '/site-managers',
    { schema: { body: AssignManagersBodySchema, response: { 200: SitesManagersReplySchema } }, preHandler: manageAll, config: { oplog: 'Assign Site to Site Manager' } },
    async (request) => {
      const auth = requireAuth(request);
      const body = request.body as AssignManagersBody;
      const siteIds = [...new Set(body.siteIds)].sort();
      // The last validity given for an account counts.
      const wanted = new Map(body.managers.map((m) => [m.accountId, m.expiresAt]));

      const people = await managerAccounts(ctx.db, [...wanted.keys()]);
      const eligible = new Map(
        people.filter((a) => a.companyId === auth.companyId && a.enabled && (MANAGER_ROLES as readonly string[]).includes(a.role)).map((a) => [a.id, a]),
      );
      const notEligible = [...wanted.keys()].filter((id) => !eligible.has(id));
      if (notEligible.length > 0) {
        throw refuse(SiteAdminErrorCode.managerNotEligible, `Only enabled installer accounts of your company can be site managers (not: ${notEligible.join(', ')}).`);
      }
      const validity = new Map<string, Date | null>();
      for (const [accountId, iso] of wanted) {
        const account = eligible.get(accountId)!;
        if (iso !== null && holdsManageAll(account)) {
          throw refuse(SiteAdminErrorCode.manageAllIsLifetime, `${account.name} (${account.email}) holds Manage All Sites: their validity is always Lifetime.`);
        }
        validity.set(accountId, futureExpiry(iso));
      }

      await ctx.db.transaction(async (tx) => {
        const locked = await tx
          .select()
          .from(sites)
          .where(and(inArray(sites.id, siteIds), eq(sites.companyId, auth.companyId)))
          .orderBy(asc(sites.id))
          .for('update');
        if (locked.length !== siteIds.length) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
        for (const site of locked) requireSiteOperation(site, SiteOperation.assignManagers);
        request.oplog.target = [...eligible.values()].map((a) => a.name).join(', ');
        request.oplog.detail = locked.map((s) => s.name).join(', ');
        if (locked.length === 1) {
          request.oplog.siteId = locked[0]!.id;
          request.oplog.siteName = locked[0]!.name;
        }

        const now = Date.now();
        // The site's live managers, by account.
        const before = new Map<string, Map<string, Date | null>>(siteIds.map((id) => [id, new Map()]));
        for (const m of await tx.select().from(siteManagers).where(inArray(siteManagers.siteId, siteIds))) {
          if (live(m, now)) before.get(m.siteId)!.set(m.accountId, m.expiresAt);
        }
        for (const site of locked) {
          const after = new Map([...before.get(site.id)!, ...validity]);
          if (after.size > SITE_MANAGERS_MAX) {
            throw refuse(SiteAdminErrorCode.siteManagerLimit, `${site.name} would have ${after.size} site managers; a site has at most ${SITE_MANAGERS_MAX}.`);
          }
          if (![...after.values()].includes(null)) {
            throw refuse(SiteAdminErrorCode.lifetimeManagerRequired, `At least one site manager of ${site.name} must have the validity Lifetime.`);
          }
        }

        const rows = locked.flatMap((site) => [...validity].map(([accountId, expiresAt]) => ({ siteId: site.id, accountId, expiresAt, assignedBy: auth.accountId })));
        await tx
          .insert(siteManagers)
          .values(rows)
          .onConflictDoUpdate({
            target: [siteManagers.siteId, siteManagers.accountId],
            set: { expiresAt: sql`excluded.expires_at`, assignedBy: auth.accountId, assignedAt: sql`now()` },
          });

        for (const site of locked) {
          const managers = before.get(site.id)!;
          for (const [accountId, expiresAt] of validity) {
            if (!managers.has(accountId)) {
              await notifyAccounts(tx, [accountId], {
                kind: 'site_manager.assigned',
                title: 'Site assigned to you',
                body: `${auth.name} assigned you the site "${site.name}" as its site manager (${validityText(expiresAt)}).`,
                data: { siteId: site.id },
              });
            } else if (!sameExpiry(managers.get(accountId) ?? null, expiresAt)) {
              await notifyAccounts(tx, [accountId], validityChanged(site, expiresAt));
            }
          }
        }
      });
      for (const siteId of siteIds) ctx.hub.publish(auth.companyId, { type: 'site.changed', siteId });
      const bySite = await managersOf(ctx.db, siteIds);
      return { items: [...bySite].map(([siteId, managers]) => ({ siteId, managers })) };
    },
  );

  app.patch(
    '/sites/:siteId/managers/:accountId',
    { schema: { params: ManagerParams, body: ManagerValidityBodySchema, response: { 200: SiteManagerSchema } }, preHandler: manageAll, config: { oplog: 'Edit Site Manager Validity' } },
    async (request) => {
      const { accountId } = request.params as { accountId: string };
      const iso = (request.body as ManagerValidityBody).expiresAt;
      const site = await ctx.db.transaction(async (tx) => {
        const site = await lockRouteSite(tx, request);
        const [row] = await tx
          .select()
          .from(siteManagers)
          .where(and(eq(siteManagers.siteId, site.id), eq(siteManagers.accountId, accountId)));
        if (!row) throw managerNotFound();
        const [account] = await managerAccounts(tx, [accountId]);
        request.oplog.target = account!.name;
        if (holdsManageAll(account!)) {
          throw refuse(SiteAdminErrorCode.manageAllIsLifetime, `${account!.name} holds Manage All Sites: their validity is always Lifetime and cannot be edited.`);
        }
        const expiresAt = futureExpiry(iso);
        request.oplog.detail = validityText(expiresAt);
        if (expiresAt !== null && row.expiresAt === null && (await lifetimeManagers(tx, site.id, accountId)) === 0) {
          throw refuse(SiteAdminErrorCode.lifetimeManagerRequired, `${account!.name} is the only Lifetime site manager of ${site.name}: at least one must stay Lifetime.`);
        }
        await tx
          .update(siteManagers)
          .set({ expiresAt, assignedBy: requireAuth(request).accountId, assignedAt: sql`now()` })
          .where(and(eq(siteManagers.siteId, site.id), eq(siteManagers.accountId, accountId)));
        if (!sameExpiry(row.expiresAt, expiresAt)) await notifyAccounts(tx, [accountId], validityChanged(site, expiresAt));
        return site;
      });
      ctx.hub.publish(site.companyId, { type: 'site.changed', siteId: site.id });
      return (await managersOf(ctx.db, [site.id])).get(site.id)!.find((m) => m.accountId === accountId)!;
    },
  );

  app.delete(
    '/sites/:siteId/managers/:accountId',
    { schema: { params: ManagerParams, response: { 204: Type.Null() } }, preHandler: manageSites, config: { oplog: 'Remove Site Manager' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const { accountId } = request.params as { accountId: string };
      const site = await ctx.db.transaction(async (tx) => {
        const site = await lockRouteSite(tx, request);
        if (accountId !== auth.accountId && !auth.permissions.has(Permission.siteManageAll)) {
          throw new AppError(403, ErrorCode.permissionDenied, 'Without Manage All Sites you may remove only yourself from the site managers.');
        }
        const [row] = await tx
          .delete(siteManagers)
          .where(and(eq(siteManagers.siteId, site.id), eq(siteManagers.accountId, accountId)))
          .returning();
        if (!row) throw managerNotFound();
        const [account] = await managerAccounts(tx, [accountId]);
        request.oplog.target = account?.name ?? accountId;
        if (row.expiresAt === null && (await lifetimeManagers(tx, site.id)) === 0) {
          throw refuse(SiteAdminErrorCode.lifetimeManagerRequired, `${account?.name ?? 'This account'} is the only Lifetime site manager of ${site.name}: assign another Lifetime manager first.`);
        }
        if (accountId !== auth.accountId) {
          await notifyAccounts(tx, [accountId], {
            kind: 'site_manager.removed',
            title: 'Removed as site manager',
            body: `${auth.name} removed you from the site managers of "${site.name}".`,
            data: { siteId: site.id },
          });
        }
        return site;
      });
      ctx.hub.publish(site.companyId, { type: 'site.changed', siteId: site.id });
      return reply.status(204).send();
    },
  );
}

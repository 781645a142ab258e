import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import {
  DeviceAccessMode,
  DeviceMoveBodySchema,
  DeviceMoveSchema,
  DeviceMovesReplySchema,
  DeviceMoveStatus,
  ErrorCode,
  MovableDevicesReplySchema,
  Permission,
  SiteAdminErrorCode,
  SiteOperation,
  type DeviceMoveBody,
  type MovableDevice,
} from '@vigil/protocol/api';
import { manageSites, requireAuth, requireCustomer, requirePermission } from '../auth/plugin.js';
import { accounts, deviceMoves, devices, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { IdParams, SiteParams } from '../http/params.js';
import { notifyAccounts, tellAccounts } from '../notifications/notify.js';
import { requireOwnCompanySite, siteOfRequest, visibleSite } from '../sites/access.js';
import { insertSite, rethrowSiteError } from '../sites/create.js';
import { requireSiteOperation } from '../sites/gate.js';
import { announceDetached, type Detached } from './detach.js';
import { channelsOn, executeMove, listMoves, lockSites, moveById, requireFits, requireNotPending, requireP2p, requireTarget } from './moves.js';

const manageDevices = [manageSites, requirePermission(Permission.deviceManage)];
const moveNotFound = () => new AppError(404, SiteAdminErrorCode.deviceMoveNotFound, 'Device move not found.');

// Written out in SQL: inside a subquery Drizzle would leave the outer column unqualified.
const configured = sql<boolean>`(
  EXISTS (SELECT 1 FROM arc_panels p WHERE p.device_id = "devices"."id")
  OR EXISTS (SELECT 1 FROM cloud_storage_channels c WHERE c.device_id = "devices"."id")
  OR EXISTS (SELECT 1 FROM shared_devices s WHERE s.device_id = "devices"."id")
  OR EXISTS (SELECT 1 FROM device_permissions g WHERE g.device_id = "devices"."id")
)`;

/**
 * Moving devices between sites (manual §3.3.5): P2P devices of a site go to another non-tenant site of the same
 * Site Owner, or to a new site created for them, losing the configuration bound to them. A site with an owner
 * needs the owner's approval (an application the customer answers); otherwise the move is done at once.
 */
export async function deviceMoveRoutes(app: FastifyInstance) {
  const { ctx } = app;

  function announce(companyId: string, detached: Detached | null, targetSiteId: string): void {
    if (detached) announceDetached(ctx, companyId, detached, [targetSiteId]);
  }

  app.get(
    '/sites/:siteId/movable-devices',
    { schema: { params: SiteParams, response: { 200: MovableDevicesReplySchema } }, preHandler: manageDevices },
    async (request) => {
      const site = await siteOfRequest(ctx.db, request);
      const [rows, pending] = await Promise.all([
        ctx.db.select({ d: devices, configured }).from(devices).where(eq(devices.siteId, site.id)).orderBy(asc(devices.name), asc(devices.id)),
        ctx.db
          .select({ deviceIds: deviceMoves.deviceIds })
          .from(deviceMoves)
          .where(and(eq(deviceMoves.sourceSiteId, site.id), eq(deviceMoves.status, DeviceMoveStatus.pending))),
      ]);
      const waiting = new Set(pending.flatMap((p) => p.deviceIds));
      const items: MovableDevice[] = rows.map(({ d, configured: c }) => ({
        id: d.id,
        name: d.name,
        serial: d.serial,
        kind: d.kind,
        channels: d.channels,
        refusal: d.accessMode === DeviceAccessMode.ipDomain ? SiteAdminErrorCode.deviceNotP2p : waiting.has(d.id) ? SiteAdminErrorCode.deviceMovePending : null,
        configured: c,
      }));
      return { items };
    },
  );

  app.get('/sites/:siteId/device-moves', { schema: { params: SiteParams, response: { 200: DeviceMovesReplySchema } }, preHandler: manageDevices }, async (request) => {
    const site = await siteOfRequest(ctx.db, request);
    return { items: await listMoves(ctx.db, or(eq(deviceMoves.sourceSiteId, site.id), eq(deviceMoves.targetSiteId, site.id))!) };
  });

  app.post(
    '/sites/:siteId/device-moves',
    { schema: { params: SiteParams, body: DeviceMoveBodySchema, response: { 201: DeviceMoveSchema } }, preHandler: manageDevices, config: { oplog: 'Move Device' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const site = await siteOfRequest(ctx.db, request, SiteOperation.manageDevice);
      requireOwnCompanySite(auth, site);
      const body = request.body as DeviceMoveBody;
      const ids = [...new Set(body.deviceIds)];
      const rows = await ctx.db
        .select()
        .from(devices)
        .where(and(inArray(devices.id, ids), eq(devices.siteId, site.id)));
      if (rows.length !== ids.length) throw new AppError(404, ErrorCode.deviceNotFound, 'Device not found on this site.');
      request.oplog.target = rows.map((d) => d.name).join(', ');
      requireP2p(rows);

      // The checks before anything is written; all are made again under lock.
      let existing: typeof sites.$inferSelect | null = null;
      const newSite = 'newSite' in body.target ? body.target.newSite : null;
      if ('siteId' in body.target) {
        const target = await visibleSite(ctx.db, auth, body.target.siteId);
        if (target.companyId !== auth.companyId) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
        requireTarget(site, target);
        requireFits(target, await channelsOn(ctx.db, target.id), rows);
        existing = target;
      } else if (newSite) {
        requireFits({ name: newSite.name, type: newSite.type }, 0, rows);
      }
      request.oplog.detail = `To ${existing ? existing.name : newSite!.name.trim()}`;

      const result = await ctx.db
        .transaction(async (tx) => {
          // The target too, when it exists: both in one ordered lock (see lockSites).
          const source = (await lockSites(tx, existing ? [site.id, existing.id] : [site.id])).get(site.id);
          if (!source) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
          requireSiteOperation(source, SiteOperation.manageDevice);
          await requireNotPending(tx, ids);
          const target = existing ?? (await insertSite(tx, auth, newSite!, ctx.config.minOfflineDelaySec));
          // The new site belongs to the same Site Owner, handed over as the source is.
          if (!existing && source.ownerAccountId) {
            await tx.update(sites).set({ ownerAccountId: source.ownerAccountId, status: source.status }).where(eq(sites.id, target.id));
          }
          const [move] = await tx
            .insert(deviceMoves)
            .values({
              companyId: auth.companyId,
              sourceSiteId: source.id,
              targetSiteId: target.id,
              deviceIds: ids,
              ownerAccountId: source.ownerAccountId,
              status: DeviceMoveStatus.pending,
              requestedBy: auth.accountId,
            })
            .returning();
          if (!source.ownerAccountId) return { move: move!, detached: await executeMove(tx, move!) };

          const [owner] = await tx.select({ id: accounts.id, email: accounts.email, name: accounts.name }).from(accounts).where(eq(accounts.id, source.ownerAccountId));
          const what = `${auth.name} asks to move ${rows.length === 1 ? `the device ${rows[0]!.name}` : `${rows.length} devices`} from your site "${source.name}" to "${target.name}". Their configuration will have to be set up again.`;
          if (owner) {
            await tellAccounts(
              tx,
              ctx.mail,
              [owner],
              { kind: 'device_move.pending', title: 'Device move to approve', body: what, data: { moveId: move!.id, siteId: source.id } },
              () => ({ subject: 'A device move waits for your approval', text: `${what}\n\nApprove or reject it in the portal: ${ctx.publicUrl}/my/requests\n` }),
            );
          }
          return { move: move!, detached: null };
        })
        .catch((err: unknown) => {
          if (newSite) rethrowSiteError(err, newSite.name);
          throw err;
        });
      announce(auth.companyId, result.detached, result.move.targetSiteId);
      if (!existing) ctx.hub.publish(auth.companyId, { type: 'site.changed', siteId: result.move.targetSiteId });
      return reply.status(201).send(await moveById(ctx.db, result.move.id));
    },
  );

  // ---- the Site Owner's side -------------------------------------------------------------------------

  app.get('/customer/device-moves', { schema: { response: { 200: DeviceMovesReplySchema } }, preHandler: requireCustomer }, async (request) => ({
    items: await listMoves(ctx.db, eq(deviceMoves.ownerAccountId, requireAuth(request).accountId)),
  }));

  /** The owner the move waits for answers it; anyone else gets "not found". */
  async function decide(request: FastifyRequest, approve: boolean) {
    const auth = requireAuth(request);
    const { id } = request.params as { id: string };
    const result = await ctx.db.transaction(async (tx) => {
      const [move] = await tx
        .select()
        .from(deviceMoves)
        .where(and(eq(deviceMoves.id, id), eq(deviceMoves.ownerAccountId, auth.accountId)))
        .for('update');
      if (!move) throw moveNotFound();
      const [source] = await tx.select({ id: sites.id, name: sites.name, ownerAccountId: sites.ownerAccountId }).from(sites).where(eq(sites.id, move.sourceSiteId));
      request.oplog.siteId = source?.id ?? null;
      request.oplog.siteName = source?.name ?? '';
      request.oplog.target = source?.name ?? '';
      if (move.status !== DeviceMoveStatus.pending) throw new AppError(409, SiteAdminErrorCode.deviceMoveState, `This move is ${move.status} already.`);
      // The site may have changed hands since the application.
      if (source?.ownerAccountId !== auth.accountId) throw new AppError(409, SiteAdminErrorCode.deviceMoveStale, 'You no longer own the site these devices are on.');
      let detached: Detached | null = null;
      if (approve) detached = await executeMove(tx, move);
      else await tx.update(deviceMoves).set({ status: DeviceMoveStatus.rejected, decidedAt: sql`now()` }).where(eq(deviceMoves.id, id));
      if (move.requestedBy) {
        const verb = approve ? 'approved' : 'rejected';
        await notifyAccounts(tx, [move.requestedBy], {
          kind: `device_move.${verb}`,
          title: `Device move ${verb}`,
          body: `The Site Owner ${verb} moving ${move.deviceIds.length === 1 ? 'a device' : `${move.deviceIds.length} devices`} from "${source.name}".`,
          data: { moveId: id, siteId: move.sourceSiteId },
        });
      }
      return { move, detached };
    });
    announce(result.move.companyId, result.detached, result.move.targetSiteId);
    return moveById(ctx.db, id);
  }

  app.post(
    '/customer/device-moves/:id/approve',
    { schema: { params: IdParams, response: { 200: DeviceMoveSchema } }, preHandler: requireCustomer, config: { oplog: 'Approve Device Movement' } },
    async (request) => decide(request, true),
  );
  app.post(
    '/customer/device-moves/:id/reject',
    { schema: { params: IdParams, response: { 200: DeviceMoveSchema } }, preHandler: requireCustomer, config: { oplog: 'Reject Device Movement' } },
    async (request) => decide(request, false),
  );
}


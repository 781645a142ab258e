import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, eq, inArray, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  DEVICE_PERMISSION_LABELS,
  DEVICE_USES,
  DeviceGrantSchema,
  DevicePermissionName,
  GrantErrorCode,
  GrantsReplySchema,
  PendingApplicationsReplySchema,
  Permission,
  PermissionApplicationBodySchema,
  SiteAccessReplySchema,
  SiteAuthorizationBodySchema,
  SiteOperation,
  SiteStatus,
  VALIDITY_HOURS,
  VALIDITY_LABELS,
  type DevicePermissionName as PermissionName,
  type DeviceUse,
  type Grant,
  type PermissionApplicationBody,
  type SiteAuthorizationBody,
  type Validity,
} from '@vigil/protocol/api';
import { manageSites, requireAuth, requireCustomer, requirePermission } from '../auth/plugin.js';
import type { Tx } from '../db/client.js';
import { companies, devicePermissions, devices, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { IdParams, SiteParams } from '../http/params.js';
import { notifyAccounts } from '../notifications/notify.js';
import { requireOwnCompanySite, siteOfRequest } from '../sites/access.js';
import { lockSite, requireSiteOperation } from '../sites/gate.js';
import { customerSite, customerSiteScope } from '../customers/access.js';
import { endDeviceUses } from '../video/revoke.js';
import { asDeviceGrant, companyToTell, grantById, grantExpiresAt, grantStatus, listGrants, reviewerAccountOf, reviewerOf, sharingModeOf } from './grants.js';

const SiteGrantParams = Type.Object({ siteId: Type.String({ format: 'uuid' }), id: Type.String({ format: 'uuid' }) });
const manageDevices = [manageSites, requirePermission(Permission.deviceManage)];
const DEVICE_USE_NAMES: readonly string[] = DEVICE_USES;

const grantNotFound = () => new AppError(404, GrantErrorCode.grantNotFound, 'Permission not found.');
const label = (p: string) => DEVICE_PERMISSION_LABELS[p as PermissionName] ?? p;

/**
 * Site authorization and device permissions after handover (manual §3.3.7): the installer company applies, the
 * customer who reviews the site (its owner, or the Customer Administrator of a Mode A sharing) approves or denies,
 * and either side ends a grant early. `requireDeviceUse` reads the grants at every use.
 */
export async function grantRoutes(app: FastifyInstance) {
  const { ctx } = app;

  /** Tells the site's reviewer that applications wait for it (nobody yet: it sees them once it can review). */
  async function tellReviewer(tx: Tx, site: typeof sites.$inferSelect, companyName: string, what: string) {
    const reviewer = await reviewerAccountOf(tx, site);
    if (!reviewer) return;
    await notifyAccounts(tx, [reviewer], {
      kind: 'grants.application',
      title: 'Permission application',
      body: `${companyName} applies for ${what} on your site "${site.name}".`,
      data: { siteId: site.id },
    });
  }

  async function companyName(tx: Tx, companyId: string): Promise<string> {
    const [company] = await tx.select({ name: companies.name }).from(companies).where(eq(companies.id, companyId));
    return company?.name ?? '';
  }

  app.post(
    '/sites/:siteId/authorization',
    {
      schema: { params: SiteParams, body: SiteAuthorizationBodySchema, response: { 201: DeviceGrantSchema } },
      preHandler: manageDevices,
      config: { oplog: 'Apply for Site Authorization' },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      const site = await siteOfRequest(ctx.db, request);
      request.oplog.target = site.name;
      requireOwnCompanySite(auth, site);
      requireSiteOperation(site, SiteOperation.applySiteAuthorization);
      const body = request.body as SiteAuthorizationBody;
      const id = await ctx.db.transaction(async (tx) => {
        // The site's row serializes applications, so two at once cannot both pass the "one pending" check.
        const locked = await lockSite(tx, site.id, SiteOperation.applySiteAuthorization);
        const [pending] = await tx
          .select({ id: devicePermissions.id })
          .from(devicePermissions)
          .where(
            and(
              eq(devicePermissions.siteId, site.id),
              eq(devicePermissions.companyId, auth.companyId),
              eq(devicePermissions.permission, DevicePermissionName.siteAuthorization),
              eq(devicePermissions.status, 'pending'),
            ),
          );
        if (pending) throw new AppError(409, GrantErrorCode.applicationPending, 'An application for site authorization is already waiting for the customer.');
        const [row] = await tx
          .insert(devicePermissions)
          .values({
            siteId: site.id,
            companyId: auth.companyId,
            permission: DevicePermissionName.siteAuthorization,
            validity: 'Permanent',
            status: 'pending',
            source: 'application',
            remark: body.remark?.trim() ?? '',
            applicantAccountId: auth.accountId,
          })
          .returning({ id: devicePermissions.id });
        await tellReviewer(tx, locked, await companyName(tx, auth.companyId), 'site authorization');
        return row!.id;
      });
      return reply.status(201).send(await grantById(ctx.db, id));
    },
  );

  app.post(
    '/sites/:siteId/permission-applications',
    {
      schema: { params: SiteParams, body: PermissionApplicationBodySchema, response: { 201: GrantsReplySchema } },
      preHandler: manageDevices,
      config: { oplog: 'Apply for Device Permissions' },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      const site = await siteOfRequest(ctx.db, request, SiteOperation.applyDevicePermissions);
      const body = request.body as PermissionApplicationBody;
      if (site.status === SiteStatus.shared && (await sharingModeOf(ctx.db, site.id)) === 'B') {
        throw new AppError(409, GrantErrorCode.permissionsKept, `${site.name} is shared with "I Have All Device Permissions": your company kept every device permission.`);
      }
      const seen = new Set<string>();
      for (const item of body.items) {
        if (!(item.validity in VALIDITY_HOURS)) {
          throw new AppError(422, GrantErrorCode.invalidValidity, `The validity must be one of ${Object.values(VALIDITY_LABELS).join(', ')}; "${item.validity}" is not.`);
        }
        if (seen.has(item.deviceId)) throw new AppError(422, GrantErrorCode.duplicateDevice, 'Each device appears once in an application: set all its permissions on one line.');
        seen.add(item.deviceId);
      }
      const onSite = await ctx.db
        .select({ id: devices.id, name: devices.name })
        .from(devices)
        .where(and(eq(devices.siteId, site.id), inArray(devices.id, [...seen])));
      const names = new Map(onSite.map((d) => [d.id, d.name]));
      const missing = [...seen].filter((id) => !names.has(id));
      if (missing.length > 0) throw new AppError(422, GrantErrorCode.deviceNotOnSite, `${missing.length === 1 ? 'A device' : `${missing.length} devices`} of the application ${missing.length === 1 ? 'is' : 'are'} not on ${site.name}.`);
      request.oplog.target = body.items.map((i) => names.get(i.deviceId)).join(', ');
      request.oplog.detail = body.items.map((i) => `${names.get(i.deviceId)}: ${i.permissions.map(label).join(', ')} (${VALIDITY_LABELS[i.validity as Validity]})`).join('; ');

      const ids = await ctx.db.transaction(async (tx) => {
        const locked = await lockSite(tx, site.id, SiteOperation.applyDevicePermissions);
        const pending = await tx
          .select({ deviceId: devicePermissions.deviceId, permission: devicePermissions.permission })
          .from(devicePermissions)
          .where(
            and(
              eq(devicePermissions.siteId, site.id),
              eq(devicePermissions.companyId, auth.companyId),
              eq(devicePermissions.status, 'pending'),
              inArray(devicePermissions.deviceId, [...seen]),
            ),
          );
        const asked = new Set(body.items.flatMap((i) => i.permissions.map((p) => `${i.deviceId}/${p}`)));
        const clash = pending.find((p) => asked.has(`${p.deviceId}/${p.permission}`));
        if (clash) {
          throw new AppError(409, GrantErrorCode.applicationPending, `${label(clash.permission)} on ${names.get(clash.deviceId!)} is already waiting for the customer.`);
        }
        const rows = await tx
          .insert(devicePermissions)
          .values(
            body.items.flatMap((i) =>
              i.permissions.map((permission) => ({
                siteId: site.id,
                deviceId: i.deviceId,
                companyId: auth.companyId,
                permission,
                validity: i.validity,
                status: 'pending',
                source: 'application',
                remark: body.remark?.trim() ?? '',
                applicantAccountId: auth.accountId,
              })),
            ),
          )
          .returning({ id: devicePermissions.id });
        await tellReviewer(tx, locked, await companyName(tx, auth.companyId), `permissions on ${names.size === 1 ? 'one device' : `${names.size} devices`}`);
        return rows.map((r) => r.id);
      });
      return reply.status(201).send({ items: (await listGrants(ctx.db, inArray(devicePermissions.id, ids))).map(asDeviceGrant) });
    },
  );

  app.get('/sites/:siteId/permissions', { schema: { params: SiteParams, response: { 200: GrantsReplySchema } }, preHandler: manageSites }, async (request) => {
    const auth = requireAuth(request);
    const site = await siteOfRequest(ctx.db, request);
    return { items: (await listGrants(ctx.db, and(eq(devicePermissions.siteId, site.id), eq(devicePermissions.companyId, auth.companyId)))).map(asDeviceGrant) };
  });

  app.post(
    '/sites/:siteId/permissions/:id/release',
    { schema: { params: SiteGrantParams, response: { 200: DeviceGrantSchema } }, preHandler: manageDevices, config: { oplog: 'Release Permission' } },
    async (request) => {
      const auth = requireAuth(request);
      const site = await siteOfRequest(ctx.db, request);
      const { id } = request.params as { id: string };
      const released = await ctx.db.transaction(async (tx) => {
        const [g] = await tx
          .select()
          .from(devicePermissions)
          .where(and(eq(devicePermissions.id, id), eq(devicePermissions.siteId, site.id), eq(devicePermissions.companyId, auth.companyId)))
          .for('update');
        if (!g) throw grantNotFound();
        request.oplog.detail = label(g.permission);
        if (!g.deviceId || !DEVICE_USE_NAMES.includes(g.permission)) {
          throw new AppError(409, GrantErrorCode.grantState, 'Only a device permission (configuration, live view, playback) can be released.');
        }
        const status = grantStatus(g);
        if (status !== 'approved') throw new AppError(409, GrantErrorCode.grantState, `This permission is ${status}: there is nothing to release.`);
        await tx.update(devicePermissions).set({ status: 'released', releasedAt: sql`now()` }).where(eq(devicePermissions.id, id));
        return g;
      });
      await endDeviceUses(ctx, { companyId: auth.companyId, deviceId: released.deviceId!, uses: [released.permission as DeviceUse] });
      const grant = await grantById(ctx.db, id);
      request.oplog.target = grant.deviceName ?? '';
      return grant;
    },
  );

  // ---- the customer's side --------------------------------------------------------------------------

  app.get('/customer/permission-applications', { schema: { response: { 200: PendingApplicationsReplySchema } }, preHandler: requireCustomer }, async (request) => ({
    items: await listGrants(ctx.db, and(eq(devicePermissions.status, 'pending'), reviewerOf(requireAuth(request).accountId))),
  }));

  /**
   * The grant of the route's `:id` for its reviewer, locked: a customer who does not see its site gets "not found",
   * one who sees it but does not review it (a tenant that is not the Customer Administrator) NOT_REVIEWER.
   */
  async function reviewedGrant(tx: Tx, request: FastifyRequest, siteId?: string) {
    const me = requireAuth(request).accountId;
    const { id } = request.params as { id: string };
    const [row] = await tx
      .select({
        g: devicePermissions,
        site: sites,
        deviceName: devices.name,
        sees: sql<boolean>`${customerSiteScope({ accountId: me })}`,
        reviews: sql<boolean>`${reviewerOf(me)}`,
      })
      .from(devicePermissions)
      .innerJoin(sites, eq(sites.id, devicePermissions.siteId))
      .leftJoin(devices, eq(devices.id, devicePermissions.deviceId))
      .where(and(eq(devicePermissions.id, id), siteId ? eq(devicePermissions.siteId, siteId) : undefined))
      .for('update', { of: devicePermissions });
    if (!row?.sees) throw grantNotFound();
    request.oplog.siteId = row.site.id;
    request.oplog.siteName = row.site.name;
    request.oplog.detail = label(row.g.permission);
    if (!row.reviews) throw new AppError(403, GrantErrorCode.notReviewer, `Only the customer who reviews ${row.site.name} (its owner, or the Customer Administrator) may decide this.`);
    return row;
  }

  async function decide(request: FastifyRequest, approve: boolean) {
    const me = requireAuth(request).accountId;
    const { id } = request.params as { id: string };
    await ctx.db.transaction(async (tx) => {
      const { g, site, deviceName } = await reviewedGrant(tx, request);
      if (g.status !== 'pending') throw new AppError(409, GrantErrorCode.grantState, `This application is ${grantStatus(g)} already.`);
      const siteWide = g.permission === DevicePermissionName.siteAuthorization;
      // The site may have moved on since the application (disbanded, say): the same gate as applying.
      if (approve) requireSiteOperation(site, siteWide ? SiteOperation.applySiteAuthorization : SiteOperation.applyDevicePermissions);
      await tx
        .update(devicePermissions)
        .set({
          status: approve ? 'approved' : 'denied',
          reviewerAccountId: me,
          decidedAt: sql`now()`,
          expiresAt: approve ? grantExpiresAt(g.validity as Validity, ctx.config.permissionHourMs) : null,
        })
        .where(eq(devicePermissions.id, id));
      if (approve && siteWide) {
        await tx.update(sites).set({ status: SiteStatus.authorizedAndMonitoring, updatedAt: sql`now()` }).where(eq(sites.id, site.id));
      }
      const verb = approve ? 'approved' : 'denied';
      await notifyAccounts(tx, await companyToTell(tx, g.companyId, g.applicantAccountId), {
        kind: `grants.${verb}`,
        title: `Permission application ${verb}`,
        body: `The customer has ${verb} your application for ${label(g.permission)}${deviceName !== null ? ` on ${deviceName}` : ''} (site "${site.name}").`,
        data: { siteId: site.id, permissionId: id },
      });
      request.oplog.target = deviceName ?? site.name;
    });
    return changed(await grantById(ctx.db, id));
  }

  /** The installer company's open pages of the site show the customer's decision at once. */
  function changed(grant: Grant): Grant {
    ctx.hub.publish(grant.companyId, { type: 'site.changed', siteId: grant.siteId });
    return grant;
  }

  const decideOptions = (action: string) => ({
    schema: { params: IdParams, response: { 200: DeviceGrantSchema } },
    preHandler: requireCustomer,
    config: { oplog: action },
  });
  app.post('/customer/permission-applications/:id/approve', decideOptions('Approve Permission Application'), async (request) => decide(request, true));
  app.post('/customer/permission-applications/:id/deny', decideOptions('Deny Permission Application'), async (request) => decide(request, false));

  app.get(
    '/customer/sites/:siteId/access',
    { schema: { params: SiteParams, response: { 200: SiteAccessReplySchema } }, preHandler: requireCustomer },
    async (request) => {
      const me = requireAuth(request).accountId;
      const { siteId } = request.params as { siteId: string };
      const { site } = await customerSite(ctx.db, { accountId: me }, siteId);
      if ((await reviewerAccountOf(ctx.db, site)) !== me) throw new AppError(403, GrantErrorCode.notReviewer, `Only the customer who reviews ${site.name} (its owner, or the Customer Administrator) sees who has access to it.`);
      return { siteId: site.id, siteName: site.name, items: (await listGrants(ctx.db, eq(devicePermissions.siteId, site.id))).map(asDeviceGrant) };
    },
  );

  app.post(
    '/customer/sites/:siteId/access/:id/revoke',
    { schema: { params: SiteGrantParams, response: { 200: DeviceGrantSchema } }, preHandler: requireCustomer, config: { oplog: 'Revoke Permission' } },
    async (request) => {
      const { siteId, id } = request.params as { siteId: string; id: string };
      const revoked = await ctx.db.transaction(async (tx) => {
        const { g, site, deviceName } = await reviewedGrant(tx, request, siteId);
        const status = grantStatus(g);
        if (status !== 'approved') throw new AppError(409, GrantErrorCode.grantState, `This permission is ${status}: there is nothing to revoke.`);
        await tx.update(devicePermissions).set({ status: 'released', releasedAt: sql`now()` }).where(eq(devicePermissions.id, id));
        // The installer's own site authorization taken back: the site is handed over but no longer authorized.
        if (g.permission === DevicePermissionName.siteAuthorization && g.companyId === site.companyId && site.status === SiteStatus.authorizedAndMonitoring) {
          await tx.update(sites).set({ status: SiteStatus.handedOverNotAuthorized, updatedAt: sql`now()` }).where(eq(sites.id, site.id));
        }
        request.oplog.target = deviceName ?? site.name;
        await notifyAccounts(tx, await companyToTell(tx, g.companyId, g.applicantAccountId), {
          kind: 'grants.revoked',
          title: 'Permission revoked',
          body: `The customer has ended your ${label(g.permission)} permission${deviceName !== null ? ` on ${deviceName}` : ''} (site "${site.name}").`,
          data: { siteId: site.id, permissionId: id },
        });
        return g;
      });
      if (revoked.deviceId && DEVICE_USE_NAMES.includes(revoked.permission)) {
        await endDeviceUses(ctx, { companyId: revoked.companyId, deviceId: revoked.deviceId, uses: [revoked.permission as DeviceUse] });
      }
      return changed(await grantById(ctx.db, id));
    },
  );
}

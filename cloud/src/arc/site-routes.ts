import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, eq, inArray, ne } from 'drizzle-orm';
import Type from 'typebox';
import {
  ArcErrorCode,
  DevicePermissionName,
  ErrorCode,
  ArcPanelSchema,
  AuthorizeSiteBodySchema,
  EnableArcServiceBodySchema,
  Permission,
  RegionFeature,
  SiteAlarmRelaySchema,
  SiteArcServiceSchema,
  SiteOperation,
  SiteType,
  type SiteAlarmRelay,
  type AuthorizeSiteBody,
  type EnableArcServiceBody,
  type SiteArcService,
} from '@vigil/protocol/api';
import { RpcMethod } from '@vigil/protocol';
import { relayEdgeOf } from '../alarms/config.js';
import type { Db } from '../db/client.js';
import { arcPanels, devices, siteArcAuthorizations } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { manageSites, requireAuth, requirePermission } from '../auth/plugin.js';
import { siteOfRequest } from '../sites/access.js';
import { requireDeviceUse } from '../sites/gate.js';
import { requireFeature } from '../regions/features.js';
import { callerCompany, installerSide } from './access.js';
import { panelView, sitePanel, sitePanels, updateService } from './panels.js';
import { listedArcs } from './profile.js';
import { applySettings, disable, DISABLE_ACTION, EDIT_ACTION, ENABLE_ACTION, isNewRequest } from './states.js';

const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
const PanelParams = Type.Object({ siteId: Type.String({ format: 'uuid' }), deviceId: Type.String({ format: 'uuid' }) });

async function authorizationOf(db: Db, siteId: string) {
  const [row] = await db.select().from(siteArcAuthorizations).where(eq(siteArcAuthorizations.siteId, siteId));
  return row ?? null;
}

/** An installer's side of the ARC service (§4.12.2): a site's authorization to an ARC, and its panels' service. */
export async function arcSiteRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const installer = [installerSide(ctx.db), manageSites];
  const manageDevices = [...installer, requirePermission(Permission.deviceManage)];

  // Setting how the site's panels report (its ARC authorization, their service) is Manage Device of Table 3-12.

  /** A panel of the site whose reporting is set: on a handed-over site, the customer's Configuration grant of it. */
  async function panelToConfigure(request: FastifyRequest, site: { id: string; name: string; status: string }) {
    const device = await sitePanel(ctx.db, site.id, (request.params as { deviceId: string }).deviceId);
    request.oplog.target = device.name;
    await requireDeviceUse(ctx.db, requireAuth(request), site, device, DevicePermissionName.configuration);
    return device;
  }

  async function view(site: { id: string; type: string }): Promise<SiteArcService> {
    const authorization = await authorizationOf(ctx.db, site.id);
    const [arc] = authorization ? await listedArcs(ctx.db, { arcCompanyId: authorization.arcCompanyId }) : [];
    return {
      siteId: site.id,
      siteType: site.type === SiteType.team ? SiteType.team : SiteType.personal,
      authorization: authorization && arc ? { arc, authorizedAt: authorization.authorizedAt.toISOString() } : null,
      panels: await sitePanels(ctx.db, site.id),
    };
  }

  /** Both portals refetch: the installer's, and the ARC's. */
  function changed(siteId: string, installerCompanyId: string, arcCompanyId: string | null) {
    ctx.hub.publish(installerCompanyId, { type: 'arc.changed', siteId });
    ctx.hub.publish(arcCompanyId, { type: 'arc.changed', siteId });
    ctx.alarms.siteChanged(siteId);
  }

  app.get('/sites/:siteId/arc', { schema: { params: SiteParams, response: { 200: SiteArcServiceSchema } }, preHandler: installer }, async (request) =>
    view(await siteOfRequest(ctx.db, request)),
  );

  /** "Select ARC" → "Authorize": one ARC per site, personal sites only. Authorizing the same ARC again changes nothing. */
  app.put(
    '/sites/:siteId/arc/authorization',
    {
      schema: { params: SiteParams, body: AuthorizeSiteBodySchema, response: { 200: SiteArcServiceSchema } },
      preHandler: installer,
      config: { oplog: 'Authorize Site to Alarm Receiving Center' },
    },
    async (request) => {
      const auth = requireAuth(request);
      const site = await siteOfRequest(ctx.db, request, SiteOperation.manageDevice);
      const { arcCompanyId } = request.body as AuthorizeSiteBody;
      if (site.type !== SiteType.personal) {
        throw new AppError(422, ArcErrorCode.personalSitesOnly, 'The ARC service is available to personal sites only.');
      }
      const company = await callerCompany(ctx.db, auth);
      const [arc] = await listedArcs(ctx.db, { arcCompanyId, countryCode: company.countryCode });
      if (!arc) throw new AppError(404, ArcErrorCode.arcNotFound, 'This ARC is not on your ARC list.');
      request.oplog.target = arc.name;
      const [created] = await ctx.db
        .insert(siteArcAuthorizations)
        .values({ siteId: site.id, arcCompanyId, authorizedBy: auth.accountId })
        .onConflictDoNothing({ target: siteArcAuthorizations.siteId })
        .returning();
      if (!created && (await authorizationOf(ctx.db, site.id))?.arcCompanyId !== arcCompanyId) {
        throw new AppError(409, ArcErrorCode.authorizedToAnother, 'This site is authorized to another ARC: withdraw that authorization first.');
      }
      changed(site.id, site.companyId, arcCompanyId);
      return view(site);
    },
  );

  /** How the site's box relays its panels now, asked of the box itself (409 EDGE_OFFLINE while it is not connected). */
  app.get('/sites/:siteId/arc/relay', { schema: { params: SiteParams, response: { 200: SiteAlarmRelaySchema } }, preHandler: installer }, async (request): Promise<SiteAlarmRelay> => {
    const site = await siteOfRequest(ctx.db, request);
    const serial = (await relayEdgeOf(ctx.db, site.id))?.serial;
    if (!serial) throw new AppError(404, ErrorCode.edgeNotFound, 'No edge box at this site relays its panels to the ARC: add one.');
    const status = await ctx.tunnel.call(serial, RpcMethod.alarmsStatus, {}, ctx.config.rpcTimeoutMs);
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      serial,
      panels: status.panels.map((p) => ({
        deviceId: p.deviceId ?? null,
        account: p.account,
        connectionMode: p.connectionMode,
        path: p.path,
        pathSince: iso(p.pathSince),
        queued: p.queued,
        oldestQueuedAt: iso(p.oldestQueuedAt),
        lastAckAt: iso(p.lastAckAt),
        lastPanelMessageAt: iso(p.lastPanelMessageAt),
      })),
      timing: status.timing,
    };
  });

  /** Withdrawing ends the service of every panel of the site. */
  app.delete(
    '/sites/:siteId/arc/authorization',
    { schema: { params: SiteParams, response: { 200: SiteArcServiceSchema } }, preHandler: installer, config: { oplog: 'Withdraw Site Authorization from Alarm Receiving Center' } },
    async (request) => {
      const site = await siteOfRequest(ctx.db, request, SiteOperation.manageDevice);
      const withdrawn = await ctx.db.transaction(async (tx) => {
        const [row] = await tx.delete(siteArcAuthorizations).where(eq(siteArcAuthorizations.siteId, site.id)).returning();
        if (!row) return null;
        await tx
          .update(arcPanels)
          .set({ state: 'off', pendingEventTypes: null, updatedAt: new Date() })
          .where(and(inArray(arcPanels.deviceId, tx.select({ id: devices.id }).from(devices).where(eq(devices.siteId, site.id))), ne(arcPanels.state, 'off')));
        return row;
      });
      if (!withdrawn) throw new AppError(409, ArcErrorCode.notAuthorized, 'This site is not authorized to an ARC.');
      request.oplog.target = (await listedArcs(ctx.db, { arcCompanyId: withdrawn.arcCompanyId }))[0]?.name ?? '';
      changed(site.id, site.companyId, withdrawn.arcCompanyId);
      return view(site);
    },
  );

  /**
   * Turn on the service for a panel with its account number, event types and connection mode (pending the ARC's
   * acceptance), or change them (see applySettings).
   */
  app.put(
    '/sites/:siteId/arc/panels/:deviceId',
    { schema: { params: PanelParams, body: EnableArcServiceBodySchema, response: { 200: ArcPanelSchema } }, preHandler: manageDevices, config: { oplog: ENABLE_ACTION } },
    async (request) => {
      await requireFeature(ctx.db, requireAuth(request), RegionFeature.arcService);
      const site = await siteOfRequest(ctx.db, request, SiteOperation.manageDevice);
      const device = await panelToConfigure(request, site);
      const authorization = await authorizationOf(ctx.db, site.id);
      if (!authorization) throw new AppError(409, ArcErrorCode.notAuthorized, 'Authorize the site to an ARC first.');
      const saved = await updateService(ctx.db, device.id, (current) => {
        request.oplog.action = isNewRequest(current, authorization.arcCompanyId) ? ENABLE_ACTION : EDIT_ACTION;
        return applySettings(current, authorization.arcCompanyId, request.body as EnableArcServiceBody);
      });
      changed(site.id, site.companyId, authorization.arcCompanyId);
      return panelView(device, saved);
    },
  );

  app.delete(
    '/sites/:siteId/arc/panels/:deviceId',
    { schema: { params: PanelParams, response: { 200: ArcPanelSchema } }, preHandler: manageDevices, config: { oplog: DISABLE_ACTION } },
    async (request) => {
      const site = await siteOfRequest(ctx.db, request, SiteOperation.manageDevice);
      const device = await panelToConfigure(request, site);
      const saved = await updateService(ctx.db, device.id, disable);
      changed(site.id, site.companyId, saved.arcCompanyId);
      return panelView(device, saved);
    },
  );
}

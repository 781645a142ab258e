import type { FastifyInstance, FastifyRequest } from 'fastify';
import { eq } from 'drizzle-orm';
import Type from 'typebox';
import { ErrorCode, EntrustedPanelListSchema, EntrustedPanelSchema, Permission, type ArcDecision } from '@vigil/protocol/api';
import { devices, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import { arcSide } from './access.js';
import { ENTRUSTED_STATES, entrustedPanels, updateService } from './panels.js';
import { decide, DECISIONS, EVENT_TYPE_REVIEWS, reviewEventTypes, type EventTypeReview, type PanelService } from './states.js';

const DeviceParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
const notEntrusted = () => new AppError(404, ErrorCode.deviceNotFound, 'No such device is entrusted to this ARC.');

/** An ARC's side (§4.12.3, §4.12.4): the panels entrusted to it, which only it may accept, reject, suspend or resume. */
export async function arcEntrustedRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const arcOnly = arcSide(ctx.db);
  const manage = [arcOnly, requirePermission(Permission.deviceManage)];

  /**
   * Applies `change` to the route's panel if it is entrusted to the caller (anything else is "not found"), tells both
   * portals, and answers with the panel as the ARC sees it.
   */
  async function act(request: FastifyRequest, change: (current: PanelService) => PanelService) {
    const arcCompanyId = requireAuth(request).companyId;
    const { deviceId } = request.params as { deviceId: string };
    const [found] = await ctx.db.select({ device: devices, site: sites }).from(devices).innerJoin(sites, eq(sites.id, devices.siteId)).where(eq(devices.id, deviceId));
    if (!found) throw notEntrusted();
    await updateService(ctx.db, deviceId, (current) => {
      if (current.arcCompanyId !== arcCompanyId || !ENTRUSTED_STATES.includes(current.state)) throw notEntrusted();
      request.oplog.siteName = found.site.name;
      request.oplog.target = found.device.name;
      return change(current);
    });
    ctx.hub.publish(arcCompanyId, { type: 'arc.changed', siteId: found.site.id });
    ctx.hub.publish(found.site.companyId, { type: 'arc.changed', siteId: found.site.id });
    ctx.alarms.siteChanged(found.site.id);
    const [panel] = await entrustedPanels(ctx.db, arcCompanyId, deviceId);
    return panel!;
  }

  app.get('/arc/entrusted-devices', { schema: { response: { 200: EntrustedPanelListSchema } }, preHandler: arcOnly }, async (request) => ({
    items: await entrustedPanels(ctx.db, requireAuth(request).companyId),
  }));

  for (const [decision, { action }] of Object.entries(DECISIONS) as [ArcDecision, (typeof DECISIONS)[ArcDecision]][]) {
    app.post(
      `/arc/entrusted-devices/:deviceId/${decision}`,
      { schema: { params: DeviceParams, response: { 200: EntrustedPanelSchema } }, preHandler: manage, config: { oplog: action } },
      async (request) => act(request, (current) => decide(current, decision)),
    );
  }

  for (const [review, action] of Object.entries(EVENT_TYPE_REVIEWS) as [EventTypeReview, string][]) {
    app.post(
      `/arc/entrusted-devices/:deviceId/event-types/${review}`,
      { schema: { params: DeviceParams, response: { 200: EntrustedPanelSchema } }, preHandler: manage, config: { oplog: action } },
      async (request) => act(request, (current) => reviewEventTypes(current, review)),
    );
  }
}

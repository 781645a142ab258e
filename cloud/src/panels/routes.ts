import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { PANEL_OPERATIONS } from '@vigil/protocol';
import {
  PANEL_OPERATION_LOG,
  PANEL_OPERATION_PATHS,
  DevicePermissionName,
  PanelOperationReplySchema,
  PanelStatusSchema,
  Permission,
  SiteOperation,
  type PanelOperationReply,
} from '@vigil/protocol/api';
import { manageSites, requirePermission } from '../auth/plugin.js';
import { deviceFor } from '../devices/routes.js';
import { PanelLink } from './link.js';

const DeviceParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
const AreaParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }), area: Type.Integer({ minimum: 1, maximum: 9999 }) });
const NoBody = Type.Object({}, { additionalProperties: false });

/**
 * The control panel of a security control panel's device page (manual §3.2.2, "Control Areas/Zones of an AX HOME,
 * AX PRO, or AX HYBIRD PRO"): its status read live, and the operations on an area, each written to the operation log
 * in the manual's words.
 */
export async function panelRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/devices/:deviceId/panel', { schema: { params: DeviceParams, response: { 200: PanelStatusSchema } }, preHandler: manageSites }, async (request) => {
    const { device } = await deviceFor(ctx.db, request, { use: DevicePermissionName.configuration });
    return new PanelLink(ctx, device).status();
  });

  for (const op of PANEL_OPERATIONS) {
    app.post(
      `/devices/:deviceId/panel/areas/:area/${PANEL_OPERATION_PATHS[op]}`,
      {
        schema: { params: AreaParams, body: NoBody, response: { 200: PanelOperationReplySchema } },
        preHandler: [manageSites, requirePermission(Permission.deviceManage)],
        config: { oplog: PANEL_OPERATION_LOG[op] },
      },
      async (request): Promise<PanelOperationReply> => {
        const { device, site } = await deviceFor(ctx.db, request, { op: SiteOperation.manageDevice, use: DevicePermissionName.configuration });
        const { area } = request.params as { area: number };
        request.oplog.detail = `Area ${area}`;
        const panel = new PanelLink(ctx, device);
        await panel.operate(op, area);
        ctx.hub.publish(site.companyId, { type: 'panel.changed', siteId: site.id, deviceId: device.id });
        // The operation is done: a failed read afterwards does not undo it.
        try {
          return { operation: op, area, status: await panel.status() };
        } catch (err) {
          return { operation: op, area, status: null, statusError: err instanceof Error ? err.message : String(err) };
        }
      },
    );
  }
}

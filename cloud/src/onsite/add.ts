import { SiteParams } from '../http/params.js';
import type { FastifyInstance } from 'fastify';
import { DeviceKind, DeviceProtocol } from '@vigil/protocol';
import {
  AddLanDevicesBodySchema,
  AddLanDevicesResultSchema,
  AddMethod,
  addMethodRefusal,
  DeviceAccessMode,
  ErrorCode,
  Permission,
  SiteOperation,
  type AddLanDevicesBody,
} from '@vigil/protocol/api';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import type { sites } from '../db/schema.js';
import { bindDevices, defaultDeviceName, KIND_OF_CLASS } from '../devices/bind.js';
import { deviceView } from '../devices/routes.js';
import { AppError } from '../http/errors.js';
import { siteOfRequest, visibleSite } from '../sites/access.js';
import { checkSiteFields } from '../sites/create.js';
import { requireSiteOperation } from '../sites/gate.js';
import { names, sightingsOf } from './sightings.js';


/**
 * Adding LAN devices to a site (the manual's "Add to Hik-Partner Pro" after SADP, §3.1.3): devices the site's
 * edge boxes see go to this site, an existing site or a new one, over Hik-Connect P2P (Table 3-5). All or nothing.
 */
export async function addRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.post(
    '/sites/:siteId/onsite/add',
    {
      schema: { params: SiteParams, body: AddLanDevicesBodySchema, response: { 201: AddLanDevicesResultSchema } },
      preHandler: requirePermission(Permission.deviceManage),
      config: { oplog: 'Add Device' },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      const body = request.body as AddLanDevicesBody;
      request.oplog.target = body.serials.join(', ').slice(0, 500);
      const site = await siteOfRequest(ctx.db, request);

      // Where the devices go: this site, another site the caller may manage, or a new site.
      const target = body.target;
      const newSite = target && 'newSite' in target ? target.newSite : null;
      let existing: typeof sites.$inferSelect | null = site;
      if (target && 'siteId' in target && target.siteId !== site.id) existing = await visibleSite(ctx.db, auth, target.siteId);
      if (newSite) {
        existing = null;
        if (!auth.permissions.has(Permission.siteManageAll) && !auth.permissions.has(Permission.siteManageAssigned)) {
          throw new AppError(403, ErrorCode.permissionDenied, `Adding to a new site needs the permission ${Permission.siteManageAll} or ${Permission.siteManageAssigned}.`);
        }
        checkSiteFields(newSite, ctx.config.minOfflineDelaySec);
      }
      // Checked again under the site's lock when the devices are bound; refused here before the LAN is looked at.
      if (existing) requireSiteOperation(existing, SiteOperation.manageDevice);
      const targetName = existing?.name ?? newSite!.name.trim();

      // The freshest sighting decides which edge box reaches each device.
      const sightings = await sightingsOf(ctx.db, site, body.serials);
      const found = body.serials.map((s) => sightings.freshest(s));

      const inactive = found.filter((f) => !f.device.activated).map((f) => f.serial);
      if (inactive.length > 0) {
        throw new AppError(409, ErrorCode.deviceNotActivated, `${names(inactive)} ${inactive.length > 1 ? 'are' : 'is'} not activated: activate ${inactive.length > 1 ? 'them' : 'it'} first.`);
      }
      const refused = new Map<string, string[]>();
      for (const f of found) {
        const type = addMethodRefusal(AddMethod.lan, f.device.deviceClass);
        if (type) refused.set(type, [...(refused.get(type) ?? []), f.serial]);
      }
      if (refused.size > 0) {
        const parts = [...refused].map(([type, serials]) => `${names(serials)} (${type}${serials.length > 1 ? 's' : ''})`);
        const types = [...refused.keys()].map((t) => `${t}s`);
        throw new AppError(
          422,
          ErrorCode.addMethodNotAllowed,
          `Adding by LAN (SADP) is not available for ${names(types)}: ${parts.join('; ')}. Add ${refused.size > 1 || found.length > 1 ? 'them' : 'it'} by QR code, serial number or Hik-Connect sync.`,
        );
      }
      const now = new Date();
      const result = await bindDevices(
        ctx,
        auth,
        existing ? { site: existing } : { newSite: newSite! },
        found.map((f) => ({
          deviceClass: f.device.deviceClass,
          edgeSerial: f.edgeSerial,
          deviceKey: f.serial,
          kind: KIND_OF_CLASS[f.device.deviceClass] ?? DeviceKind.other,
          protocol: DeviceProtocol.isapi,
          manufacturer: 'Hikvision',
          model: f.device.model,
          serial: f.serial,
          firmware: f.device.firmware,
          name: defaultDeviceName(f.device.model, f.serial, f.device.deviceClass),
          host: f.device.network.ipv4,
          port: f.device.httpPort,
          accessMode: DeviceAccessMode.p2p,
          channels: f.device.channels,
          // Seen in the LAN snapshot: reported online as of that snapshot.
          reportedOnline: true,
          reportedAt: f.snapshotAt ?? f.seenAt,
          status: 'online',
          statusChangedAt: now,
          lastSeenAt: f.seenAt,
        })),
        'added from the LAN',
      );

      request.oplog.detail = `${result.created.length} device(s) to the site "${targetName}"`;
      if (result.site.id !== site.id) {
        request.oplog.detail += ` from the LAN of "${site.name}"`;
        request.oplog.siteId = result.site.id;
        request.oplog.siteName = targetName;
      }
      for (const siteId of new Set([site.id, result.site.id])) {
        ctx.hub.publish(site.companyId, { type: 'devices.changed', siteId });
        ctx.hub.publish(site.companyId, { type: 'lan.changed', siteId });
      }
      if (newSite) ctx.hub.publish(site.companyId, { type: 'site.changed', siteId: result.site.id });
      const list = [...result.created].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
      return reply.status(201).send({ siteId: result.site.id, devices: list.map(deviceView) });
    },
  );
}

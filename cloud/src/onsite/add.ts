import type { FastifyInstance } from 'fastify';
import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import Type from 'typebox';
import { DeviceKind, DeviceProtocol, LanDeviceClass, shortSerial, type DiscoveredDevice } from '@vigil/protocol';
import {
  AddLanDevicesBodySchema,
  AddLanDevicesResultSchema,
  AddMethod,
  addMethodRefusal,
  DeviceAccessMode,
  ErrorCode,
  PERSONAL_SITE_MAX_CHANNELS,
  Permission,
  SiteType,
  type AddLanDevicesBody,
} from '@vigil/protocol/api';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import { devices, presenceHistory, sites } from '../db/schema.js';
import { deviceView } from '../devices/routes.js';
import { AppError } from '../http/errors.js';
import { visibleSite } from '../sites/access.js';
import { checkSiteFields, insertSite, rethrowSiteError } from '../sites/create.js';
import { names, sightingsOf } from './sightings.js';

const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });

const KIND_OF_CLASS: Partial<Record<LanDeviceClass, DeviceKind>> = {
  [LanDeviceClass.nvr]: DeviceKind.nvr,
  [LanDeviceClass.dvr]: DeviceKind.dvr,
  [LanDeviceClass.camera]: DeviceKind.camera,
  [LanDeviceClass.networkSwitch]: DeviceKind.networkSwitch,
  [LanDeviceClass.acRouter]: DeviceKind.router,
};

const NAME_MAX = 64;
/** The device's name on the site: its model and short serial. */
function deviceName(d: DiscoveredDevice): string {
  const short = shortSerial(d.serial) ?? d.serial.slice(-9);
  const model = (d.model || d.deviceClass).slice(0, NAME_MAX - short.length - 1);
  return `${model} ${short}`;
}

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
      const site = await visibleSite(ctx.db, auth, (request.params as { siteId: string }).siteId);
      request.oplog.siteId = site.id;
      request.oplog.siteName = site.name;

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
      const targetType = existing?.type ?? newSite!.type;
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
      const acRouters = found.filter((f) => f.device.deviceClass === LanDeviceClass.acRouter).map((f) => f.serial);
      if (acRouters.length > 0 && targetType === SiteType.team) {
        throw new AppError(422, ErrorCode.acRouterTeamSite, `An AC router cannot be added to a team site (${names(acRouters)}); add it to a personal site.`);
      }

      const now = new Date();
      let result: { siteId: string; created: (typeof devices.$inferSelect)[] };
      try {
        result = await ctx.db.transaction(async (tx) => {
          // Concurrent adds of the same serials, or to the same site, take turns.
          for (const s of [...body.serials].sort()) await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`device-serial:${s}`}))`);
          if (existing) {
            const [locked] = await tx.select({ id: sites.id }).from(sites).where(eq(sites.id, existing.id)).for('update');
            if (!locked) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
          }

          const foreign = await tx
            .select({ serial: devices.serial })
            .from(devices)
            .where(and(inArray(devices.serial, body.serials), ne(devices.companyId, auth.companyId)));
          if (foreign.length > 0) {
            const serials = [...new Set(foreign.map((d) => d.serial))].sort();
            throw new AppError(409, ErrorCode.deviceAddedToAnotherAccount, `This device has been added to another account. Serial number${serials.length > 1 ? 's' : ''}: ${names(serials)}.`);
          }
          const ours = await tx
            .select({ serial: devices.serial, siteName: sites.name })
            .from(devices)
            .innerJoin(sites, eq(sites.id, devices.siteId))
            .where(and(inArray(devices.serial, body.serials), eq(devices.companyId, auth.companyId)))
            .orderBy(asc(devices.serial));
          if (ours.length > 0) {
            const parts = ours.map((d) => `${d.serial} is on the site "${d.siteName}"`);
            throw new AppError(409, ErrorCode.deviceAlreadyAdded, `Already added: ${parts.join('; ')}.`);
          }

          if (targetType === SiteType.personal) {
            const [sum] = existing
              ? await tx.select({ n: sql<number>`coalesce(sum(${devices.channels}), 0)::int` }).from(devices).where(eq(devices.siteId, existing.id))
              : [{ n: 0 }];
            const adding = found.reduce((n, f) => n + f.device.channels, 0);
            const total = (sum?.n ?? 0) + adding;
            if (total > PERSONAL_SITE_MAX_CHANNELS) {
              throw new AppError(
                422,
                ErrorCode.siteChannelLimit,
                `A personal site takes at most ${PERSONAL_SITE_MAX_CHANNELS} channels: "${targetName}" has ${sum?.n ?? 0} and these devices bring ${adding}, ${total} in all.`,
              );
            }
          }

          const to = existing ?? (await insertSite(tx, auth, newSite!, ctx.config.minOfflineDelaySec));
          const created = await tx
            .insert(devices)
            .values(
              found.map((f) => {
                const reportedAt = f.snapshotAt ?? f.seenAt;
                return {
                  companyId: to.companyId,
                  siteId: to.id,
                  edgeSerial: f.edgeSerial,
                  deviceKey: f.serial,
                  kind: KIND_OF_CLASS[f.device.deviceClass] ?? DeviceKind.other,
                  protocol: DeviceProtocol.isapi,
                  manufacturer: 'Hikvision',
                  model: f.device.model,
                  serial: f.serial,
                  firmware: f.device.firmware,
                  name: deviceName(f.device),
                  host: f.device.network.ipv4,
                  port: f.device.httpPort,
                  accessMode: DeviceAccessMode.p2p,
                  channels: f.device.channels,
                  // Seen in the LAN snapshot: reported online as of that snapshot.
                  reportedOnline: true,
                  reportedAt,
                  status: 'online',
                  statusChangedAt: now,
                  lastSeenAt: f.seenAt,
                };
              }),
            )
            .returning();
          await tx.insert(presenceHistory).values(
            created.map((d) => ({ subjectType: 'device', subjectId: d.id, companyId: d.companyId, siteId: d.siteId, state: 'online', since: now, reason: 'added from the LAN' })),
          );
          return { siteId: to.id, created };
        });
      } catch (err) {
        if (newSite) rethrowSiteError(err, newSite.name);
        throw err;
      }

      request.oplog.detail = `${result.created.length} device(s) to the site "${targetName}"`;
      if (result.siteId !== site.id) {
        request.oplog.detail += ` from the LAN of "${site.name}"`;
        request.oplog.siteId = result.siteId;
        request.oplog.siteName = targetName;
      }
      for (const siteId of new Set([site.id, result.siteId])) {
        ctx.hub.publish(site.companyId, { type: 'devices.changed', siteId });
        ctx.hub.publish(site.companyId, { type: 'lan.changed', siteId });
      }
      if (newSite) ctx.hub.publish(site.companyId, { type: 'site.changed', siteId: result.siteId });
      const list = [...result.created].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
      return reply.status(201).send({ siteId: result.siteId, devices: list.map(deviceView) });
    },
  );
}

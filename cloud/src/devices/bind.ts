import { and, asc, eq, inArray, ne, or, sql } from 'drizzle-orm';
import { DeviceKind, DeviceProtocol, LanDeviceClass, shortSerial } from '@vigil/protocol';
import { ErrorCode, PERSONAL_SITE_MAX_CHANNELS, SiteOperation, SiteType, type CreateSiteBody } from '@vigil/protocol/api';
import type { CloudContext } from '../context.js';
import { devices, presenceHistory, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { names } from '../onsite/sightings.js';
import { insertSite, rethrowSiteError } from '../sites/create.js';
import { requireSiteOperation } from '../sites/gate.js';
import type { Auth } from '../types.js';

type DeviceRow = typeof devices.$inferSelect;
type Site = typeof sites.$inferSelect;

/** A device about to join a site: its row without the site's fields, and its class for the site rules. */
export type NewDevice = Omit<typeof devices.$inferInsert, 'companyId' | 'siteId' | 'shortSerial'> & { deviceClass: LanDeviceClass; serial: string };

export const KIND_OF_CLASS: Partial<Record<LanDeviceClass, DeviceKind>> = {
  [LanDeviceClass.nvr]: DeviceKind.nvr,
  [LanDeviceClass.dvr]: DeviceKind.dvr,
  [LanDeviceClass.camera]: DeviceKind.camera,
  [LanDeviceClass.networkSwitch]: DeviceKind.networkSwitch,
  [LanDeviceClass.acRouter]: DeviceKind.router,
  [LanDeviceClass.alarmPanel]: DeviceKind.alarmPanel,
};

const NAME_MAX = 64;
/** A device's default name on a site: its model and short serial. */
export function defaultDeviceName(model: string, serial: string, fallback: string): string {
  const short = shortSerial(serial) ?? serial.slice(-9);
  return `${(model || fallback).slice(0, NAME_MAX - short.length - 1)} ${short}`;
}

/** What a device reaching the platform without an edge box says it is. */
export interface DirectDeviceInfo {
  deviceClass: LanDeviceClass;
  model: string;
  serial: string;
  firmware: string;
  channels: number;
}

/** The row of a device added without an edge box (by serial number or IP/domain), online as it answered just now. */
export function directDevice(
  info: DirectDeviceInfo,
  how: Pick<NewDevice, 'deviceKey' | 'host' | 'port' | 'accessMode' | 'credentialsSealed'> & { name?: string; seenAt: Date },
): NewDevice {
  const now = new Date();
  const { name, seenAt, ...rest } = how;
  return {
    ...rest,
    deviceClass: info.deviceClass,
    edgeSerial: null,
    kind: KIND_OF_CLASS[info.deviceClass] ?? DeviceKind.other,
    protocol: DeviceProtocol.isapi,
    manufacturer: 'Hikvision',
    model: info.model,
    serial: info.serial,
    firmware: info.firmware,
    name: name?.trim() || defaultDeviceName(info.model, info.serial, info.deviceClass),
    channels: info.channels,
    reportedOnline: true,
    reportedAt: seenAt,
    status: 'online',
    statusChangedAt: now,
    lastSeenAt: now,
  };
}

/** Where devices go: an existing site, or a new one created with them. */
export type BindTarget = { site: Site } | { newSite: CreateSiteBody };

/**
 * Puts devices on a site, whatever the adding method, with the rules every method shares: a device belongs to one
 * company and one site (recognized by its long or short serial), an AC router never goes to a team site (§3.1.1),
 * a personal site takes at most 128 channels, and the site's status must allow Manage Device. All or nothing;
 * concurrent adds of the same serials take turns.
 */
export async function bindDevices(ctx: CloudContext, auth: Auth, target: BindTarget, items: readonly NewDevice[], reason: string) {
  const targetType = 'site' in target ? target.site.type : target.newSite.type;
  const targetName = 'site' in target ? target.site.name : target.newSite.name.trim();
  const acRouters = items.filter((d) => d.deviceClass === LanDeviceClass.acRouter).map((d) => d.serial);
  if (acRouters.length > 0 && targetType === SiteType.team) {
    throw new AppError(422, ErrorCode.acRouterTeamSite, `An AC router cannot be added to a team site (${names(acRouters)}); add it to a personal site.`);
  }
  const shorts = items.map((d) => shortSerial(d.serial));
  const known = (col: typeof devices.serial | typeof devices.shortSerial, values: (string | null)[]) => {
    const v = values.filter((x): x is string => x !== null);
    return v.length > 0 ? inArray(col, v) : sql`false`;
  };
  const sameDevice = or(known(devices.serial, items.map((d) => d.serial)), known(devices.shortSerial, shorts));

  try {
    return await ctx.db.transaction(async (tx) => {
      for (const s of [...new Set(shorts.map((s, i) => s ?? items[i]!.serial))].sort()) {
        await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`device-serial:${s}`}))`);
      }
      if ('site' in target) {
        const [locked] = await tx.select({ name: sites.name, status: sites.status }).from(sites).where(eq(sites.id, target.site.id)).for('update');
        if (!locked) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
        // Read under the lock: a handover accepted meanwhile wins.
        requireSiteOperation(locked, SiteOperation.manageDevice);
      }

      const foreign = await tx.select({ serial: devices.serial }).from(devices).where(and(sameDevice, ne(devices.companyId, auth.companyId)));
      if (foreign.length > 0) {
        const serials = [...new Set(foreign.map((d) => d.serial))].sort();
        throw new AppError(409, ErrorCode.deviceAddedToAnotherAccount, `This device has been added to another account. Serial number${serials.length > 1 ? 's' : ''}: ${names(serials)}.`);
      }
      const ours = await tx
        .select({ serial: devices.serial, siteName: sites.name })
        .from(devices)
        .innerJoin(sites, eq(sites.id, devices.siteId))
        .where(and(sameDevice, eq(devices.companyId, auth.companyId)))
        .orderBy(asc(devices.serial));
      if (ours.length > 0) {
        throw new AppError(409, ErrorCode.deviceAlreadyAdded, `Already added: ${ours.map((d) => `${d.serial} is on the site "${d.siteName}"`).join('; ')}.`);
      }

      if (targetType === SiteType.personal) {
        const [sum] =
          'site' in target
            ? await tx.select({ n: sql<number>`coalesce(sum(${devices.channels}), 0)::int` }).from(devices).where(eq(devices.siteId, target.site.id))
            : [{ n: 0 }];
        const adding = items.reduce((n, d) => n + (d.channels ?? 0), 0);
        const total = (sum?.n ?? 0) + adding;
        if (total > PERSONAL_SITE_MAX_CHANNELS) {
          throw new AppError(
            422,
            ErrorCode.siteChannelLimit,
            `A personal site takes at most ${PERSONAL_SITE_MAX_CHANNELS} channels: "${targetName}" has ${sum?.n ?? 0} and ${items.length > 1 ? 'these devices bring' : 'this device brings'} ${adding}, ${total} in all.`,
          );
        }
      }

      const to = 'site' in target ? target.site : await insertSite(tx, auth, target.newSite, ctx.config.minOfflineDelaySec);
      const now = new Date();
      const created: DeviceRow[] = await tx
        .insert(devices)
        .values(items.map(({ deviceClass: _class, ...d }, i) => ({ ...d, companyId: to.companyId, siteId: to.id, shortSerial: shorts[i] ?? null })))
        .returning();
      await tx.insert(presenceHistory).values(
        created.map((d) => ({ subjectType: 'device', subjectId: d.id, companyId: d.companyId, siteId: d.siteId, state: d.status, since: now, reason })),
      );
      return { site: to, created };
    });
  } catch (err) {
    if ('newSite' in target) rethrowSiteError(err, target.newSite.name);
    throw err;
  }
}

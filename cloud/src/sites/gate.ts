import { and, eq, gt, isNotNull, isNull, or, sql } from 'drizzle-orm';
import {
  DEVICE_PERMISSION_LABELS,
  ErrorCode,
  PRE_HANDOVER_STATUSES,
  SITE_OPERATION_LABELS,
  SITE_STATUS_LABELS,
  SiteStatus,
  SiteStatusErrorCode,
  siteOperationAllowed,
  type DeviceUse,
  type SiteOperation,
} from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { devicePermissions, devices, sharings, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { Auth } from '../types.js';

/**
 * The site's row, locked for the rest of the transaction so that requests changing one site take turns (404 if it
 * is gone). With `op`, its status is checked again: another request may have moved it since it was first read.
 */
export async function lockSite(tx: Tx, siteId: string, op?: SiteOperation): Promise<typeof sites.$inferSelect> {
  const [site] = await tx.select().from(sites).where(eq(sites.id, siteId)).for('update');
  if (!site) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
  if (op) requireSiteOperation(site, op);
  return site;
}

/** Refuses (409) an operation the site's status does not allow (manual Table 3-12). */
export function requireSiteOperation(site: { name: string; status: string }, op: SiteOperation): void {
  const status = site.status as SiteStatus;
  if (!siteOperationAllowed(op, status)) {
    throw new AppError(
      409,
      SiteStatusErrorCode.statusForbids,
      `${SITE_OPERATION_LABELS[op]} is not allowed while ${site.name} is "${SITE_STATUS_LABELS[status] ?? status}".`,
    );
  }
}

/**
 * What the gate reads of a device's use, as columns beside `devices` joined with `sites` in the caller's own query
 * (no extra round trip on every live view, playback or configuration call): the site's sharing mode, and when the
 * company's longest approved grant for the use ends (epoch ms; Infinity for Permanent; null for none). Written out in
 * SQL: inside a subquery Drizzle would leave the outer columns unqualified.
 */
export function deviceUseColumns(companyId: string, use: DeviceUse) {
  return {
    sharingMode: sql<string | null>`(SELECT sh.mode FROM sharings sh WHERE sh.site_id = "sites"."id")`,
    grantEndsMs: sql<number | null>`(SELECT COALESCE((extract(epoch FROM dp.expires_at) * 1000)::float8, 'Infinity'::float8) FROM device_permissions dp
      WHERE dp.site_id = "sites"."id" AND dp.device_id = "devices"."id" AND dp.company_id = ${companyId} AND dp.permission = ${use} AND dp.status = 'approved'
      ORDER BY dp.expires_at DESC NULLS FIRST LIMIT 1)`.mapWith(Number),
  };
}

/** Stands in for deviceUseColumns in a query that checks no use. */
export const NO_DEVICE_USE = { sharingMode: sql<string | null>`NULL`, grantEndsMs: sql<number | null>`NULL` };

export interface DeviceUseHeld {
  sharingMode: string | null;
  grantEndsMs: number | null;
}

/**
 * Refuses a use of a device (live view, playback, configuration) the caller's company does not hold right now.
 * Until a transfer is accepted the company holds its devices; a handed-over site's devices need a grant of the
 * owner (approved, not released, not past its expiry — checked at the moment of use, so an expired grant refuses
 * the very next call), and a site shared in Mode A one of the Customer Administrator; in Mode B the company kept them.
 */
export function checkDeviceUse(site: { name: string; status: string }, device: { name: string }, use: DeviceUse, held: DeviceUseHeld): void {
  const status = site.status as SiteStatus;
  if (PRE_HANDOVER_STATUSES.includes(status)) return;
  if (status === SiteStatus.disbanded) throw new AppError(409, SiteStatusErrorCode.statusForbids, `${site.name} has been disbanded.`);
  if (status === SiteStatus.shared && held.sharingMode === 'B') return;
  if (held.grantEndsMs !== null && held.grantEndsMs > Date.now()) return;
  if (held.grantEndsMs !== null) {
    throw new AppError(
      403,
      SiteStatusErrorCode.devicePermissionExpired,
      `Your ${DEVICE_PERMISSION_LABELS[use]} permission on ${device.name} expired at ${new Date(held.grantEndsMs).toISOString()}; apply to the customer again.`,
    );
  }
  throw new AppError(403, SiteStatusErrorCode.devicePermissionRequired, `${site.name} is handed over: ${DEVICE_PERMISSION_LABELS[use]} of ${device.name} needs the customer's permission.`);
}

/** checkDeviceUse for a caller that has not read the grant yet (one query, none before handover). */
export async function requireDeviceUse(
  db: Db | Tx,
  auth: Auth,
  site: { id: string; name: string; status: string },
  device: { id: string; name: string },
  use: DeviceUse,
): Promise<void> {
  if (PRE_HANDOVER_STATUSES.includes(site.status as SiteStatus)) return;
  const [held] = await db.select(deviceUseColumns(auth.companyId, use)).from(devices).innerJoin(sites, eq(sites.id, devices.siteId)).where(eq(devices.id, device.id));
  checkDeviceUse(site, device, use, held ?? { sharingMode: null, grantEndsMs: null });
}

/**
 * The devices of the site the caller's company may use for `use` right now, for lists that span the site (a clip
 * timeline): null when it holds them all (before handover, or shared in Mode B).
 */
export async function usableDevices(db: Db | Tx, holder: Pick<Auth, 'companyId'>, site: { id: string; name: string; status: string }, use: DeviceUse): Promise<string[] | null> {
  const status = site.status as SiteStatus;
  if (PRE_HANDOVER_STATUSES.includes(status)) return null;
  if (status === SiteStatus.disbanded) throw new AppError(409, SiteStatusErrorCode.statusForbids, `${site.name} has been disbanded.`);
  if (status === SiteStatus.shared) {
    const [sharing] = await db.select({ mode: sharings.mode }).from(sharings).where(eq(sharings.siteId, site.id));
    if (sharing?.mode === 'B') return null;
  }
  const rows = await db
    .selectDistinct({ deviceId: devicePermissions.deviceId })
    .from(devicePermissions)
    .where(
      and(
        eq(devicePermissions.siteId, site.id),
        isNotNull(devicePermissions.deviceId),
        eq(devicePermissions.companyId, holder.companyId),
        eq(devicePermissions.permission, use),
        eq(devicePermissions.status, 'approved'),
        or(isNull(devicePermissions.expiresAt), gt(devicePermissions.expiresAt, new Date())),
      ),
    );
  return rows.map((r) => r.deviceId!);
}

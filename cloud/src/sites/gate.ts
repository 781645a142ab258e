import { and, desc, eq, gt, isNotNull, isNull, or } from 'drizzle-orm';
import {
  DEVICE_PERMISSION_LABELS,
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
import { devicePermissions, sharings } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { Auth } from '../types.js';

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
 * Refuses a use of a device (live view, playback, configuration) the caller's company does not hold right now.
 * Until a transfer is accepted the company holds its devices; a handed-over site's devices need a grant of the
 * owner (approved, not released, not past its expiry — checked at the moment of use, so an expired grant refuses
 * the very next call), and a site shared in Mode A one of the Customer Administrator; in Mode B the company kept them.
 */
export async function requireDeviceUse(
  db: Db | Tx,
  auth: Auth,
  site: { id: string; name: string; status: string },
  device: { id: string; name: string },
  use: DeviceUse,
): Promise<void> {
  const status = site.status as SiteStatus;
  if (PRE_HANDOVER_STATUSES.includes(status)) return;
  if (status === SiteStatus.disbanded) throw new AppError(409, SiteStatusErrorCode.statusForbids, `${site.name} has been disbanded.`);
  if (status === SiteStatus.shared) {
    const [sharing] = await db.select({ mode: sharings.mode }).from(sharings).where(eq(sharings.siteId, site.id));
    if (sharing?.mode === 'B') return;
  }
  const [grant] = await db
    .select({ expiresAt: devicePermissions.expiresAt })
    .from(devicePermissions)
    .where(
      and(
        eq(devicePermissions.siteId, site.id),
        eq(devicePermissions.deviceId, device.id),
        eq(devicePermissions.companyId, auth.companyId),
        eq(devicePermissions.permission, use),
        eq(devicePermissions.status, 'approved'),
      ),
    )
    .orderBy(desc(devicePermissions.expiresAt))
    .limit(1);
  // Permanent grants sort first (NULLS FIRST in descending order), then the one expiring last.
  if (grant && (grant.expiresAt === null || grant.expiresAt.getTime() > Date.now())) return;
  if (grant) {
    throw new AppError(
      403,
      SiteStatusErrorCode.devicePermissionExpired,
      `Your ${DEVICE_PERMISSION_LABELS[use]} permission on ${device.name} expired at ${grant.expiresAt!.toISOString()}; apply to the customer again.`,
    );
  }
  throw new AppError(403, SiteStatusErrorCode.devicePermissionRequired, `${site.name} is handed over: ${DEVICE_PERMISSION_LABELS[use]} of ${device.name} needs the customer's permission.`);
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

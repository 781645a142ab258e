import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { AccountRole, SiteStatus, VALIDITY_HOURS, type DevicePermissionName as PermissionName, type Grant, type GrantStatus, type PendingApplication, type Validity } from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { accounts, companies, devicePermissions, devices, sharingRecipients, sharings, sites } from '../db/schema.js';
import { accountsWithRole } from '../notifications/notify.js';

const applicant = alias(accounts, 'applicant');

/** When a grant approved at `from` ends: its validity's hours (as long as the configured hour), none when Permanent. */
export function grantExpiresAt(validity: Validity, hourMs: number, from: Date = new Date()): Date | null {
  const hours = VALIDITY_HOURS[validity];
  return hours === null ? null : new Date(from.getTime() + hours * hourMs);
}

/** The status a reader sees: an approved grant past its expiry is expired. */
export function grantStatus(row: { status: string; expiresAt: Date | null }, now = Date.now()): GrantStatus {
  if (row.status === 'approved' && row.expiresAt !== null && row.expiresAt.getTime() <= now) return 'expired';
  return row.status as GrantStatus;
}

/** Grants with the names a reader needs (device, company, applicant, site), newest first. */
export async function listGrants(db: Db | Tx, where: SQL | undefined): Promise<PendingApplication[]> {
  const rows = await db
    .select({ g: devicePermissions, deviceName: devices.name, companyName: companies.name, applicantName: applicant.name, siteName: sites.name })
    .from(devicePermissions)
    .innerJoin(sites, eq(sites.id, devicePermissions.siteId))
    .innerJoin(companies, eq(companies.id, devicePermissions.companyId))
    .leftJoin(devices, eq(devices.id, devicePermissions.deviceId))
    .leftJoin(applicant, eq(applicant.id, devicePermissions.applicantAccountId))
    .where(where)
    .orderBy(desc(devicePermissions.createdAt), devicePermissions.deviceId, devicePermissions.permission);
  const now = Date.now();
  return rows.map(({ g, ...names }) => ({
    id: g.id,
    siteId: g.siteId,
    siteName: names.siteName,
    deviceId: g.deviceId,
    deviceName: names.deviceName,
    companyId: g.companyId,
    companyName: names.companyName,
    permission: g.permission as PermissionName,
    validity: g.validity as Validity,
    status: grantStatus(g, now),
    source: g.source as Grant['source'],
    remark: g.remark,
    applicantName: names.applicantName,
    createdAt: g.createdAt.toISOString(),
    decidedAt: g.decidedAt?.toISOString() ?? null,
    expiresAt: g.expiresAt?.toISOString() ?? null,
  }));
}

/** A grant as the contract's DeviceGrant (no site name). */
export function asDeviceGrant({ siteName: _siteName, ...grant }: PendingApplication): Grant {
  return grant;
}

export async function grantById(db: Db | Tx, id: string): Promise<Grant> {
  const [one] = await listGrants(db, eq(devicePermissions.id, id));
  return asDeviceGrant(one!);
}

/**
 * The customer reviews the installer's applications on the site: its owner once transferred, the accepted Customer
 * Administrator of a site shared in Mode A. Plain SQL: inside a subquery Drizzle would leave the outer column unqualified.
 */
export const reviewerOf = (accountId: string): SQL =>
  sql`("sites"."owner_account_id" = ${accountId} OR ("sites"."status" = ${SiteStatus.shared} AND EXISTS (
    SELECT 1 FROM sharings sh JOIN sharing_recipients sr ON sr.sharing_id = sh.id
    WHERE sh.site_id = "sites"."id" AND sh.mode = 'A' AND sr.is_admin AND sr.status = 'Accepted' AND sr.recipient_account_id = ${accountId})))`;

/** Who reviews the site's applications now (null: nobody yet, e.g. a Mode A sharing not accepted by its administrator). */
export async function reviewerAccountOf(db: Db | Tx, site: { id: string; ownerAccountId: string | null; status: string }): Promise<string | null> {
  if (site.ownerAccountId) return site.ownerAccountId;
  if (site.status !== SiteStatus.shared) return null;
  const [admin] = await db
    .select({ id: sharingRecipients.recipientAccountId })
    .from(sharingRecipients)
    .innerJoin(sharings, eq(sharings.id, sharingRecipients.sharingId))
    .where(and(eq(sharings.siteId, site.id), eq(sharings.mode, 'A'), eq(sharingRecipients.isAdmin, true), eq(sharingRecipients.status, 'Accepted')))
    .limit(1);
  return admin?.id ?? null;
}

/** The site's sharing mode, or null when it is not shared. */
export async function sharingModeOf(db: Db | Tx, siteId: string): Promise<string | null> {
  const [sharing] = await db.select({ mode: sharings.mode }).from(sharings).where(eq(sharings.siteId, siteId));
  return sharing?.mode ?? null;
}

/** The accounts of an installer company to tell about a decision: the applicant and the Installer Admin. */
export async function companyToTell(db: Db | Tx, companyId: string, applicantAccountId: string | null): Promise<string[]> {
  const admins = await accountsWithRole(db, AccountRole.installerAdmin, companyId);
  return [...new Set([...(applicantAccountId ? [applicantAccountId] : []), ...admins.map((a) => a.id)])];
}

import { and, eq, gt, ne, sql } from 'drizzle-orm';
import { AuthenticationStatus, CompanyType, MergerFailure } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { arcProfiles, cloudStorageChannels, coBrandings, devices, edges, sites, storagePackages, type companies } from '../db/schema.js';

type Company = typeof companies.$inferSelect;

export const FAILURE_TEXT: Record<MergerFailure, string> = {
  HAS_DEVICES: 'The invited company still has devices or edge boxes.',
  HAS_HANDED_OVER_SITES: 'The invited company has sites that are handed over.',
  HC_LINKED: 'The invited account is linked with a customer account.',
  ACTIVE_VAS: 'The invited company has value-added services still in use (cloud storage in its term, co-branding, or purchased employee slots).',
  CHANNEL_PARTNER: 'The invited company is an authenticated channel partner.',
  IN_ARC_LIST: 'The invited company is an alarm receiving center on the ARC list.',
  REGION_MISMATCH: 'The two companies are in different countries or regions.',
  NOT_ELIGIBLE_ACCOUNT: "The invited account is not another company's Installer Admin.",
};

const exists = async (q: Promise<unknown[]>) => (await q).length > 0;

/**
 * The first reason the invited company (B) cannot be merged into the initiator (A), or null (manual §3.4.6,
 * "Limitations"). Checked at the invitation and again, under lock, when the merger runs.
 * A link of the invited account with a customer's account (HC_LINKED) cannot arise: a customer's account is one of
 * its own (emails are unique across the platform), never an installer account's.
 */
export async function mergerBlocker(db: Db, a: Company, b: Company): Promise<MergerFailure | null> {
  if (a.id === b.id || b.type === 'vendor') return MergerFailure.notEligibleAccount;
  if (a.countryCode !== b.countryCode) return MergerFailure.regionMismatch;
  // Authentication by the platform operator is what makes a company a channel partner here: a second, unauthenticated
  // company of the same owner is exactly what the manual means to merge.
  if (b.authStatus === AuthenticationStatus.approved) return MergerFailure.channelPartner;
  if (b.type === CompanyType.alarmReceivingCenter) return MergerFailure.inArcList;
  if (await exists(db.select({ id: arcProfiles.companyId }).from(arcProfiles).where(eq(arcProfiles.companyId, b.id)).limit(1))) {
    return MergerFailure.inArcList;
  }
  if (
    (await exists(db.select({ id: devices.id }).from(devices).where(eq(devices.companyId, b.id)).limit(1))) ||
    (await exists(db.select({ serial: edges.serial }).from(edges).where(eq(edges.companyId, b.id)).limit(1)))
  ) {
    return MergerFailure.hasDevices;
  }
  if (await exists(db.select({ id: sites.id }).from(sites).where(and(eq(sites.companyId, b.id), ne(sites.status, 'NotHandedOver'))).limit(1))) {
    return MergerFailure.hasHandedOverSites;
  }
  if (b.purchasedEmployeeSlots > 0) return MergerFailure.activeValueAddedServices;
  if (await exists(db.select({ id: coBrandings.companyId }).from(coBrandings).where(and(eq(coBrandings.companyId, b.id), gt(coBrandings.validUntil, sql`now()`))).limit(1))) {
    return MergerFailure.activeValueAddedServices;
  }
  // A package is in its term while one of its channels' service runs (activation + the package's term). A channel
  // of the company's own devices would need a device, refused above.
  const running = db
    .select({ id: storagePackages.id })
    .from(cloudStorageChannels)
    .innerJoin(storagePackages, eq(storagePackages.id, cloudStorageChannels.packageId))
    .where(and(eq(storagePackages.companyId, b.id), gt(cloudStorageChannels.expiresAt, sql`now()`)))
    .limit(1);
  if (await exists(running)) return MergerFailure.activeValueAddedServices;
  return null;
}

import { and, eq } from 'drizzle-orm';
import { ALL_REGION_FEATURES, CompanyErrorCode, RegionFeature, VALUE_ADDED_FEATURES } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { companies, regionFeatures } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { Auth } from '../types.js';

/** The manual's Table 1-2: countries and regions that have the free functions only. */
export const FREE_ONLY_COUNTRIES = [
  'AO', 'BJ', 'BW', 'BF', 'BI', 'CM', 'CV', 'CF', 'TD', 'KM', 'CG', 'CD', 'CI', 'DJ', 'GQ', 'ER', 'ET', 'GA', 'GM', 'GN',
  'GW', 'LR', 'MG', 'MW', 'ML', 'YT', 'MZ', 'NA', 'NE', 'NG', 'RW', 'SN', 'SC', 'SL', 'SO', 'TZ', 'TG', 'UG', 'ZM', 'ZW',
  'JP', 'TW',
] as const;
/** §1.3.1: Health Monitoring's linkage rules are not offered in the United States and Canada. */
const NO_HEALTH_LINKAGE = ['US', 'CA'] as const;

/** The manual's tables as the matrix's first rows; a row the vendor admin has edited since is left as it is. */
export async function seedRegionFeatures(db: Db): Promise<void> {
  const rows = [
    ...FREE_ONLY_COUNTRIES.flatMap((countryCode) => VALUE_ADDED_FEATURES.map((feature) => ({ countryCode, feature, enabled: false }))),
    ...NO_HEALTH_LINKAGE.map((countryCode) => ({ countryCode, feature: RegionFeature.healthLinkage, enabled: false })),
  ];
  await db.insert(regionFeatures).values(rows).onConflictDoNothing();
}

/** The features a country or region has: every feature unless the matrix switches it off. */
export async function featuresOf(db: Db, countryCode: string): Promise<RegionFeature[]> {
  const off = new Set(
    (await db.select({ feature: regionFeatures.feature }).from(regionFeatures).where(and(eq(regionFeatures.countryCode, countryCode), eq(regionFeatures.enabled, false)))).map((r) => r.feature),
  );
  return ALL_REGION_FEATURES.filter((f) => !off.has(f));
}

/** Refuses the call when the caller's company's region does not have the feature. */
export async function requireFeature(db: Db, auth: Pick<Auth, 'companyId'>, feature: RegionFeature): Promise<void> {
  // One query: the company's country with the matrix's row for it, if any.
  const [row] = await db
    .select({ countryCode: companies.countryCode, enabled: regionFeatures.enabled })
    .from(companies)
    .leftJoin(regionFeatures, and(eq(regionFeatures.countryCode, companies.countryCode), eq(regionFeatures.feature, feature)))
    .where(eq(companies.id, auth.companyId));
  if (!row) throw new AppError(404, CompanyErrorCode.companyNotFound, 'Company not found.');
  if (row.enabled === false) {
    throw new AppError(403, CompanyErrorCode.featureUnavailable, `This feature is not available in your company's country or region (${row.countryCode}).`);
  }
}

/** Refuses the call unless the platform operator has approved the company's authentication. */
export async function requireAuthenticatedCompany(db: Db, auth: Pick<Auth, 'companyId'>): Promise<void> {
  const [company] = await db.select({ authStatus: companies.authStatus }).from(companies).where(eq(companies.id, auth.companyId));
  if (!company) throw new AppError(404, CompanyErrorCode.companyNotFound, 'Company not found.');
  if (company.authStatus !== 'approved') {
    throw new AppError(403, CompanyErrorCode.companyNotAuthenticated, 'Authenticate your company first: this feature is for authenticated companies.');
  }
}

import { and, desc, eq, sql } from 'drizzle-orm';
import {
  AccountRole,
  CoBrandingErrorCode,
  CoBrandingSource,
  CompanyErrorCode,
  expiryNoticeAt,
  FREE_YEAR_MONTHS,
  FREE_YEAR_P2P_DEVICES,
  LOGO_MAX_BYTES,
  RegionFeature,
  type CoBranding,
  type CoBrandingOrder,
  type LogoContentType,
} from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { accounts, coBrandingOrders, coBrandings, companies, devices, regionFeatures } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { JobQueue } from '../jobs/queue.js';
import type { MailOutbox } from '../mail/outbox.js';
import { accountsWithRole, tellAccounts } from '../notifications/notify.js';
import { sha256 } from '../security/secrets.js';

/** Orders shown with the service: the newest ones. */
const ORDERS_SHOWN = 100;

type CoBrandingRow = typeof coBrandings.$inferSelect;

/** Switched on and within its validity: what customers see now. */
export const isActive = (row: Pick<CoBrandingRow, 'enabled' | 'validUntil'> | undefined, now = new Date()): boolean =>
  row !== undefined && row.enabled && row.validUntil !== null && row.validUntil > now;

/** What the free year needs, of the company in the query: its region offers it, it had it, its P2P devices. */
const freeYearColumns = {
  authStatus: companies.authStatus,
  offered: sql<boolean>`NOT EXISTS (SELECT 1 FROM ${regionFeatures} WHERE ${and(
    eq(regionFeatures.countryCode, companies.countryCode),
    eq(regionFeatures.feature, RegionFeature.coBrandingFreeYear),
    eq(regionFeatures.enabled, false),
  )})`,
  claimed: sql<boolean>`EXISTS (SELECT 1 FROM ${coBrandingOrders} WHERE ${and(eq(coBrandingOrders.companyId, companies.id), eq(coBrandingOrders.source, CoBrandingSource.freePromo))})`,
  p2pDevices: sql<number>`(SELECT count(*)::int FROM ${devices} WHERE ${and(eq(devices.companyId, companies.id), eq(devices.accessMode, 'p2p'))})`,
};

type FreeYearTerms = { authStatus: string; offered: boolean; claimed: boolean; p2pDevices: number };
const freeYearAvailable = (t: FreeYearTerms): boolean => t.offered && !t.claimed && t.authStatus === 'approved' && t.p2pDevices >= FREE_YEAR_P2P_DEVICES;

export async function coBrandingView(db: Db | Tx, companyId: string): Promise<CoBranding> {
  // The logo itself (up to a quarter of a megabyte) is not read: the view says only whether there is one.
  const [found] = await db
    .select({
      ...freeYearColumns,
      rewardPoints: companies.rewardPoints,
      enabled: coBrandings.enabled,
      validUntil: coBrandings.validUntil,
      hasLogo: sql<boolean>`${coBrandings.logo} IS NOT NULL`,
      logoContentType: sql<string | null>`CASE WHEN ${coBrandings.logo} IS NULL THEN NULL ELSE ${coBrandings.logoContentType} END`,
    })
    .from(companies)
    .leftJoin(coBrandings, eq(coBrandings.companyId, companies.id))
    .where(eq(companies.id, companyId));
  const orders = await db
    .select({ order: coBrandingOrders, createdByName: accounts.name })
    .from(coBrandingOrders)
    .leftJoin(accounts, eq(accounts.id, coBrandingOrders.createdBy))
    .where(eq(coBrandingOrders.companyId, companyId))
    .orderBy(desc(coBrandingOrders.createdAt), desc(coBrandingOrders.id))
    .limit(ORDERS_SHOWN);
  return {
    enabled: found?.enabled ?? false,
    hasLogo: found?.hasLogo ?? false,
    logoContentType: (found?.logoContentType ?? null) as CoBranding['logoContentType'],
    validUntil: found?.validUntil?.toISOString() ?? null,
    active: isActive({ enabled: found?.enabled ?? false, validUntil: found?.validUntil ?? null }),
    companyAuthenticated: found?.authStatus === 'approved',
    rewardPoints: found?.rewardPoints ?? 0,
    freeYear: {
      offered: found?.offered ?? false,
      claimed: found?.claimed ?? false,
      p2pDevices: found?.p2pDevices ?? 0,
      available: found ? freeYearAvailable(found) : false,
    },
    orders: orders.map(
      ({ order, createdByName }): CoBrandingOrder => ({
        id: order.id,
        source: order.source as CoBrandingSource,
        months: order.months,
        details: order.details,
        createdByName,
        createdAt: order.createdAt.toISOString(),
      }),
    ),
  };
}

/** The company's row, created on first use and locked until the transaction ends; its validity (not the logo) read. */
export async function lockCoBranding(tx: Tx, companyId: string): Promise<Pick<CoBrandingRow, 'validUntil'>> {
  await tx.insert(coBrandings).values({ companyId }).onConflictDoNothing();
  const [row] = await tx.select({ validUntil: coBrandings.validUntil }).from(coBrandings).where(eq(coBrandings.companyId, companyId)).for('update');
  return row!;
}

export interface Extension {
  source: CoBrandingSource;
  months: number;
  details: Record<string, string>;
}

export const CO_BRANDING_REMINDER_JOB = 'co-branding.remind';

/**
 * Records how the service was obtained and extends it: each extension adds its months to the later of now and the
 * current end of validity (an expired service starts again from now). The expiry reminder moves with the new end.
 */
export async function extendCoBranding(tx: Tx, jobs: JobQueue, companyId: string, accountId: string, extensions: Extension[]): Promise<void> {
  const months = extensions.reduce((sum, e) => sum + e.months, 0);
  await lockCoBranding(tx, companyId);
  await tx.insert(coBrandingOrders).values(extensions.map((e) => ({ companyId, source: e.source, months: e.months, details: e.details, createdBy: accountId })));
  const [row] = await tx
    .update(coBrandings)
    .set({
      validUntil: sql`greatest(coalesce(${coBrandings.validUntil}, now()), now()) + make_interval(months => ${months}::int)`,
      updatedAt: new Date(),
    })
    .where(eq(coBrandings.companyId, companyId))
    .returning({ validUntil: coBrandings.validUntil });
  const validUntil = row!.validUntil!;
  const remindAt = expiryNoticeAt(validUntil);
  // A service that ends sooner than that is shown as ending soon on its page, with no mail right after buying it.
  if (remindAt > new Date()) {
    await jobs.schedule(`co-branding-reminder:${companyId}`, CO_BRANDING_REMINDER_JOB, remindAt, { companyId, validUntil: validUntil.toISOString() }, tx);
  }
}

/** Tells the Installer Admin that the service ends soon, unless it has been extended (or has ended) since the reminder was set. */
export async function remindOfExpiry(tx: Tx, outbox: MailOutbox, companyId: string, validUntil: string): Promise<void> {
  const [now] = await tx
    .select({ ...freeYearColumns, validUntil: coBrandings.validUntil })
    .from(companies)
    .leftJoin(coBrandings, eq(coBrandings.companyId, companies.id))
    .where(eq(companies.id, companyId));
  if (now?.validUntil?.toISOString() !== validUntil || now.validUntil <= new Date()) return;
  const body =
    `Your co-branding service ends on ${validUntil.slice(0, 10)}. Extend it on the Co-branding page so your customers keep ` +
    `seeing your brand${freeYearAvailable(now) ? ', or get your free year there' : ''}.`;
  await tellAccounts(
    tx,
    outbox,
    await accountsWithRole(tx, AccountRole.installerAdmin, companyId),
    { kind: 'co_branding.expiring', title: 'Co-branding ends soon', body, data: { validUntil } },
    () => ({ subject: 'Your co-branding service ends soon', text: `${body}\n` }),
  );
}

/**
 * The free year, once per company: checked and recorded under the company's co-branding lock, so two claims at once
 * cannot both pass. Refuses with the first condition not met.
 */
export async function claimFreeYear(tx: Tx, jobs: JobQueue, companyId: string, accountId: string): Promise<number> {
  await lockCoBranding(tx, companyId);
  const [terms] = await tx.select(freeYearColumns).from(companies).where(eq(companies.id, companyId));
  if (!terms) throw new AppError(404, CompanyErrorCode.companyNotFound, 'Company not found.');
  if (terms.claimed) throw new AppError(409, CoBrandingErrorCode.freeYearClaimed, 'Your company has had its free year of co-branding already.');
  if (terms.authStatus !== 'approved') throw new AppError(403, CompanyErrorCode.companyNotAuthenticated, 'Authenticate your company first: the free year is for authenticated companies.');
  if (!terms.offered) throw new AppError(403, CompanyErrorCode.featureUnavailable, "The free year of co-branding is not offered in your company's country or region.");
  if (terms.p2pDevices < FREE_YEAR_P2P_DEVICES) {
    throw new AppError(
      422,
      CoBrandingErrorCode.notEnoughP2pDevices,
      `The free year needs ${FREE_YEAR_P2P_DEVICES} devices added via P2P on your sites; your company has ${terms.p2pDevices}.`,
    );
  }
  await extendCoBranding(tx, jobs, companyId, accountId, [{ source: CoBrandingSource.freePromo, months: FREE_YEAR_MONTHS, details: { offer: 'Free year', p2pDevices: String(terms.p2pDevices) } }]);
  return terms.p2pDevices;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** What the bytes are by their signature: a PNG (signature and header chunk) or a JPEG (start of image marker). */
function imageTypeOf(bytes: Buffer): LogoContentType | null {
  if (bytes.length >= 24 && bytes.subarray(0, 8).equals(PNG_SIGNATURE) && bytes.toString('latin1', 12, 16) === 'IHDR') return 'image/png';
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  return null;
}

const TYPE_NAMES: Record<LogoContentType, string> = { 'image/png': 'PNG', 'image/jpeg': 'JPEG' };

/** The logo's bytes, checked: at most LOGO_MAX_BYTES, and really an image of the declared type. */
export function checkedLogo(contentType: LogoContentType, base64: string): Buffer {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length > LOGO_MAX_BYTES) {
    throw new AppError(422, CoBrandingErrorCode.logoTooLarge, `The logo is ${Math.ceil(bytes.length / 1024)} KB; it may be at most ${LOGO_MAX_BYTES / 1024} KB.`);
  }
  const actual = imageTypeOf(bytes);
  if (actual !== contentType) {
    throw new AppError(
      422,
      CoBrandingErrorCode.logoNotImage,
      actual === null ? `The file is not a ${TYPE_NAMES[contentType]} image: upload a PNG or JPEG logo.` : `The file is a ${TYPE_NAMES[actual]} image, not a ${TYPE_NAMES[contentType]}.`,
    );
  }
  return bytes;
}

/** A short fingerprint of the stored logo, for ETag and the versioned address. */
export const logoTag = (base64: string): string => sha256(base64).slice(0, 16);

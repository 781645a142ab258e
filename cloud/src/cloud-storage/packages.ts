import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { decoder } from '@vigil/protocol';
import { PackageOrderBodySchema, PackageOrigin, type Package, type PackageOrderBody } from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { cloudStorageChannels, storagePackages } from '../db/schema.js';

type PackageRow = typeof storagePackages.$inferSelect;
const specDecoder = decoder(PackageOrderBodySchema);

/** Channels of the package whose service runs now: an expired channel gives its place back. */
const usedChannels = sql<number>`(SELECT count(*)::int FROM ${cloudStorageChannels} WHERE ${cloudStorageChannels.packageId} = ${storagePackages.id} AND ${cloudStorageChannels.expiresAt} > now())`;

export const packageView = (p: PackageRow, used: number): Package => ({
  id: p.id,
  retentionDays: p.retentionDays as Package['retentionDays'],
  term: p.term as Package['term'],
  mode: p.mode as Package['mode'],
  origin: p.origin as Package['origin'],
  channels: p.channels,
  used,
  createdAt: p.createdAt.toISOString(),
});

export async function listPackages(db: Db, companyId: string): Promise<Package[]> {
  const rows = await db
    .select({ p: storagePackages, used: usedChannels })
    .from(storagePackages)
    .where(eq(storagePackages.companyId, companyId))
    .orderBy(asc(storagePackages.createdAt), asc(storagePackages.id));
  return rows.map((r) => packageView(r.p, r.used));
}

async function addPackage(db: Db, companyId: string, spec: PackageOrderBody, origin: PackageOrigin, createdBy: string | null): Promise<Package> {
  const [row] = await db
    .insert(storagePackages)
    .values({ companyId, retentionDays: spec.retentionDays, term: spec.term, mode: spec.mode, origin, channels: spec.channels, createdBy })
    .returning();
  return packageView(row!, 0);
}

/**
 * An order placed in the portal. No payment provider is connected: the order is recorded as bought and its
 * channels can be activated at once.
 */
export const orderPackage = (db: Db, companyId: string, spec: PackageOrderBody, accountId: string) =>
  addPackage(db, companyId, spec, PackageOrigin.purchased, accountId);

/**
 * A package given to a company rather than bought (a key redeemed, a promotion, the demo site): the same checks
 * as an order; throws on a spec an order would refuse.
 */
export async function grantPackage(db: Db, companyId: string, spec: PackageOrderBody): Promise<Package> {
  const checked = specDecoder.decode(spec);
  if (!checked.ok) throw new Error(`invalid cloud storage package: ${checked.error}`);
  return addPackage(db, companyId, checked.value, PackageOrigin.granted, null);
}

/** Whether a package of the company exists and how many of its channels run now; locks its row until the transaction ends. */
export async function lockPackage(tx: Tx, companyId: string, packageId: string) {
  const [row] = await tx
    .select()
    .from(storagePackages)
    .where(and(eq(storagePackages.id, packageId), eq(storagePackages.companyId, companyId)))
    .for('update');
  if (!row) return null;
  const [count] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(cloudStorageChannels)
    .where(and(eq(cloudStorageChannels.packageId, packageId), gt(cloudStorageChannels.expiresAt, sql`now()`)));
  return { row, used: count?.n ?? 0 };
}

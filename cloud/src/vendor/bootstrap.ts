import { eq, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { AccountRole } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { accounts, companies } from '../db/schema.js';
import { hashSecret } from '../security/secrets.js';

/** The type of the one company that holds the platform operator's accounts. */
export const VENDOR_COMPANY_TYPE = 'vendor';
/** Not a country: the operator's company is in no region and has no region's features. */
const VENDOR_COUNTRY = 'ZZ';
/** Any constant: two cloud nodes starting together create one operator company, not two. */
const BOOTSTRAP_LOCK = 724_312;

/**
 * Makes sure the configured vendor admin can sign in: the operator's company and the account exist, and the
 * account's password is the configured one (changing the configuration and restarting resets it).
 */
export async function ensureVendorAdmin(db: Db, admin: { email: string; password: string } | null, log: FastifyBaseLogger): Promise<void> {
  if (!admin) return;
  const passwordHash = await hashSecret(admin.password);
  await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`);
    const [existing] = await tx.select().from(accounts).where(sql`lower(${accounts.email}) = ${admin.email.toLowerCase()}`);
    if (existing) {
      if (existing.role !== AccountRole.vendorAdmin) {
        throw new Error(`VIGIL_VENDOR_ADMIN_EMAIL: ${admin.email} is an installer's account; choose another email for the vendor admin`);
      }
      await tx.update(accounts).set({ passwordHash, enabled: true }).where(eq(accounts.id, existing.id));
      return;
    }
    let [company] = await tx.select({ id: companies.id }).from(companies).where(eq(companies.type, VENDOR_COMPANY_TYPE)).limit(1);
    company ??= (await tx.insert(companies).values({ name: 'Platform operator', type: VENDOR_COMPANY_TYPE, countryCode: VENDOR_COUNTRY }).returning({ id: companies.id }))[0]!;
    await tx.insert(accounts).values({
      companyId: company.id,
      email: admin.email,
      name: 'Vendor admin',
      passwordHash,
      role: AccountRole.vendorAdmin,
      limited: false,
      source: 'config',
    });
    log.info({ email: admin.email }, 'vendor admin account created');
  });
}

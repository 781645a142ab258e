import { ErrorCode, OFFLINE_DELAY_DEFAULT_SEC, type CreateSiteBody } from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { siteManagers, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { Auth } from '../types.js';
import { requireGroupForNewSite } from '../site-groups/groups.js';
import { checkOfflineDelay } from './access.js';

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The checks a site's fields pass beyond the schema: a known time zone, an offline delay in range. */
export function checkSiteFields(body: Partial<CreateSiteBody>, minDelaySec: number): void {
  if (body.timeZone !== undefined && !isTimeZone(body.timeZone)) {
    throw new AppError(400, ErrorCode.invalidTimeZone, `Unknown time zone ${JSON.stringify(body.timeZone)}.`);
  }
  checkOfflineDelay(body.offlineDelaySec, minDelaySec);
}

export const siteNameTaken = (name: string) => new AppError(409, ErrorCode.siteNameTaken, `Your company already has a site named "${name.trim()}".`);

/** Translates the unique-name violation of a site insert or rename into the API's refusal. */
export function rethrowSiteError(err: unknown, name: string): never {
  if (isUniqueViolation(err, 'sites_company_name_key')) throw siteNameTaken(name);
  throw err;
}

/**
 * Creates a site of the caller's company (the fields checked first), its creator its Lifetime site manager. Inside
 * a transaction a taken name aborts the transaction: the caller translates the error with rethrowSiteError after it.
 */
export async function insertSite(db: Db | Tx, auth: Auth, body: CreateSiteBody, minDelaySec: number) {
  checkSiteFields(body, minDelaySec);
  return db.transaction(async (tx) => {
    await requireGroupForNewSite(tx, auth.companyId, body);
    const [site] = await tx
      .insert(sites)
      .values({
        ...body,
        name: body.name.trim(),
        companyId: auth.companyId,
        createdBy: auth.accountId,
        offlineDelaySec: body.offlineDelaySec ?? Math.max(OFFLINE_DELAY_DEFAULT_SEC, minDelaySec),
      })
      .returning();
    await tx.insert(siteManagers).values({ siteId: site!.id, accountId: auth.accountId, assignedBy: auth.accountId });
    return site!;
  });
}

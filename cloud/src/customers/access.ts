import { and, eq, or, sql, type SQL } from 'drizzle-orm';
import { CustomerSiteRelation, ErrorCode } from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { Auth } from '../types.js';

/**
 * The sites a customer may see: those it owns (an accepted transfer) and those of which it is an accepted sharing
 * recipient. Written out in SQL: inside a subquery Drizzle would leave the outer column unqualified.
 */
export function customerSiteScope(auth: Pick<Auth, 'accountId'>): SQL {
  return or(eq(sites.ownerAccountId, auth.accountId), sharedWith(auth))!;
}

const sharedWith = (auth: Pick<Auth, 'accountId'>): SQL =>
  sql`EXISTS (SELECT 1 FROM sharing_recipients sr WHERE sr.site_id = "sites"."id" AND sr.recipient_account_id = ${auth.accountId} AND sr.status = 'Accepted')`;

/** How the customer holds a site of its scope. */
export const relationTo = (site: { ownerAccountId: string | null }, auth: Pick<Auth, 'accountId'>): CustomerSiteRelation =>
  site.ownerAccountId === auth.accountId ? CustomerSiteRelation.owner : CustomerSiteRelation.shared;

export const customerSiteNotFound = () => new AppError(404, ErrorCode.siteNotFound, 'Site not found.');

/** A site the customer may see, with how it holds it; any other id is "not found". */
export async function customerSite(db: Db | Tx, auth: Pick<Auth, 'accountId'>, siteId: string) {
  const [site] = await db.select().from(sites).where(and(eq(sites.id, siteId), customerSiteScope(auth)));
  if (!site) throw customerSiteNotFound();
  return { site, relation: relationTo(site, auth) };
}

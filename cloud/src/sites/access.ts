import { and, eq, or, sql, type SQL } from 'drizzle-orm';
import { ErrorCode, OFFLINE_DELAY_MAX_SEC, Permission, type SiteOperation } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { FastifyRequest } from 'fastify';
import { requireAuth } from '../auth/plugin.js';
import type { Auth } from '../types.js';
import { requireSiteOperation } from './gate.js';

/**
 * Which sites a caller may see. Managing all sites covers the company; otherwise only the sites the employee
 * manages (§3.4.4: assigned, or created by it, until the assignment expires), and those it works on as a partner.
 */
export function siteScope(auth: Auth): SQL {
  const inCompany = eq(sites.companyId, auth.companyId);
  const own = auth.permissions.has(Permission.siteManageAll) ? inCompany : and(inCompany, managerOf(auth))!;
  return or(own, partnerOf(auth))!;
}

/** The caller is a site manager of the site whose assignment has not expired. */
const managerOf = (auth: Auth): SQL =>
  sql`EXISTS (SELECT 1 FROM site_managers sm WHERE sm.site_id = "sites"."id" AND sm.account_id = ${auth.accountId} AND (sm.expires_at IS NULL OR sm.expires_at > now()))`;

/**
 * Another company's site on which the caller is an active ISP/MSP partner (manual §3.4.5): the partner works on it
 * with its own role's permissions. Written out in SQL: inside a subquery Drizzle would leave the outer column unqualified.
 */
const partnerOf = (auth: Auth): SQL =>
  sql`EXISTS (SELECT 1 FROM site_collaborations sc WHERE sc.site_id = "sites"."id" AND sc.partner_account_id = ${auth.accountId} AND sc.status = 'active')`;

/**
 * Refuses an ISP/MSP partner what only the site's own company may do (manage the site's partners; edit or delete
 * the site itself, per the manual's authorization matrix).
 */
export function requireOwnCompanySite(auth: Auth, site: { companyId: string }): void {
  if (site.companyId !== auth.companyId) throw new AppError(403, ErrorCode.permissionDenied, "Only the site's own company may do this.");
}

/** Loads a site the caller may see; any other id, including another company's, is "not found". */
export async function visibleSite(db: Db, auth: Auth, siteId: string) {
  const [site] = await db.select().from(sites).where(and(eq(sites.id, siteId), siteScope(auth)));
  if (!site) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
  return site;
}

/** The manual's offline delay: 5 minutes (or the configured minimum) to 24 hours; null means "inherit". */
export function checkOfflineDelay(seconds: number | null | undefined, minSec: number): void {
  if (seconds === undefined || seconds === null) return;
  if (seconds < minSec || seconds > OFFLINE_DELAY_MAX_SEC) {
    const min = minSec % 60 === 0 ? `${minSec / 60} minutes` : `${minSec} seconds`;
    throw new AppError(400, ErrorCode.offlineDelayOutOfRange, `The offline delay must be from ${min} to 24 hours.`);
  }
}

/**
 * The site of the route's `:siteId` if the caller may see it (404 otherwise), recorded in the operation log; with
 * `op`, refused (409) when the site's status does not allow that operation of Table 3-12.
 */
export async function siteOfRequest(db: Db, request: FastifyRequest, op?: SiteOperation) {
  const site = await visibleSite(db, requireAuth(request), (request.params as { siteId: string }).siteId);
  request.oplog.siteId = site.id;
  request.oplog.siteName = site.name;
  if (op) requireSiteOperation(site, op);
  return site;
}

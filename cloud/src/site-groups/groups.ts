import { and, eq } from 'drizzle-orm';
import { SiteAdminErrorCode, SiteOperation, SiteType, type CreateSiteBody } from '@vigil/protocol/api';
import type { Tx } from '../db/client.js';
import { siteGroups } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { requireSiteOperation } from '../sites/gate.js';

export const groupNotFound = () => new AppError(404, SiteAdminErrorCode.siteGroupNotFound, 'Site group not found.');

const personalOnly = (name: string) => new AppError(422, SiteAdminErrorCode.groupPersonalOnly, `${name} is a team site: only personal sites are grouped.`);

/** The rules a site passes to join a group (§3.3.4, Table 3-12): a personal site whose status allows Move to Group. */
export function checkGroupable(site: { name: string; type: string; status: string }): void {
  if (site.type !== SiteType.personal) throw personalOnly(site.name);
  requireSiteOperation(site, SiteOperation.moveToGroup);
}

/** A group of the company, locked for the transaction; another company's is "not found". */
export async function lockGroup(tx: Tx, companyId: string, groupId: string) {
  const [group] = await tx
    .select()
    .from(siteGroups)
    .where(and(eq(siteGroups.id, groupId), eq(siteGroups.companyId, companyId)))
    .for('update');
  if (!group) throw groupNotFound();
  return group;
}

/** "Move to Group" while adding a site: a personal site, into a group of the company. */
export async function requireGroupForNewSite(tx: Tx, companyId: string, body: Pick<CreateSiteBody, 'name' | 'type' | 'groupId'>): Promise<void> {
  if (!body.groupId) return;
  await lockGroup(tx, companyId, body.groupId);
  if (body.type !== SiteType.personal) throw personalOnly(body.name.trim());
}

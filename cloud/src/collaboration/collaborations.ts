import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { CollaborationStatus, CollaborationType, SiteStatus, type Collaboration } from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { accounts, companies, siteCollaborations, sites } from '../db/schema.js';
import { notifyAccounts } from '../notifications/notify.js';

/** Of the two statuses Table 3-12 allows Site Collaboration in, each kind of partner has one: ISP before handover, MSP after it. */
export const STATUS_FOR_TYPE: Record<CollaborationType, SiteStatus> = {
  [CollaborationType.isp]: SiteStatus.notHandedOver,
  [CollaborationType.msp]: SiteStatus.authorizedAndMonitoring,
};

/** Invited or active: the partner holds (or may take) the site. */
export const OPEN_STATUSES: readonly CollaborationStatus[] = [CollaborationStatus.invited, CollaborationStatus.active];

const owner = alias(companies, 'owner_company');
const partner = alias(companies, 'partner_company');

/** Collaborations with the names a reader needs, newest first. */
export async function listCollaborations(db: Db, where: SQL): Promise<Collaboration[]> {
  const rows = await db
    .select({
      c: siteCollaborations,
      siteName: sites.name,
      ownerCompanyName: owner.name,
      partnerCompanyName: partner.name,
      partnerEmail: accounts.email,
    })
    .from(siteCollaborations)
    .innerJoin(sites, eq(sites.id, siteCollaborations.siteId))
    .innerJoin(owner, eq(owner.id, siteCollaborations.ownerCompanyId))
    .innerJoin(partner, eq(partner.id, siteCollaborations.partnerCompanyId))
    .innerJoin(accounts, eq(accounts.id, siteCollaborations.partnerAccountId))
    .where(where)
    .orderBy(desc(siteCollaborations.createdAt), desc(siteCollaborations.id));
  return rows.map(({ c, ...names }) => ({
    id: c.id,
    siteId: c.siteId,
    siteName: names.siteName,
    type: c.type as CollaborationType,
    status: c.status,
    ownerCompanyId: c.ownerCompanyId,
    ownerCompanyName: names.ownerCompanyName,
    partnerCompanyId: c.partnerCompanyId,
    partnerCompanyName: names.partnerCompanyName,
    partnerAccountId: c.partnerAccountId,
    partnerEmail: names.partnerEmail,
    createdAt: c.createdAt.toISOString(),
    decidedAt: c.decidedAt?.toISOString() ?? null,
  }));
}

export async function collaborationById(db: Db, id: string): Promise<Collaboration> {
  const [one] = await listCollaborations(db, eq(siteCollaborations.id, id));
  return one!;
}

/**
 * The site is handed over: its ISPs lose the site and its devices at once (manual §3.4.5), whether they had
 * accepted or not. Call it inside the handover's transaction. Returns the ended collaborations' ids.
 */
export async function endCollaborationsAtHandover(tx: Tx, siteId: string): Promise<string[]> {
  const ended = await tx
    .update(siteCollaborations)
    .set({ status: CollaborationStatus.ended, decidedAt: sql`now()` })
    .where(and(eq(siteCollaborations.siteId, siteId), eq(siteCollaborations.type, CollaborationType.isp), inArray(siteCollaborations.status, [...OPEN_STATUSES])))
    .returning({ id: siteCollaborations.id, partnerAccountId: siteCollaborations.partnerAccountId });
  if (ended.length > 0) {
    const [site] = await tx.select({ name: sites.name }).from(sites).where(eq(sites.id, siteId));
    await notifyAccounts(tx, [...new Set(ended.map((e) => e.partnerAccountId))], {
      kind: 'collaboration.ended',
      title: 'Site collaboration ended',
      body: `The site "${site?.name ?? ''}" has been handed over: your collaboration on it has ended.`,
      data: { siteId },
    });
  }
  return ended.map((e) => e.id);
}

import { and, eq, inArray, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import {
  DEVICE_PERMISSION_LABELS,
  HANDOVER_RESENDS_PER_DAY,
  HandoverStatus,
  PENDING_HANDOVER_STATUSES,
  SharingRecipientStatus,
  SiteStatus,
  VALIDITY_LABELS,
  type Handover,
  type HandoverOffer,
  type HandoverPermissionView,
  type Validity,
} from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { accounts, companies, devices, handovers, sharingRecipients, sites } from '../db/schema.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Recipient } from '../notifications/notify.js';

export type HandoverRow = typeof handovers.$inferSelect;
type AskedPermission = HandoverRow['permissions'][number];

export const HANDOVER_EXPIRY_JOB = 'handover.expire';

const pending = inArray(handovers.status, [...PENDING_HANDOVER_STATUSES]);

/**
 * Handovers past their time become Expired, and their sites, still waiting on them, NotHandedOver again. Run before
 * every read of a handover (so an expired one never counts as waiting) and by a job at each handover's expiry: one
 * statement, so a read with nothing to expire costs a single round trip.
 */
export async function expireHandovers(db: Db | Tx, where?: SQL): Promise<void> {
  const expired = db.$with('expired').as(
    db
      .update(handovers)
      .set({ status: HandoverStatus.expired, decidedAt: handovers.expiresAt })
      .where(and(pending, lte(handovers.expiresAt, sql`now()`), where))
      .returning({ siteId: handovers.siteId }),
  );
  await db
    .with(expired)
    .update(sites)
    .set({ status: SiteStatus.notHandedOver, updatedAt: new Date() })
    .where(and(inArray(sites.id, db.select({ siteId: expired.siteId }).from(expired)), inArray(sites.status, [SiteStatus.notRegistered, SiteStatus.toBeAccepted])));
}

/** Expires one handover at its time, even if nobody reads it (the installer's site list shows the status). */
export function scheduleHandoverExpiry(jobs: JobQueue, handover: { id: string; expiresAt: Date }, tx: Tx): Promise<void> {
  return jobs.schedule(`handover-expiry:${handover.id}`, HANDOVER_EXPIRY_JOB, handover.expiresAt, { id: handover.id }, tx);
}

/** The asked permissions with their devices' names (devices gone since are left out). */
export async function permissionViews(db: Db | Tx, asked: readonly AskedPermission[]): Promise<HandoverPermissionView[]> {
  const ids = [...new Set(asked.flatMap((p) => p.deviceIds))];
  const names = new Map(
    ids.length === 0 ? [] : (await db.select({ id: devices.id, name: devices.name }).from(devices).where(inArray(devices.id, ids))).map((d) => [d.id, d.name]),
  );
  return asked.map((p) => ({
    permission: p.permission as HandoverPermissionView['permission'],
    validity: p.validity as Validity,
    devices: p.deviceIds.filter((id) => names.has(id)).map((id) => ({ id, name: names.get(id)! })),
  }));
}

export async function handoverView(db: Db | Tx, row: HandoverRow): Promise<Handover> {
  return {
    id: row.id,
    siteId: row.siteId,
    channel: row.channel as Handover['channel'],
    recipient: row.recipient,
    customerName: row.customerName,
    remarks: row.remarks,
    permissions: await permissionViews(db, row.permissions),
    status: row.status as HandoverStatus,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
  };
}

/** What the customer reads: the site's own company named, never a partner's. */
export async function offerView(db: Db | Tx, row: HandoverRow, forMe: boolean): Promise<HandoverOffer> {
  const [names] = await db
    .select({ siteName: sites.name, companyName: companies.name })
    .from(sites)
    .innerJoin(companies, eq(companies.id, sites.companyId))
    .where(eq(sites.id, row.siteId));
  return {
    id: row.id,
    siteId: row.siteId,
    siteName: names!.siteName,
    companyName: names!.companyName,
    customerName: row.customerName,
    remarks: row.remarks,
    permissions: await permissionViews(db, row.permissions),
    status: row.status as HandoverStatus,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    forMe,
  };
}

/** The newest handover of a site. */
export async function latestHandover(db: Db | Tx, siteId: string): Promise<HandoverRow | undefined> {
  const [row] = await db.select().from(handovers).where(eq(handovers.siteId, siteId)).orderBy(sql`${handovers.createdAt} DESC, ${handovers.id} DESC`).limit(1);
  return row;
}

/** Resends left today: each resend invalidated one handover, on the site's calendar day. */
export async function resendsLeft(db: Db | Tx, site: { id: string; timeZone: string }): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(handovers)
    .where(
      and(
        eq(handovers.siteId, site.id),
        eq(handovers.status, HandoverStatus.invalidated),
        sql`(${handovers.decidedAt} AT TIME ZONE ${site.timeZone})::date = (now() AT TIME ZONE ${site.timeZone})::date`,
      ),
    );
  return Math.max(0, HANDOVER_RESENDS_PER_DAY - (row?.n ?? 0));
}

/** The account a handover or sharing sent to this email or phone is meant for, if one exists. */
export async function accountByContact(db: Db | Tx, channel: string, recipient: string) {
  const [account] = await db
    .select({ id: accounts.id, role: accounts.role, email: accounts.email, name: accounts.name })
    .from(accounts)
    .where(channel === 'phone' ? eq(accounts.phone, recipient) : sql`lower(${accounts.email}) = ${recipient.toLowerCase()}`);
  return account;
}

type Contact = { email: string; phone: string | null };

/** A handover or sharing recipient sent to the account's email or phone. */
const sentToContact = (t: typeof handovers | typeof sharingRecipients, account: Contact) =>
  or(
    and(eq(t.channel, 'email'), eq(t.recipient, account.email.toLowerCase())),
    account.phone ? and(eq(t.channel, 'phone'), eq(t.recipient, account.phone)) : undefined,
  );

/** A customer's waiting handovers: sent to it, or to its email or phone before it existed. */
export function waitingFor(account: Contact & { id: string }): SQL {
  return and(pending, or(eq(handovers.recipientAccountId, account.id), and(isNull(handovers.recipientAccountId), sentToContact(handovers, account))))!;
}

/**
 * A new customer takes over what was sent to its email or phone before it registered: handovers and sharing
 * recipients NotRegistered → ToBeAccepted, bound to the account, and the sites waiting on those handovers too.
 */
export async function bindWaitingToAccount(tx: Tx, account: Contact & { id: string }): Promise<void> {
  const bound = await tx
    .update(handovers)
    .set({ recipientAccountId: account.id, status: HandoverStatus.toBeAccepted })
    .where(and(eq(handovers.status, HandoverStatus.notRegistered), sql`${handovers.expiresAt} > now()`, sentToContact(handovers, account)))
    .returning({ siteId: handovers.siteId });
  if (bound.length > 0) {
    await tx
      .update(sites)
      .set({ status: SiteStatus.toBeAccepted, updatedAt: new Date() })
      .where(and(inArray(sites.id, bound.map((b) => b.siteId)), eq(sites.status, SiteStatus.notRegistered)));
  }
  await tx
    .update(sharingRecipients)
    .set({ recipientAccountId: account.id, status: SharingRecipientStatus.toBeAccepted })
    .where(and(eq(sharingRecipients.status, SharingRecipientStatus.notRegistered), sql`${sharingRecipients.expiresAt} > now()`, sentToContact(sharingRecipients, account)));
}

/** The country of the company whose handover or sharing waits for this email or phone (a new customer's default). */
export async function countryOfWaitingOffer(db: Db | Tx, account: Contact): Promise<string | null> {
  const [handover] = await db
    .select({ countryCode: companies.countryCode })
    .from(handovers)
    .innerJoin(companies, eq(companies.id, handovers.companyId))
    .where(and(eq(handovers.status, HandoverStatus.notRegistered), sentToContact(handovers, account)))
    .limit(1);
  if (handover) return handover.countryCode;
  const [sharing] = await db
    .select({ countryCode: companies.countryCode })
    .from(sharingRecipients)
    .innerJoin(sites, eq(sites.id, sharingRecipients.siteId))
    .innerJoin(companies, eq(companies.id, sites.companyId))
    .where(and(eq(sharingRecipients.status, SharingRecipientStatus.notRegistered), sentToContact(sharingRecipients, account)))
    .limit(1);
  return sharing?.countryCode ?? null;
}

/** Who at the installer company hears the customer's answer: the site's managers, its Installer Admin, the sender. */
export async function installersOfSite(db: Db | Tx, site: { id: string; companyId: string }, senderId: string | null): Promise<Recipient[]> {
  return db
    .select({ id: accounts.id, email: accounts.email, name: accounts.name })
    .from(accounts)
    .where(
      and(
        eq(accounts.enabled, true),
        or(
          sql`${accounts.id} IN (SELECT sm.account_id FROM site_managers sm WHERE sm.site_id = ${site.id} AND (sm.expires_at IS NULL OR sm.expires_at > now()))`,
          and(eq(accounts.role, 'installer_admin'), eq(accounts.companyId, site.companyId)),
          senderId ? eq(accounts.id, senderId) : undefined,
        ),
      ),
    );
}

/** The asked permissions in a sentence per line, for mails and text messages. */
export function describePermissions(views: readonly HandoverPermissionView[]): string {
  if (views.length === 0) return 'No permissions are asked for.';
  return views
    .map((p) => {
      const what = `${DEVICE_PERMISSION_LABELS[p.permission]} (${VALIDITY_LABELS[p.validity]})`;
      return p.devices.length === 0 ? `- ${what}` : `- ${what}: ${p.devices.map((d) => d.name).join(', ')}`;
    })
    .join('\n');
}

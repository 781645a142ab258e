import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { accounts, notifications } from '../db/schema.js';
import type { MailDraft, MailOutbox } from '../mail/outbox.js';

export interface NotificationDraft {
  kind: string;
  title: string;
  body: string;
  data?: Record<string, string>;
}

/** Someone to tell: an account's id for the Notification Center, its email and name for a mail. */
export interface Recipient {
  id: string;
  email: string;
  name: string;
}

/** Puts a message in each account's Notification Center (inside the caller's transaction when given one). */
export async function notifyAccounts(db: Pick<Db, 'insert'>, accountIds: readonly string[], draft: NotificationDraft): Promise<void> {
  if (accountIds.length === 0) return;
  await db.insert(notifications).values(accountIds.map((accountId) => ({ accountId, kind: draft.kind, title: draft.title, body: draft.body, data: draft.data ?? {} })));
}

/**
 * Tells accounts in their Notification Center and by mail, inside the caller's transaction: each mail is what
 * `mail` makes for its recipient (its kind the notification's unless given).
 */
export async function tellAccounts(
  tx: Pick<Db, 'insert'>,
  outbox: MailOutbox,
  to: readonly Recipient[],
  draft: NotificationDraft,
  mail: (to: Recipient) => Omit<MailDraft, 'to' | 'kind'> & { kind?: string },
): Promise<void> {
  await notifyAccounts(tx, to.map((a) => a.id), draft);
  for (const a of to) await outbox.send({ to: a.email, kind: draft.kind, ...mail(a) }, tx);
}

/** The enabled accounts of a role: a company's Installer Admin (`companyId` given), or the platform operator's staff. */
export async function accountsWithRole(db: Pick<Db, 'select'>, role: string, companyId?: string): Promise<Recipient[]> {
  return db
    .select({ id: accounts.id, email: accounts.email, name: accounts.name })
    .from(accounts)
    .where(and(eq(accounts.role, role), eq(accounts.enabled, true), companyId === undefined ? undefined : eq(accounts.companyId, companyId)))
    .orderBy(asc(accounts.createdAt));
}

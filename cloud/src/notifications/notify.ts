import type { Db } from '../db/client.js';
import { notifications } from '../db/schema.js';

export interface NotificationDraft {
  kind: string;
  title: string;
  body: string;
  data?: Record<string, string>;
}

/** Puts a message in each account's Notification Center (inside the caller's transaction when given one). */
export async function notifyAccounts(db: Pick<Db, 'insert'>, accountIds: readonly string[], draft: NotificationDraft): Promise<void> {
  if (accountIds.length === 0) return;
  await db.insert(notifications).values(accountIds.map((accountId) => ({ accountId, kind: draft.kind, title: draft.title, body: draft.body, data: draft.data ?? {} })));
}

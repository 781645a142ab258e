import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { Permission, type SiteManager } from '@vigil/protocol/api';
import { permissionsOf } from '../auth/sessions.js';
import type { Db, Tx } from '../db/client.js';
import { accounts, roles, siteManagers } from '../db/schema.js';
import type { Auth } from '../types.js';

/** The accounts that may be site managers: the company's enabled installer accounts. */
export const MANAGER_ROLES = ['installer_admin', 'installer'] as const;

/** Whether an account, as stored, holds Manage All Sites (an Installer Admin always does). */
export const holdsManageAll = (a: { role: string; limited: boolean; rolePermissions: string[] | null }): boolean =>
  permissionsOf(a.role as Auth['role'], a.limited, a.rolePermissions).includes(Permission.siteManageAll);

const accountColumns = {
  id: accounts.id,
  name: accounts.name,
  email: accounts.email,
  role: accounts.role,
  limited: accounts.limited,
  enabled: accounts.enabled,
  companyId: accounts.companyId,
  rolePermissions: roles.permissions,
};

/** Accounts with what deciding on them as managers needs. */
export async function managerAccounts(db: Db | Tx, accountIds: readonly string[]) {
  if (accountIds.length === 0) return [];
  return db.select(accountColumns).from(accounts).leftJoin(roles, eq(roles.id, accounts.roleId)).where(inArray(accounts.id, [...accountIds]));
}

/** The accounts a company may assign: enabled installers, by name. */
export async function managerCandidates(db: Db, companyId: string) {
  const rows = await db
    .select(accountColumns)
    .from(accounts)
    .leftJoin(roles, eq(roles.id, accounts.roleId))
    .where(and(eq(accounts.companyId, companyId), eq(accounts.enabled, true), inArray(accounts.role, [...MANAGER_ROLES])))
    .orderBy(asc(accounts.name), asc(accounts.email));
  return rows.map((a) => ({ accountId: a.id, name: a.name, email: a.email, manageAll: holdsManageAll(a) }));
}

/** The managers of each site, Lifetime ones first, then by the end of their validity. */
export async function managersOf(db: Db | Tx, siteIds: readonly string[]): Promise<Map<string, SiteManager[]>> {
  const bySite = new Map<string, SiteManager[]>(siteIds.map((id) => [id, []]));
  if (siteIds.length === 0) return bySite;
  const rows = await db
    .select({ m: siteManagers, a: accountColumns })
    .from(siteManagers)
    .innerJoin(accounts, eq(accounts.id, siteManagers.accountId))
    .leftJoin(roles, eq(roles.id, accounts.roleId))
    .where(inArray(siteManagers.siteId, [...siteIds]))
    .orderBy(sql`${siteManagers.expiresAt} ASC NULLS FIRST`, asc(accounts.name), asc(accounts.id));
  const now = Date.now();
  for (const { m, a } of rows) {
    bySite.get(m.siteId)?.push({
      accountId: a.id,
      name: a.name,
      email: a.email,
      expiresAt: m.expiresAt?.toISOString() ?? null,
      expired: m.expiresAt !== null && m.expiresAt.getTime() <= now,
      manageAll: holdsManageAll(a),
      assignedAt: m.assignedAt.toISOString(),
    });
  }
  return bySite;
}

/** "Lifetime" or the end of the validity, for notifications. */
export const validityText = (expiresAt: Date | null): string => (expiresAt ? `until ${expiresAt.toISOString().replace('T', ' ').slice(0, 16)} UTC` : 'Lifetime');

import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { ErrorCode, Permission, type AddOnReply, type Employee } from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { accounts, companies, employeeAddOnOrders, roles } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { requirePermission } from '../auth/plugin.js';

type AccountRow = typeof accounts.$inferSelect;

/** Every change to employees, roles and add-on slots needs "manage accounts and roles". */
export const manageAccounts = requirePermission(Permission.accountsManage);

/** Accounts of an installer company: its Installer Admin and its employees (never the vendor admin). */
export const COMPANY_ROLES = ['installer_admin', 'installer'] as const;

export const employeeView = (a: AccountRow, roleName: string | null): Employee => ({
  id: a.id,
  name: a.name,
  email: a.email,
  role: a.role === 'installer_admin' ? 'installer_admin' : 'installer',
  roleId: a.roleId,
  roleName,
  enabled: a.enabled,
  limited: a.role === 'installer' && a.limited,
  source: a.source,
  synced: a.synced,
  lastLoginAt: a.lastLoginAt?.toISOString() ?? null,
  createdAt: a.createdAt.toISOString(),
});

export async function listEmployees(db: Db, companyId: string): Promise<Employee[]> {
  const rows = await db
    .select({ account: accounts, roleName: roles.name })
    .from(accounts)
    .leftJoin(roles, eq(roles.id, accounts.roleId))
    .where(and(eq(accounts.companyId, companyId), inArray(accounts.role, [...COMPANY_ROLES])))
    .orderBy(sql`${accounts.role} = 'installer_admin' DESC`, asc(accounts.createdAt), asc(accounts.id));
  return rows.map((r) => employeeView(r.account, r.roleName));
}

/** Employees whose account limit is removed: each holds one slot. */
export async function usedSlots(db: Db | Tx, companyId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(accounts)
    .where(and(eq(accounts.companyId, companyId), eq(accounts.role, 'installer'), eq(accounts.limited, false)));
  return row?.n ?? 0;
}

export async function addOnOf(db: Db | Tx, companyId: string): Promise<AddOnReply> {
  const [company] = await db
    .select({ free: companies.freeEmployeeSlots, purchased: companies.purchasedEmployeeSlots })
    .from(companies)
    .where(eq(companies.id, companyId));
  const orders = await db
    .select()
    .from(employeeAddOnOrders)
    .where(eq(employeeAddOnOrders.companyId, companyId))
    .orderBy(desc(employeeAddOnOrders.createdAt), desc(employeeAddOnOrders.id));
  return {
    free: company?.free ?? 0,
    purchased: company?.purchased ?? 0,
    used: await usedSlots(db, companyId),
    orders: orders.map((o) => ({ id: o.id, quantity: o.quantity, createdAt: o.createdAt.toISOString() })),
  };
}

/** A name with its spaces trimmed, refused when nothing is left. */
export function nameOf(value: string, what = 'name'): string {
  const trimmed = value.trim();
  if (!trimmed) throw new AppError(400, ErrorCode.validationFailed, `The ${what} cannot be blank.`);
  return trimmed;
}

/** Refuses an email some account already has (any company): one account per email on the platform. */
export async function checkEmailFree(db: Db | Tx, email: string): Promise<void> {
  const [taken] = await db.select({ id: accounts.id }).from(accounts).where(sql`lower(${accounts.email}) = ${email.toLowerCase()}`);
  if (taken) throw new AppError(409, ErrorCode.emailTaken, 'An account with this email already exists.');
}

/** Who looks after a company's employees: its Installer Admin and the enabled holders of "manage accounts and roles". */
export async function accountManagers(db: Db | Tx, companyId: string) {
  return db
    .select({ id: accounts.id, email: accounts.email, role: accounts.role })
    .from(accounts)
    .leftJoin(roles, eq(roles.id, accounts.roleId))
    .where(
      and(
        eq(accounts.companyId, companyId),
        eq(accounts.enabled, true),
        sql`(${accounts.role} = 'installer_admin' OR (${accounts.role} = 'installer' AND ${roles.permissions} @> ARRAY[${Permission.accountsManage}]::text[]))`,
      ),
    );
}

import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import { ALL_PERMISSIONS, ErrorCode, Permission, type MeReply } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { accounts, companies, roles, sessions } from '../db/schema.js';
import { featuresOf } from '../regions/features.js';
import { AppError } from '../http/errors.js';
import type { Throttle } from '../security/throttle.js';
import { hashSecret, randomToken, sha256, verifySecret } from '../security/secrets.js';
import type { Auth } from '../types.js';

export const SESSION_COOKIE = 'vigil_session';
export const PORTAL_SESSION_DAYS = 7;

/** Spent on unknown emails too, so response time does not tell which emails have accounts. */
let decoyHash: Promise<string> | null = null;

export type SessionKind = 'portal' | 'api' | 'mobile';

export async function createSession(db: Db, accountId: string, kind: SessionKind, days: number, meta: { userAgent: string; ip: string }) {
  const token = randomToken(32);
  const expiresAt = new Date(Date.now() + days * 86_400_000);
  await db.insert(sessions).values({ tokenHash: sha256(token), accountId, kind, expiresAt, userAgent: meta.userAgent.slice(0, 256), ip: meta.ip });
  return { token, expiresAt };
}

export async function resolveSession(db: Db, token: string): Promise<Auth | null> {
  const tokenHash = sha256(token);
  const [row] = await db
    .select({ account: accounts, kind: sessions.kind, rolePermissions: roles.permissions })
    .from(sessions)
    .innerJoin(accounts, eq(accounts.id, sessions.accountId))
    .leftJoin(roles, eq(roles.id, accounts.roleId))
    .where(and(eq(sessions.tokenHash, tokenHash), gt(sessions.expiresAt, sql`now()`)));
  if (!row || !row.account.enabled) return null;
  const a = row.account;
  const role = roleOf(a.role);
  return {
    accountId: a.id,
    companyId: a.companyId,
    name: a.name,
    email: a.email,
    role,
    permissions: new Set(permissionsOf(role, a.limited, row.rolePermissions)),
    client: row.kind === 'api' || row.kind === 'mobile' ? row.kind : 'portal',
    tokenHash,
  };
}

/** Site, device and video permissions: what a limited account may not hold, whatever its role says. */
const MANAGEMENT_PERMISSIONS: ReadonlySet<string> = new Set([
  Permission.siteManageAll,
  Permission.siteManageAssigned,
  Permission.deviceManage,
  Permission.deviceConfigure,
  Permission.liveView,
  Permission.playback,
]);

const roleOf = (role: string): Auth['role'] => (role === 'installer_admin' || role === 'vendor_admin' || role === 'customer' ? role : 'installer');

/**
 * What an account may do: the Installer Admin everything, the vendor admin and customers none of an installer's permissions, an
 * employee its role's (names the platform no longer knows are ignored), without the management ones while limited.
 */
export function permissionsOf(role: Auth['role'], limited: boolean, rolePermissions: readonly string[] | null): Permission[] {
  if (role === 'installer_admin') return [...ALL_PERMISSIONS];
  if (role === 'vendor_admin' || role === 'customer') return [];
  const known = new Set<string>(ALL_PERMISSIONS);
  return (rolePermissions ?? []).filter((p): p is Permission => known.has(p) && !(limited && MANAGEMENT_PERMISSIONS.has(p)));
}

/** Ends every session of an account at once (disabled, removed, merged away). */
export async function endSessionsOf(db: Db, accountIds: readonly string[]): Promise<void> {
  if (accountIds.length > 0) await db.delete(sessions).where(inArray(sessions.accountId, [...accountIds]));
}

export async function endSession(db: Db, tokenHash: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.tokenHash, tokenHash));
}

/**
 * Checks an email and password, with a lockout after repeated failures per email.
 * Returns the account, or throws the refusal the caller should send.
 */
export async function checkPassword(db: Db, throttle: Throttle, email: string, password: string) {
  const key = `login:${email.toLowerCase()}`;
  const locked = await throttle.lockedFor(key);
  if (locked > 0) throw lockedError(locked);
  const [account] = await db.select().from(accounts).where(sql`lower(${accounts.email}) = ${email.toLowerCase()}`);
  decoyHash ??= hashSecret(randomToken());
  // Accounts of the company's identity provider have no password here: they fail like a wrong one.
  const ok = await verifySecret(password, account?.passwordHash ?? (await decoyHash));
  if (!account || !account.passwordHash || !ok) {
    const lockedNow = await throttle.fail(key);
    if (lockedNow > 0) throw lockedError(lockedNow);
    throw new AppError(401, ErrorCode.invalidCredentials, 'The email or password is incorrect.');
  }
  if (!account.enabled) throw new AppError(403, ErrorCode.accountDisabled, 'This account has been disabled by its company.');
  await throttle.reset(key);
  await db.update(accounts).set({ lastLoginAt: new Date() }).where(eq(accounts.id, account.id));
  return account;
}

function lockedError(seconds: number): AppError {
  const minutes = Math.ceil(seconds / 60);
  return new AppError(
    423,
    ErrorCode.accountLocked,
    `Too many failed attempts: signing in with this email is locked for ${minutes} minute${minutes === 1 ? '' : 's'}.`,
    { 'retry-after': String(seconds) },
  );
}

export async function meOf(db: Db, accountId: string) {
  const [row] = await db
    .select({ account: accounts, company: companies, rolePermissions: roles.permissions })
    .from(accounts)
    .innerJoin(companies, eq(companies.id, accounts.companyId))
    .leftJoin(roles, eq(roles.id, accounts.roleId))
    .where(eq(accounts.id, accountId));
  if (!row) throw new AppError(401, ErrorCode.unauthenticated, 'Sign in first.');
  const { account: a, company: c } = row;
  const role = roleOf(a.role);
  const limited = role === 'installer' && a.limited;
  return {
    account: { id: a.id, companyId: a.companyId, name: a.name, email: a.email, role, limited, synced: a.synced, createdAt: a.createdAt.toISOString() },
    company: {
      id: c.id,
      name: c.name,
      type: c.type as MeReply['company']['type'],
      countryCode: c.countryCode,
      authStatus: c.authStatus as MeReply['company']['authStatus'],
      createdAt: c.createdAt.toISOString(),
    },
    permissions: permissionsOf(role, a.limited, row.rolePermissions),
    features: role === 'vendor_admin' || role === 'customer' ? [] : await featuresOf(db, c.countryCode),
  } satisfies MeReply;
}

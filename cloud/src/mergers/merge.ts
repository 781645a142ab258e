import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import { ALL_PERMISSIONS, MergerFailure, MergerStatus } from '@vigil/protocol/api';
import type { Tx } from '../db/client.js';
import {
  accounts,
  companies,
  companyMergers,
  employeeInvitations,
  operationLogs,
  roles,
  siteCollaborations,
  sites,
  storagePackages,
} from '../db/schema.js';
import { endSessionsOf } from '../auth/sessions.js';
import { mergerBlocker } from './preconditions.js';

/** The role the invited company's Installer Admin takes in the initiating company (manual §3.4.6). */
export const ADMINISTRATOR_ROLE = 'Administrator';

export type MergeOutcome = { ok: true; invitedAccountIds: string[] } | { ok: false; reason: MergerFailure };

/**
 * Merges the invited company (B) into the initiator (A), all in the caller's transaction, after checking the
 * preconditions again with both companies' rows locked. On a failed precondition nothing is changed and the reason
 * is returned. A keeps its name, type, country, authentication and address; B's row is deleted.
 */
export async function runMerger(tx: Tx, merger: typeof companyMergers.$inferSelect): Promise<MergeOutcome> {
  if (!merger.invitedCompanyId) return { ok: false, reason: MergerFailure.notEligibleAccount };
  const ids = [merger.initiatorCompanyId, merger.invitedCompanyId];
  const locked = await tx.select().from(companies).where(inArray(companies.id, ids)).orderBy(asc(companies.id)).for('update');
  const a = locked.find((c) => c.id === merger.initiatorCompanyId);
  const b = locked.find((c) => c.id === merger.invitedCompanyId);
  if (!a || !b) return { ok: false, reason: MergerFailure.notEligibleAccount };
  const bAccounts = await tx.select().from(accounts).where(eq(accounts.companyId, b.id));
  const bAdmin = bAccounts.find((x) => x.role === 'installer_admin');
  if (!bAdmin) return { ok: false, reason: MergerFailure.notEligibleAccount };
  const reason = await mergerBlocker(tx, a, b);
  if (reason) return { ok: false, reason };

  // B's roles: a same-named role of A wins (only the initiator's information is kept); the others move to A as they are.
  const aRoles = await tx.select().from(roles).where(eq(roles.companyId, a.id));
  const byName = new Map(aRoles.map((r) => [r.name.toLowerCase(), r.id]));
  let administrator = byName.get(ADMINISTRATOR_ROLE.toLowerCase());
  if (!administrator) {
    const [created] = await tx.insert(roles).values({ companyId: a.id, name: ADMINISTRATOR_ROLE, permissions: [...ALL_PERMISSIONS] }).returning({ id: roles.id });
    administrator = created!.id;
  }
  for (const role of await tx.select().from(roles).where(eq(roles.companyId, b.id))) {
    const same = byName.get(role.name.toLowerCase()) ?? (role.name.toLowerCase() === ADMINISTRATOR_ROLE.toLowerCase() ? administrator : undefined);
    if (same) {
      await tx.update(accounts).set({ roleId: same }).where(eq(accounts.roleId, role.id));
      await tx.update(employeeInvitations).set({ roleId: same }).where(eq(employeeInvitations.roleId, role.id));
    } else await tx.update(roles).set({ companyId: a.id }).where(eq(roles.id, role.id));
  }

  // Emails are unique platform-wide, so no account can be in both companies: every one of B's accounts moves.
  // Every migrated account is limited whatever A's slots (manual); disabled ones stay disabled. B's identity
  // provider goes with B, so none of them stays synced.
  await tx
    .update(accounts)
    .set({ companyId: a.id, limited: true, source: 'merger', synced: false, externalId: null })
    .where(eq(accounts.companyId, b.id));
  await tx.update(accounts).set({ role: 'installer', roleId: administrator }).where(eq(accounts.id, bAdmin.id));

  // Registration links B sent are dead from now on; the rows move to A so the links answer "no longer valid".
  await tx
    .update(employeeInvitations)
    .set({ companyId: a.id, status: sql`CASE WHEN ${employeeInvitations.status} = 'pending' THEN 'revoked' ELSE ${employeeInvitations.status} END` })
    .where(eq(employeeInvitations.companyId, b.id));

  await tx.update(companies).set({ rewardPoints: a.rewardPoints + b.rewardPoints }).where(eq(companies.id, a.id));

  // B's sites (none handed over, none with devices) join A's; a name A already uses gets " (merged)".
  const taken = new Set((await tx.select({ name: sites.name }).from(sites).where(eq(sites.companyId, a.id))).map((s) => s.name.toLowerCase()));
  for (const site of await tx.select({ id: sites.id, name: sites.name }).from(sites).where(eq(sites.companyId, b.id))) {
    let name = site.name;
    for (let n = 1; taken.has(name.toLowerCase()); n++) name = `${site.name} (merged${n > 1 ? ` ${n}` : ''})`;
    taken.add(name.toLowerCase());
    await tx.update(sites).set({ companyId: a.id, name, updatedAt: new Date() }).where(eq(sites.id, site.id));
  }
  await tx.update(siteCollaborations).set({ ownerCompanyId: a.id }).where(eq(siteCollaborations.ownerCompanyId, b.id));
  await tx.update(siteCollaborations).set({ partnerCompanyId: a.id }).where(eq(siteCollaborations.partnerCompanyId, b.id));
  // Packages none of whose channels run: what is left of them is A's now.
  await tx.update(storagePackages).set({ companyId: a.id }).where(eq(storagePackages.companyId, b.id));
  await tx.update(operationLogs).set({ companyId: a.id }).where(eq(operationLogs.companyId, b.id));

  // Other mergers waiting for B's answer can never run.
  await tx
    .update(companyMergers)
    .set({ status: MergerStatus.failed, failureReason: MergerFailure.notEligibleAccount, decidedAt: sql`now()` })
    .where(and(eq(companyMergers.invitedCompanyId, b.id), eq(companyMergers.status, MergerStatus.pending), ne(companyMergers.id, merger.id)));
  await tx
    .update(companyMergers)
    .set({ status: MergerStatus.completed, initiatorAccepted: true, invitedAccepted: true, decidedAt: sql`now()` })
    .where(eq(companyMergers.id, merger.id));

  await endSessionsOf(tx, bAccounts.map((x) => x.id));
  // What else B held goes with its row: its authentication application, identity provider, join requests (never
  // approved, so never accounts), add-on orders and the mergers it initiated.
  await tx.delete(companies).where(eq(companies.id, b.id));
  return { ok: true, invitedAccountIds: bAccounts.map((x) => x.id) };
}

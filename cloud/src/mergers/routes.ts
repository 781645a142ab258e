import { IdParams } from '../http/params.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, desc, eq, or, sql, type SQL } from 'drizzle-orm';
import {
  AccountRole,
  CompanyErrorCode,
  MergerBodySchema,
  MergerFailure,
  MergerSchema,
  MergersReplySchema,
  MergerStatus,
  PartnerErrorCode,
  RegionFeature,
  VendorMergerBodySchema,
  type Merger,
} from '@vigil/protocol/api';
import { requireAuth, requireInstallerAdmin, requireVendorAdmin } from '../auth/plugin.js';
import type { Db, Tx } from '../db/client.js';
import { accounts, companies, companyMergers } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { accountsWithRole, notifyAccounts, tellAccounts, type Recipient } from '../notifications/notify.js';
import { requireFeature } from '../regions/features.js';
import { runMerger } from './merge.js';
import { FAILURE_TEXT, mergerBlocker } from './preconditions.js';

type Company = typeof companies.$inferSelect;

const failure = (reason: MergerFailure) => new AppError(422, reason, FAILURE_TEXT[reason]);
const notFound = () => new AppError(404, PartnerErrorCode.mergerNotFound, 'Merger not found.');

// The initiating company's Installer Admin, written out in SQL: inside a subquery Drizzle would leave the outer column unqualified.
const initiatorEmail = sql<string>`coalesce((SELECT a.email FROM accounts a WHERE a.company_id = "company_mergers"."initiator_company_id" AND a.role = 'installer_admin' ORDER BY a.created_at LIMIT 1), '')`;

/** The vendor admin's list: the newest mergers of every company. */
const VENDOR_LIST_LIMIT = 200;

async function listMergers(db: Db, where: SQL, limit?: number): Promise<Merger[]> {
  const query = db
    .select({ m: companyMergers, initiatorCompanyName: companies.name, initiatorEmail })
    .from(companyMergers)
    .innerJoin(companies, eq(companies.id, companyMergers.initiatorCompanyId))
    .where(where)
    .orderBy(desc(companyMergers.createdAt), desc(companyMergers.id))
    .$dynamic();
  const rows = await (limit ? query.limit(limit) : query);
  return rows.map(({ m, ...r }) => ({
    id: m.id,
    initiatedBy: m.initiatedBy as Merger['initiatedBy'],
    initiatorCompanyId: m.initiatorCompanyId,
    initiatorCompanyName: r.initiatorCompanyName,
    initiatorEmail: r.initiatorEmail,
    invitedCompanyId: m.invitedCompanyId,
    invitedCompanyName: m.invitedCompanyName,
    invitedEmail: m.invitedEmail,
    initiatorAccepted: m.initiatorAccepted,
    invitedAccepted: m.invitedAccepted,
    status: m.status,
    failureReason: m.failureReason,
    createdAt: m.createdAt.toISOString(),
    decidedAt: m.decidedAt?.toISOString() ?? null,
  }));
}

const mergerById = async (db: Db, id: string) => (await listMergers(db, eq(companyMergers.id, id)))[0]!;

/** A company's Installer Admin: who decides a merger and hears of it. */
const adminsOf = (db: Db | Tx, companyId: string) => accountsWithRole(db, AccountRole.installerAdmin, companyId);

/**
 * Merging companies (manual §3.4.6). A company's Installer Admin invites another company's, or the platform operator
 * pairs two companies (B, the invited, accepts first; then A). When both sides have accepted the merger runs in
 * one transaction; a precondition that no longer holds then leaves it `failed` with the reason, and the accepting
 * call is refused with 422 and that reason as the code.
 */
export async function mergerRoutes(app: FastifyInstance) {
  const { ctx } = app;

  async function tell(tx: Tx, to: Recipient[], kind: string, title: string, body: string, data: Record<string, string>, mail: boolean) {
    const draft = { kind, title, body, data };
    if (!mail) return notifyAccounts(tx, to.map((a) => a.id), draft);
    await tellAccounts(tx, ctx.mail, to, draft, () => ({ subject: title, text: `${body}\n\nSee it in the portal: ${ctx.publicUrl}/company/mergers\n` }));
  }

  /** Refuses a merger of B into A that cannot run; the region's feature too (both companies share the region by then). */
  async function check(a: Company, b: Company) {
    const reason = await mergerBlocker(ctx.db, a, b);
    if (reason) throw failure(reason);
    await requireFeature(ctx.db, { companyId: a.id }, RegionFeature.companyMerger);
    const [pending] = await ctx.db
      .select({ id: companyMergers.id })
      .from(companyMergers)
      .where(and(eq(companyMergers.invitedCompanyId, b.id), eq(companyMergers.status, MergerStatus.pending)));
    if (pending) throw new AppError(409, PartnerErrorCode.mergerState, `${b.name} already has a merger waiting for its answer.`);
  }

  const companyById = async (id: string) => (await ctx.db.select().from(companies).where(eq(companies.id, id)))[0];

  app.get('/company/mergers', { schema: { response: { 200: MergersReplySchema } }, preHandler: requireInstallerAdmin }, async (request) => {
    const { companyId } = requireAuth(request);
    return { items: await listMergers(ctx.db, or(eq(companyMergers.initiatorCompanyId, companyId), eq(companyMergers.invitedCompanyId, companyId))!) };
  });

  app.post(
    '/company/mergers',
    { schema: { body: MergerBodySchema, response: { 201: MergerSchema } }, preHandler: requireInstallerAdmin, config: { oplog: 'Invite Company to Merge' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const { invitedAdminEmail } = request.body as { invitedAdminEmail: string };
      request.oplog.target = invitedAdminEmail;
      await requireFeature(ctx.db, auth, RegionFeature.companyMerger);
      const [invited] = await ctx.db
        .select({ account: accounts, company: companies })
        .from(accounts)
        .innerJoin(companies, eq(companies.id, accounts.companyId))
        .where(sql`lower(${accounts.email}) = ${invitedAdminEmail.trim().toLowerCase()}`);
      if (!invited || invited.account.role !== 'installer_admin') throw failure(MergerFailure.notEligibleAccount);
      const a = (await companyById(auth.companyId))!;
      const b = invited.company;
      await check(a, b);
      const id = await ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(companyMergers)
          .values({ initiatedBy: 'company', initiatorCompanyId: a.id, invitedCompanyId: b.id, invitedCompanyName: b.name, invitedEmail: invited.account.email, initiatorAccepted: true })
          .returning({ id: companyMergers.id });
        await tell(
          tx,
          [invited.account],
          'merger.invitation',
          'Company merger invitation',
          `${a.name} (${auth.email}) invites your company ${b.name} to merge into it. Once you accept, your company and its accounts become part of ${a.name}.`,
          { mergerId: row!.id },
          true,
        );
        return row!.id;
      });
      return reply.status(201).send(await mergerById(ctx.db, id));
    },
  );

  app.get('/vendor/mergers', { schema: { response: { 200: MergersReplySchema } }, preHandler: requireVendorAdmin }, async () => ({
    items: await listMergers(ctx.db, sql`true`, VENDOR_LIST_LIMIT),
  }));

  app.post(
    '/vendor/mergers',
    { schema: { body: VendorMergerBodySchema, response: { 201: MergerSchema } }, preHandler: requireVendorAdmin, config: { oplog: 'Start Company Merger' } },
    async (request, reply) => {
      const body = request.body as { initiatorCompanyId: string; invitedCompanyId: string };
      const a = await companyById(body.initiatorCompanyId);
      const b = await companyById(body.invitedCompanyId);
      if (!a || !b || a.type === 'vendor') throw new AppError(404, CompanyErrorCode.companyNotFound, 'Company not found.');
      request.oplog.target = `${b.name} into ${a.name}`;
      const [bAdmin] = await adminsOf(ctx.db, b.id);
      if (!bAdmin) throw failure(MergerFailure.notEligibleAccount);
      await check(a, b);
      const id = await ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(companyMergers)
          .values({ initiatedBy: 'platform', initiatorCompanyId: a.id, invitedCompanyId: b.id, invitedCompanyName: b.name, invitedEmail: bAdmin.email, initiatorAccepted: false })
          .returning({ id: companyMergers.id });
        // The manual's platform message: B hears first; A only once B has accepted.
        await tell(
          tx,
          [bAdmin],
          'merger.invitation',
          'Company merger proposed by the platform',
          `The platform proposes to merge your company ${b.name} into ${a.name}. Accept or reject it under Company › Mergers.`,
          { mergerId: row!.id },
          false,
        );
        return row!.id;
      });
      return reply.status(201).send(await mergerById(ctx.db, id));
    },
  );

  /** The merger and the caller's side, or 404 for a company that is not a party; 409 unless it is that side's turn. */
  async function turnOf(tx: Tx, request: FastifyRequest) {
    const auth = requireAuth(request);
    const { id } = request.params as { id: string };
    const [m] = await tx
      .select()
      .from(companyMergers)
      .where(and(eq(companyMergers.id, id), or(eq(companyMergers.initiatorCompanyId, auth.companyId), eq(companyMergers.invitedCompanyId, auth.companyId))))
      .for('update');
    if (!m) throw notFound();
    request.oplog.target = m.invitedCompanyName;
    if (m.status !== MergerStatus.pending) throw new AppError(409, PartnerErrorCode.mergerState, `This merger is ${m.status} already.`);
    // The invited company answers first (and in a company's invitation the initiator has accepted by inviting).
    const awaited = !m.invitedAccepted ? m.invitedCompanyId : m.initiatorCompanyId;
    if (awaited !== auth.companyId) throw new AppError(409, PartnerErrorCode.mergerState, "This merger is waiting for the other company's answer.");
    return { m, side: auth.companyId === m.invitedCompanyId ? ('invited' as const) : ('initiator' as const) };
  }

  app.post(
    '/company/mergers/:id/accept',
    { schema: { params: IdParams, response: { 200: MergerSchema } }, preHandler: requireInstallerAdmin, config: { oplog: 'Accept Company Merger' } },
    async (request) => {
      const auth = requireAuth(request);
      const { id } = request.params as { id: string };
      let mergedAway: string[] = [];
      const failed = await ctx.db.transaction(async (tx) => {
        const { m, side } = await turnOf(tx, request);
        const accepted = { ...m, invitedAccepted: true, initiatorAccepted: side === 'initiator' || m.initiatorAccepted };
        if (!accepted.initiatorAccepted) {
          await tx.update(companyMergers).set({ invitedAccepted: true }).where(eq(companyMergers.id, id));
          const [a] = await tx.select({ name: companies.name }).from(companies).where(eq(companies.id, m.initiatorCompanyId));
          await tell(
            tx,
            await adminsOf(tx, m.initiatorCompanyId),
            'merger.invitation',
            'Company merger proposed by the platform',
            `The platform proposes to merge ${m.invitedCompanyName} into your company ${a?.name ?? ''}, and ${m.invitedCompanyName} has accepted. Accept or reject it under Company › Mergers.`,
            { mergerId: id },
            false,
          );
          return null;
        }
        const aAdmins = await adminsOf(tx, m.initiatorCompanyId);
        const bAdmins = await adminsOf(tx, m.invitedCompanyId!);
        const outcome = await runMerger(tx, accepted);
        if (!outcome.ok) {
          await tx
            .update(companyMergers)
            .set({ status: MergerStatus.failed, failureReason: outcome.reason, invitedAccepted: true, initiatorAccepted: true, decidedAt: sql`now()` })
            .where(eq(companyMergers.id, id));
          await tell(tx, [...aAdmins, ...bAdmins], 'merger.failed', 'Company merger failed', `The merger of ${m.invitedCompanyName} failed: ${FAILURE_TEXT[outcome.reason]}`, { mergerId: id }, true);
          return outcome.reason;
        }
        const [a] = await tx.select({ name: companies.name }).from(companies).where(eq(companies.id, m.initiatorCompanyId));
        await tell(
          tx,
          [...aAdmins, ...bAdmins],
          'merger.completed',
          'Company merger completed',
          `${m.invitedCompanyName} has been merged into ${a!.name}. Its accounts now sign in to ${a!.name}.`,
          { mergerId: id },
          true,
        );
        // The accepting account may have just moved into A: its line of the operation log belongs there too.
        if (side === 'invited') request.auth = { ...auth, companyId: m.initiatorCompanyId };
        mergedAway = outcome.invitedAccountIds;
        return null;
      });
      // B's accounts were signed out with the merger; their open event streams end with them.
      ctx.hub.endStreamsOf(mergedAway);
      if (failed) throw failure(failed);
      return mergerById(ctx.db, id);
    },
  );

  app.post(
    '/company/mergers/:id/reject',
    { schema: { params: IdParams, response: { 200: MergerSchema } }, preHandler: requireInstallerAdmin, config: { oplog: 'Reject Company Merger' } },
    async (request) => {
      const { id } = request.params as { id: string };
      await ctx.db.transaction(async (tx) => {
        const { m, side } = await turnOf(tx, request);
        await tx.update(companyMergers).set({ status: MergerStatus.rejected, decidedAt: sql`now()` }).where(eq(companyMergers.id, id));
        // The other side hears of it if it had said yes.
        const other = side === 'invited' ? (m.initiatorAccepted ? m.initiatorCompanyId : null) : m.invitedCompanyId;
        if (other) {
          await tell(tx, await adminsOf(tx, other), 'merger.rejected', 'Company merger rejected', `The merger of ${m.invitedCompanyName} has been rejected.`, { mergerId: id }, true);
        }
      });
      return mergerById(ctx.db, id);
    },
  );
}

import { IdParams } from '../http/params.js';
import type { FastifyInstance } from 'fastify';
import { and, asc, desc, eq, ne, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  CompanyErrorCode,
  EmployeeErrorCode,
  EmployeeSchema,
  EmployeeSource,
  ErrorCode,
  JoinRequestBodySchema,
  JoinRequestsReplySchema,
  passwordProblem,
  SIMILAR_NAME_MIN,
  SimilarCompaniesQuerySchema,
  SimilarCompaniesReplySchema,
  type JoinRequestBody,
} from '@vigil/protocol/api';
import { requireAuth } from '../auth/plugin.js';
import type { Tx } from '../db/client.js';
import { accounts, companies, joinRequests } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { notifyAccounts } from '../notifications/notify.js';
import { hashSecret } from '../security/secrets.js';
import { accountManagers, checkEmailFree, employeeView, manageAccounts, nameOf } from './service.js';

const SIMILAR_MAX = 10;
/** Words shorter than this ("&", "of") would match nearly every company. */
const WORD_MIN = 2;

/** A word as a literal inside an ILIKE pattern. */
const likeLiteral = (word: string) => word.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The words a similar company name is searched by (the whole name when it has no word long enough). */
export function searchWords(name: string): string[] {
  const words = name
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length >= WORD_MIN);
  return [...new Set(words.length > 0 ? words : [name.trim().toLowerCase()])].slice(0, 8);
}

/**
 * Self-registration (manual §3.4.2 step 1): an installer finds the company by a similar name and applies to join;
 * its Installer Admin and account managers are told, and an approval makes the account (limited, no role).
 */
export async function joinRequestRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const { db } = ctx;

  app.get(
    '/companies/similar',
    { schema: { querystring: SimilarCompaniesQuerySchema, response: { 200: SimilarCompaniesReplySchema } }, config: { public: true } },
    async (request) => {
      const name = (request.query as { name: string }).name.trim();
      if (name.length < SIMILAR_NAME_MIN) {
        throw new AppError(400, ErrorCode.validationFailed, `Type at least ${SIMILAR_NAME_MIN} characters of the company's name.`);
      }
      const matches = searchWords(name).map((w) => sql`(${companies.name} ILIKE ${`%${likeLiteral(w)}%`})::int`);
      const score = sql<number>`(${sql.join(matches, sql` + `)})`;
      const rows = await db
        .select({ id: companies.id, name: companies.name, countryCode: companies.countryCode })
        .from(companies)
        .where(and(ne(companies.type, 'vendor'), sql`${score} > 0`))
        .orderBy(desc(score), asc(companies.name), asc(companies.id))
        .limit(SIMILAR_MAX);
      return { items: rows };
    },
  );

  app.post(
    '/join-requests',
    { schema: { body: JoinRequestBodySchema, response: { 202: Type.Null() } }, config: { public: true, oplog: 'Apply to Join Company' } },
    async (request, reply) => {
      const body = request.body as JoinRequestBody;
      const email = body.email.trim();
      const name = nameOf(body.name);
      const [company] = await db.select().from(companies).where(and(eq(companies.id, body.companyId), ne(companies.type, 'vendor')));
      if (!company) throw new AppError(404, CompanyErrorCode.companyNotFound, 'Company not found.');
      request.oplog.actor = { accountId: null, companyId: company.id, name, email };
      request.oplog.target = company.name;
      const problem = passwordProblem(body.password, email);
      if (problem) throw new AppError(400, ErrorCode.passwordPolicy, problem);
      const passwordHash = await hashSecret(body.password);
      await db.transaction(async (tx) => {
        await checkEmailFree(tx, email);
        // Applying again replaces the earlier application to the same company.
        await tx
          .delete(joinRequests)
          .where(and(eq(joinRequests.companyId, company.id), eq(joinRequests.status, 'pending'), sql`lower(${joinRequests.email}) = ${email.toLowerCase()}`));
        const [row] = await tx.insert(joinRequests).values({ companyId: company.id, email, name, passwordHash }).returning({ id: joinRequests.id });
        const managers = await accountManagers(tx, company.id);
        await notifyAccounts(
          tx,
          managers.map((m) => m.id),
          { kind: 'employee.join_request', title: 'Request to join the company', body: `${name} (${email}) asks to join ${company.name}.`, data: { joinRequestId: row!.id } },
        );
        for (const admin of managers.filter((m) => m.role === 'installer_admin')) {
          await ctx.mail.send(
            {
              to: admin.email,
              kind: 'employee.join_request',
              subject: `${name} asks to join ${company.name}`,
              text: [
                `${name} (${email}) applied to join ${company.name} on Vigil as an employee.`,
                '',
                `Approve or reject the request under Company Management → Employees: ${ctx.publicUrl}/company/employees`,
              ].join('\n'),
            },
            tx,
          );
        }
      });
      return reply.status(202).send();
    },
  );

  app.get('/employees/join-requests', { schema: { response: { 200: JoinRequestsReplySchema } }, preHandler: manageAccounts }, async (request) => {
    const auth = requireAuth(request);
    const rows = await db
      .select({ id: joinRequests.id, name: joinRequests.name, email: joinRequests.email, createdAt: joinRequests.createdAt })
      .from(joinRequests)
      .where(and(eq(joinRequests.companyId, auth.companyId), eq(joinRequests.status, 'pending')))
      .orderBy(asc(joinRequests.createdAt), asc(joinRequests.id));
    return { items: rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })) };
  });

  /** The company's pending request, locked for the decision. */
  async function pendingRequest(tx: Tx, companyId: string, id: string) {
    const [row] = await tx
      .select()
      .from(joinRequests)
      .where(and(eq(joinRequests.id, id), eq(joinRequests.companyId, companyId), eq(joinRequests.status, 'pending')))
      .for('update');
    if (!row) throw new AppError(404, EmployeeErrorCode.joinRequestNotFound, 'No pending join request with this id.');
    return row;
  }

  const companyName = async (tx: Tx, companyId: string) =>
    (await tx.select({ name: companies.name }).from(companies).where(eq(companies.id, companyId)))[0]?.name ?? '';

  app.post(
    '/employees/join-requests/:id/approve',
    { schema: { params: IdParams, response: { 200: EmployeeSchema } }, preHandler: manageAccounts, config: { oplog: 'Approve Join Request' } },
    async (request) => {
      const auth = requireAuth(request);
      const { id } = request.params as { id: string };
      const account = await db.transaction(async (tx) => {
        const jr = await pendingRequest(tx, auth.companyId, id);
        request.oplog.target = `${jr.name} (${jr.email})`;
        await checkEmailFree(tx, jr.email);
        const [created] = await tx
          .insert(accounts)
          .values({
            companyId: auth.companyId,
            email: jr.email,
            name: jr.name,
            passwordHash: jr.passwordHash,
            role: 'installer',
            limited: true,
            source: EmployeeSource.joinRequest,
          })
          .returning();
        await tx.update(joinRequests).set({ status: 'approved', decidedBy: auth.accountId, decidedAt: new Date() }).where(eq(joinRequests.id, jr.id));
        const company = await companyName(tx, auth.companyId);
        await ctx.mail.send(
          {
            to: jr.email,
            kind: 'employee.join_request.approved',
            subject: `Welcome to ${company}`,
            text: `${company} approved your request to join it on Vigil. Sign in with your email and password: ${ctx.publicUrl}/login`,
          },
          tx,
        );
        return created!;
      });
      return employeeView(account, null);
    },
  );

  app.post(
    '/employees/join-requests/:id/reject',
    { schema: { params: IdParams, response: { 204: Type.Null() } }, preHandler: manageAccounts, config: { oplog: 'Reject Join Request' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const { id } = request.params as { id: string };
      await db.transaction(async (tx) => {
        const jr = await pendingRequest(tx, auth.companyId, id);
        request.oplog.target = `${jr.name} (${jr.email})`;
        await tx.update(joinRequests).set({ status: 'rejected', decidedBy: auth.accountId, decidedAt: new Date() }).where(eq(joinRequests.id, jr.id));
        const company = await companyName(tx, auth.companyId);
        await ctx.mail.send(
          {
            to: jr.email,
            kind: 'employee.join_request.rejected',
            subject: `Your request to join ${company}`,
            text: `${company} did not approve your request to join it on Vigil. Contact the company if you think this is a mistake.`,
          },
          tx,
        );
      });
      return reply.status(204).send();
    },
  );
}

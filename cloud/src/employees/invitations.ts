import { IdParams } from '../http/params.js';
import type { FastifyInstance } from 'fastify';
import { and, desc, eq, gt, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  AcceptInvitationBodySchema,
  EmployeeErrorCode,
  EmployeeSource,
  ErrorCode,
  INVITATION_DAYS,
  InvitationBodySchema,
  InvitationPreviewSchema,
  InvitationSchema,
  InvitationsReplySchema,
  MeReplySchema,
  passwordProblem,
  type AcceptInvitationBody,
  type Invitation,
  type InvitationBody,
} from '@vigil/protocol/api';
import { requireAuth } from '../auth/plugin.js';
import { startPortalSession } from '../auth/routes.js';
import { meOf } from '../auth/sessions.js';
import { accounts, companies, employeeInvitations } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { hashSecret, randomToken, sha256 } from '../security/secrets.js';
import { roleOf } from '../roles/routes.js';
import { checkEmailFree, manageAccounts, nameOf } from './service.js';

const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) });

type InvitationRow = typeof employeeInvitations.$inferSelect;

const invitationView = (i: InvitationRow): Invitation => ({
  id: i.id,
  email: i.email,
  roleId: i.roleId,
  status: i.status as Invitation['status'],
  expiresAt: i.expiresAt.toISOString(),
  createdAt: i.createdAt.toISOString(),
});

const invalid = (why: string) => new AppError(410, EmployeeErrorCode.invitationInvalid, `This invitation ${why}: ask the company for a new one.`);

/** The link's invitation, if it may still be used. */
function usable(row: InvitationRow | undefined): InvitationRow {
  if (!row) throw new AppError(404, EmployeeErrorCode.invitationNotFound, 'No invitation has this link.');
  if (row.status === 'accepted') throw invalid('has been used already');
  if (row.status !== 'pending') throw invalid('has been cancelled');
  if (row.expiresAt.getTime() <= Date.now()) throw invalid('has expired');
  return row;
}

/**
 * Invitations (manual §3.4.2 step 1): the company mails a registration link; whoever opens it in time creates an
 * employee account, limited and with the invitation's role, and is signed in.
 */
export async function invitationRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const { db } = ctx;

  app.post(
    '/employees/invitations',
    { schema: { body: InvitationBodySchema, response: { 201: InvitationSchema } }, preHandler: manageAccounts, config: { oplog: 'Invite Employee' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const body = request.body as InvitationBody;
      const email = body.email.trim();
      request.oplog.target = email;
      const token = randomToken(32);
      const created = await db.transaction(async (tx) => {
        await checkEmailFree(tx, email);
        const role = body.roleId ? await roleOf(tx, auth.companyId, body.roleId) : null;
        // One live link per person: a new invitation replaces the one sent before.
        await tx
          .update(employeeInvitations)
          .set({ status: 'revoked' })
          .where(and(eq(employeeInvitations.companyId, auth.companyId), eq(employeeInvitations.status, 'pending'), sql`lower(${employeeInvitations.email}) = ${email.toLowerCase()}`));
        const [row] = await tx
          .insert(employeeInvitations)
          .values({
            companyId: auth.companyId,
            email,
            roleId: role?.id ?? null,
            tokenHash: sha256(token),
            invitedBy: auth.accountId,
            expiresAt: new Date(Date.now() + INVITATION_DAYS * 86_400_000),
          })
          .returning();
        const [company] = await tx.select({ name: companies.name }).from(companies).where(eq(companies.id, auth.companyId));
        const link = `${ctx.publicUrl}/invitation/${token}`;
        await ctx.mail.send(
          {
            to: email,
            kind: 'employee.invitation',
            subject: `${company!.name} invites you to Vigil`,
            text: [
              `${auth.name} invites you to join ${company!.name} on Vigil as an employee.`,
              '',
              `Open this link within ${INVITATION_DAYS} days to create your account:`,
              link,
              '',
              'If you did not expect this invitation, ignore this email.',
            ].join('\n'),
          },
          tx,
        );
        return row!;
      });
      return reply.status(201).send(invitationView(created));
    },
  );

  app.get('/employees/invitations', { schema: { response: { 200: InvitationsReplySchema } }, preHandler: manageAccounts }, async (request) => {
    const auth = requireAuth(request);
    const rows = await db
      .select()
      .from(employeeInvitations)
      .where(and(eq(employeeInvitations.companyId, auth.companyId), eq(employeeInvitations.status, 'pending'), gt(employeeInvitations.expiresAt, sql`now()`)))
      .orderBy(desc(employeeInvitations.createdAt), desc(employeeInvitations.id));
    return { items: rows.map(invitationView) };
  });

  app.delete(
    '/employees/invitations/:id',
    { schema: { params: IdParams, response: { 204: Type.Null() } }, preHandler: manageAccounts, config: { oplog: 'Cancel Invitation' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const { id } = request.params as { id: string };
      const [row] = await db
        .update(employeeInvitations)
        .set({ status: 'revoked' })
        .where(and(eq(employeeInvitations.id, id), eq(employeeInvitations.companyId, auth.companyId), eq(employeeInvitations.status, 'pending')))
        .returning();
      if (!row) throw new AppError(404, EmployeeErrorCode.invitationNotFound, 'No pending invitation with this id.');
      request.oplog.target = row.email;
      return reply.status(204).send();
    },
  );

  // ---- the invited person's side (public: the link is the credential) -------------------------------

  app.get('/invitations/:token', { schema: { params: TokenParams, response: { 200: InvitationPreviewSchema } }, config: { public: true } }, async (request) => {
    const { token } = request.params as { token: string };
    const [row] = await db
      .select({ invitation: employeeInvitations, companyName: companies.name })
      .from(employeeInvitations)
      .innerJoin(companies, eq(companies.id, employeeInvitations.companyId))
      .where(eq(employeeInvitations.tokenHash, sha256(token)));
    const invitation = usable(row?.invitation);
    return { companyName: row!.companyName, email: invitation.email, expiresAt: invitation.expiresAt.toISOString() };
  });

  app.post(
    '/invitations/:token/accept',
    { schema: { params: TokenParams, body: AcceptInvitationBodySchema, response: { 200: MeReplySchema } }, config: { public: true, oplog: 'Accept Invitation' } },
    async (request, reply) => {
      const { token } = request.params as { token: string };
      const body = request.body as AcceptInvitationBody;
      const name = nameOf(body.name);
      const account = await db.transaction(async (tx) => {
        // Locked: the same link opened twice at once makes one account.
        const [row] = await tx.select().from(employeeInvitations).where(eq(employeeInvitations.tokenHash, sha256(token))).for('update');
        const invitation = usable(row);
        const problem = passwordProblem(body.password, invitation.email);
        if (problem) throw new AppError(400, ErrorCode.passwordPolicy, problem);
        await checkEmailFree(tx, invitation.email);
        const [created] = await tx
          .insert(accounts)
          .values({
            companyId: invitation.companyId,
            email: invitation.email,
            name,
            passwordHash: await hashSecret(body.password),
            role: 'installer',
            roleId: invitation.roleId,
            limited: true,
            source: EmployeeSource.invite,
            lastLoginAt: new Date(),
          })
          .returning();
        await tx.update(employeeInvitations).set({ status: 'accepted' }).where(eq(employeeInvitations.id, invitation.id));
        return created!;
      });
      request.oplog.actor = { accountId: account.id, companyId: account.companyId, name: account.name, email: account.email };
      request.oplog.target = account.email;
      await startPortalSession(app, request, reply, account.id);
      return meOf(db, account.id);
    },
  );
}

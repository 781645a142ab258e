import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import { ErrorCode, MeReplySchema, passwordProblem, RegisterBodySchema, type RegisterBody } from '@vigil/protocol/api';
import { accounts, companies } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { hashSecret } from '../security/secrets.js';
import { meOf } from '../auth/sessions.js';
import { startPortalSession } from '../auth/routes.js';
import { authenticationRoutes } from './authentication.js';
import { profileRoutes } from './profile.js';

export async function companyRoutes(app: FastifyInstance) {
  const { ctx } = app;
  await app.register(profileRoutes);
  await app.register(authenticationRoutes);

  /** Registers a company with its Installer Admin, who is signed in at once. */
  app.post(
    '/companies',
    { schema: { body: RegisterBodySchema, response: { 201: MeReplySchema } }, config: { public: true, oplog: 'Register Company' } },
    async (request, reply) => {
      const body = request.body as RegisterBody;
      const problem = passwordProblem(body.admin.password, body.admin.email);
      if (problem) throw new AppError(400, ErrorCode.passwordPolicy, problem);
      const passwordHash = await hashSecret(body.admin.password);
      const created = await ctx.db.transaction(async (tx) => {
        const [taken] = await tx.select({ id: accounts.id }).from(accounts).where(sql`lower(${accounts.email}) = ${body.admin.email.toLowerCase()}`);
        if (taken) throw new AppError(409, ErrorCode.emailTaken, 'An account with this email already exists.');
        const [company] = await tx
          .insert(companies)
          .values({ name: body.company.name.trim(), type: body.company.type, countryCode: body.company.countryCode })
          .returning();
        const [account] = await tx
          .insert(accounts)
          .values({
            companyId: company!.id,
            email: body.admin.email.trim(),
            name: body.admin.name.trim(),
            passwordHash,
            role: 'installer_admin',
            limited: false,
          })
          .returning();
        return { company: company!, account: account! };
      });
      request.oplog.actor = { accountId: created.account.id, companyId: created.company.id, name: created.account.name, email: created.account.email };
      request.oplog.target = created.company.name;
      await startPortalSession(app, request, reply, created.account.id);
      return reply.status(201).send(await meOf(ctx.db, created.account.id));
    },
  );
}

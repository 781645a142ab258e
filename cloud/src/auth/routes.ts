import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'drizzle-orm';
import Type from 'typebox';
import { LoginBodySchema, MeReplySchema, TokenBodySchema, TokenReplySchema } from '@vigil/protocol/api';
import { accounts } from '../db/schema.js';
import { checkPassword, createSession, endSession, meOf, PORTAL_SESSION_DAYS, SESSION_COOKIE } from './sessions.js';
import { requireAuth } from './plugin.js';

/** Sets the portal's session cookie: httpOnly, SameSite=Lax, Secure whenever the portal is served over HTTPS. */
export async function startPortalSession(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, accountId: string) {
  const { token, expiresAt } = await createSession(app.ctx.db, accountId, 'portal', PORTAL_SESSION_DAYS, {
    userAgent: request.headers['user-agent'] ?? '',
    ip: request.ip,
  });
  void reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https',
    expires: expiresAt,
  });
}

/** Attributes a sign-in attempt to the account it names, so failed attempts show in its company's log. */
async function actorFor(app: FastifyInstance, request: FastifyRequest, email: string) {
  const [a] = await app.ctx.db
    .select({ accountId: accounts.id, companyId: accounts.companyId, name: accounts.name, email: accounts.email })
    .from(accounts)
    .where(sql`lower(${accounts.email}) = ${email.toLowerCase()}`);
  if (a) request.oplog.actor = a;
}

export async function authRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.post(
    '/auth/login',
    { schema: { body: LoginBodySchema, response: { 200: MeReplySchema } }, config: { public: true, oplog: 'Login' } },
    async (request, reply) => {
      const { email, password } = request.body as { email: string; password: string };
      await actorFor(app, request, email);
      const account = await checkPassword(ctx.db, ctx.throttles.login, email, password);
      await startPortalSession(app, request, reply, account.id);
      return meOf(ctx.db, account.id);
    },
  );

  app.post(
    '/auth/token',
    { schema: { body: TokenBodySchema, response: { 201: TokenReplySchema } }, config: { public: true, oplog: 'Create API Token' } },
    async (request, reply) => {
      const { email, password, days, client } = request.body as { email: string; password: string; days?: number; client?: 'api' | 'mobile' };
      await actorFor(app, request, email);
      const account = await checkPassword(ctx.db, ctx.throttles.login, email, password);
      const session = await createSession(ctx.db, account.id, client ?? 'api', days ?? 30, { userAgent: request.headers['user-agent'] ?? '', ip: request.ip });
      return reply.status(201).send({ token: session.token, expiresAt: session.expiresAt.toISOString() });
    },
  );

  app.post('/auth/logout', { schema: { response: { 204: Type.Null() } }, config: { oplog: 'Logout' } }, async (request, reply) => {
    const auth = requireAuth(request);
    await endSession(ctx.db, auth.tokenHash);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send();
  });

  app.get('/me', { schema: { response: { 200: MeReplySchema } } }, async (request) => meOf(ctx.db, requireAuth(request).accountId));
}

import { IdParams } from '../http/params.js';
import type { FastifyInstance } from 'fastify';
import { and, count, desc, eq, isNull } from 'drizzle-orm';
import Type from 'typebox';
import { CompanyErrorCode, NotificationsReplySchema, type Notification } from '@vigil/protocol/api';
import { requireAuth } from '../auth/plugin.js';
import { notifications } from '../db/schema.js';
import { AppError } from '../http/errors.js';

/** The Notification Center shows the latest messages; older ones stay in the table. */
const LIST_LIMIT = 100;

const ListQuery = Type.Object({ unread: Type.Optional(Type.Integer({ minimum: 0, maximum: 1 })) }, { additionalProperties: false });

/** The caller's own in-app messages (manual §1.4: the Notification Center), newest first. */
export async function notificationRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/notifications', { schema: { querystring: ListQuery, response: { 200: NotificationsReplySchema } } }, async (request) => {
    const { accountId } = requireAuth(request);
    const { unread } = request.query as { unread?: number };
    const mine = eq(notifications.accountId, accountId);
    const unreadOnly = and(mine, isNull(notifications.readAt));
    const rows = await ctx.db
      .select()
      .from(notifications)
      .where(unread === 1 ? unreadOnly : mine)
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(LIST_LIMIT);
    const [counted] = await ctx.db.select({ n: count() }).from(notifications).where(unreadOnly);
    const items: Notification[] = rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      title: r.title,
      body: r.body,
      data: r.data,
      createdAt: r.createdAt.toISOString(),
      readAt: r.readAt?.toISOString() ?? null,
    }));
    return { items, unread: counted?.n ?? 0 };
  });

  /** Reading one's own messages is not an operation of the company: no log line. */
  app.post('/notifications/:id/read', { schema: { params: IdParams }, config: { oplog: false } }, async (request, reply) => {
    const { accountId } = requireAuth(request);
    const { id } = request.params as { id: string };
    const [row] = await ctx.db
      .select({ readAt: notifications.readAt })
      .from(notifications)
      .where(and(eq(notifications.id, id), eq(notifications.accountId, accountId)));
    if (!row) throw new AppError(404, CompanyErrorCode.notificationNotFound, 'Notification not found.');
    // Read once: a second call keeps the first time it was read.
    if (!row.readAt) await ctx.db.update(notifications).set({ readAt: new Date() }).where(eq(notifications.id, id));
    return reply.status(204).send();
  });
}

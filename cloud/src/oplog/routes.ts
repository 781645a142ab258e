import type { FastifyInstance } from 'fastify';
import { and, count, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import { OperationLogListSchema, OperationLogQuerySchema, Permission, type OperationLogQuery } from '@vigil/protocol/api';
import { operationLogs } from '../db/schema.js';
import { requireAuth } from '../auth/plugin.js';

export async function operationLogRoutes(app: FastifyInstance) {
  const { ctx } = app;

  /** The company's operation log; without account management, only the caller's own operations. */
  app.get('/operation-logs', { schema: { querystring: OperationLogQuerySchema, response: { 200: OperationLogListSchema } } }, async (request) => {
    const auth = requireAuth(request);
    const q = request.query as OperationLogQuery;
    const page = q.page ?? 1;
    const pageSize = q.pageSize ?? 50;
    const where: SQL[] = [eq(operationLogs.companyId, auth.companyId)];
    if (!auth.permissions.has(Permission.accountsManage)) where.push(eq(operationLogs.accountId, auth.accountId));
    else if (q.accountId) where.push(eq(operationLogs.accountId, q.accountId));
    if (q.siteId) where.push(eq(operationLogs.siteId, q.siteId));
    if (q.from) where.push(gte(operationLogs.at, new Date(q.from)));
    if (q.to) where.push(lte(operationLogs.at, new Date(q.to)));
    const [rows, [total]] = await Promise.all([
      ctx.db.select().from(operationLogs).where(and(...where)).orderBy(desc(operationLogs.id)).limit(pageSize).offset((page - 1) * pageSize),
      ctx.db.select({ n: count() }).from(operationLogs).where(and(...where)),
    ]);
    return {
      total: total?.n ?? 0,
      items: rows.map((r) => ({
        id: String(r.id),
        at: r.at.toISOString(),
        accountId: r.accountId,
        accountName: r.accountName,
        accountEmail: r.accountEmail,
        client: r.client,
        siteId: r.siteId,
        siteName: r.siteName,
        target: r.target,
        content: `${r.action} ${r.result === 'succeeded' ? 'Succeeded' : 'Failed'}`,
        result: r.result as 'succeeded' | 'failed',
        detail: r.detail,
      })),
    };
  });
}

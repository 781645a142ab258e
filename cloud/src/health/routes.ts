import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ping } from '../db/client.js';

const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  database: Type.Union([Type.Literal('ok'), Type.Literal('unreachable')]),
  edgesConnected: Type.Integer(),
});

export async function healthRoutes(app: FastifyInstance) {
  app.get('/health', { schema: { response: { 200: HealthSchema, 503: HealthSchema } }, config: { public: true } }, async (_request, reply) => {
    let database: 'ok' | 'unreachable' = 'ok';
    try {
      await ping(app.ctx.db);
    } catch {
      database = 'unreachable';
    }
    const body = { status: database === 'ok' ? ('ok' as const) : ('degraded' as const), database, edgesConnected: app.ctx.tunnel.connectedCount };
    return reply.status(database === 'ok' ? 200 : 503).send(body);
  });
}

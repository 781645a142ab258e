import type { FastifyInstance } from 'fastify';
import { requireAuth } from '../auth/plugin.js';

const KEEPALIVE_MS = 25_000;

/** Server-sent events: the portal learns at once when an edge or device of its company changes state. */
export async function liveRoutes(app: FastifyInstance) {
  app.get('/live', async (request, reply) => {
    const auth = requireAuth(request);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n: connected\n\n');
    const unsubscribe = app.ctx.hub.subscribe(auth.companyId, (event) => {
      res.write(`data: ${JSON.stringify(event)}\n\n`);
    });
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    const stop = () => {
      clearInterval(keepalive);
      unsubscribe();
      untrack();
    };
    // Disabling or removing the account ends its stream from this side.
    const untrack = app.ctx.hub.track(auth.accountId, () => {
      stop();
      res.end();
    });
    request.raw.on('close', stop);
  });
}

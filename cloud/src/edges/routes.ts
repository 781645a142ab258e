import { SiteParams } from '../http/params.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { eq } from 'drizzle-orm';
import Type from 'typebox';
import { EdgeInfoSchema, EdgeRebootResultSchema, RpcMethod } from '@vigil/protocol';
import {
  AddEdgeBodySchema,
  EdgeSchema,
  Permission,
  PresenceHistorySchema,
  SiteOperation,
  UpdateEdgeBodySchema,
  type AddEdgeBody,
  type UpdateEdgeBody,
} from '@vigil/protocol/api';
import { edges } from '../db/schema.js';
import { manageSites, requireAuth, requirePermission } from '../auth/plugin.js';
import { checkOfflineDelay, siteScope, siteOfRequest, visibleSite } from '../sites/access.js';
import { requireSiteOperation } from '../sites/gate.js';
import { edgeView } from './service.js';

const SerialParams = Type.Object({ serial: Type.String({ minLength: 1, maxLength: 64 }) });
const EdgeList = Type.Object({ items: Type.Array(EdgeSchema) });
const manageDevices = requirePermission(Permission.deviceManage);

export async function edgeRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/sites/:siteId/edges', { schema: { params: SiteParams, response: { 200: EdgeList } }, preHandler: manageSites }, async (request) => {
    const site = await visibleSite(ctx.db, requireAuth(request), (request.params as { siteId: string }).siteId);
    return { items: await ctx.edges.list(site.id, site.offlineDelaySec) };
  });

  app.post(
    '/sites/:siteId/edges',
    { schema: { params: SiteParams, body: AddEdgeBodySchema, response: { 201: EdgeSchema } }, preHandler: [manageSites, manageDevices], config: { oplog: 'Add Edge Box' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const body = request.body as AddEdgeBody;
      request.oplog.target = body.serial;
      const site = await siteOfRequest(ctx.db, request, SiteOperation.manageDevice);
      const edge = await ctx.edges.claim(auth, site, body);
      ctx.hub.publish(site.companyId, { type: 'edges.changed', siteId: site.id });
      return reply.status(201).send(edge);
    },
  );

  /** Loads the box for a route and names it in the operation log; with `op`, its site's status must allow it. */
  async function edgeFor(request: FastifyRequest, op?: SiteOperation) {
    const auth = requireAuth(request);
    const { serial } = request.params as { serial: string };
    request.oplog.target = serial;
    const row = await ctx.edges.visible(auth, serial, siteScope(auth));
    request.oplog.siteId = row.site.id;
    request.oplog.siteName = row.site.name;
    if (op) requireSiteOperation(row.site, op);
    return row;
  }

  app.get('/edges/:serial', { schema: { params: SerialParams, response: { 200: EdgeSchema } }, preHandler: manageSites }, async (request) => {
    const { edge, site } = await edgeFor(request);
    return edgeView(edge, site.offlineDelaySec);
  });

  app.patch(
    '/edges/:serial',
    { schema: { params: SerialParams, body: UpdateEdgeBodySchema, response: { 200: EdgeSchema } }, preHandler: [manageSites, manageDevices], config: { oplog: 'Edit Edge Box' } },
    async (request) => {
      const { edge, site } = await edgeFor(request, SiteOperation.manageDevice);
      const body = request.body as UpdateEdgeBody;
      checkOfflineDelay(body.offlineDelaySec, ctx.config.minOfflineDelaySec);
      const [updated] = await ctx.db.update(edges).set(body).where(eq(edges.serial, edge.serial)).returning();
      ctx.hub.publish(site.companyId, { type: 'edges.changed', siteId: site.id });
      return edgeView(updated!, site.offlineDelaySec);
    },
  );

  app.delete(
    '/edges/:serial',
    { schema: { params: SerialParams, response: { 204: Type.Null() } }, preHandler: [manageSites, manageDevices], config: { oplog: 'Delete Edge Box' } },
    async (request, reply) => {
      const { edge, site } = await edgeFor(request, SiteOperation.manageDevice);
      await ctx.edges.remove(edge.serial);
      ctx.hub.publish(site.companyId, { type: 'edges.changed', siteId: site.id });
      ctx.hub.publish(site.companyId, { type: 'devices.changed', siteId: site.id });
      return reply.status(204).send();
    },
  );

  app.get('/edges/:serial/history', { schema: { params: SerialParams, response: { 200: PresenceHistorySchema } }, preHandler: manageSites }, async (request) => {
    const { edge } = await edgeFor(request);
    return { items: await ctx.edges.history('edge', edge.serial) };
  });

  app.get('/edges/:serial/info', { schema: { params: SerialParams, response: { 200: EdgeInfoSchema } }, preHandler: manageSites }, async (request) => {
    const { edge } = await edgeFor(request);
    return ctx.tunnel.call(edge.serial, RpcMethod.edgeInfo, {}, ctx.config.rpcTimeoutMs);
  });

  app.post(
    '/edges/:serial/reboot',
    { schema: { params: SerialParams, response: { 202: EdgeRebootResultSchema } }, preHandler: [manageSites, manageDevices], config: { oplog: 'Reboot Edge Box' } },
    async (request, reply) => {
      const { edge } = await edgeFor(request, SiteOperation.manageDevice);
      const result = await ctx.tunnel.call(edge.serial, RpcMethod.edgeReboot, {}, ctx.config.rpcTimeoutMs);
      return reply.status(202).send(result);
    },
  );
}

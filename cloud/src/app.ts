import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import { AjvCompiler } from '@fastify/ajv-compiler';
import swagger from '@fastify/swagger';
import type { CloudConfig } from './config.js';
import type { CloudContext } from './context.js';
import { installAuth } from './auth/plugin.js';
import { alarmLogRoutes } from './alarms/routes.js';
import { arcRoutes } from './arc/routes.js';
import { authRoutes } from './auth/routes.js';
import { companyRoutes } from './companies/routes.js';
import { notificationRoutes } from './notifications/routes.js';
import { vendorRoutes } from './vendor/routes.js';
import { cloudStorageRoutes } from './cloud-storage/routes.js';
import { collaborationRoutes } from './collaboration/routes.js';
import { customerRoutes } from './customers/routes.js';
import { handoverRoutes } from './handover/routes.js';
import { siteGroupRoutes } from './site-groups/routes.js';
import { siteManagerRoutes } from './site-managers/routes.js';
import { deviceMoveRoutes } from './device-moves/routes.js';
import { sharingRoutes } from './sharing/routes.js';
import { mergerRoutes } from './mergers/routes.js';
import { grantRoutes } from './grants/routes.js';
import { deviceInvitationRoutes } from './device-invitations/routes.js';
import { coBrandingRoutes } from './cobranding/routes.js';
import { serviceKeyRoutes } from './service-keys/routes.js';
import { clipRoutes } from './clips/routes.js';
import { edgeClipRoutes } from './clips/edge-routes.js';
import { channelRoutes } from './devices/channels.js';
import { deviceRoutes } from './devices/routes.js';
import { edgeRoutes } from './edges/routes.js';
import { employeeRoutes } from './employees/routes.js';
import { healthRoutes } from './health/routes.js';
import { installErrorHandling } from './http/errors.js';
import { liveRoutes } from './live/routes.js';
import { activationRoutes } from './onsite/activations.js';
import { operationRoutes } from './onsite/operations.js';
import { addRoutes } from './onsite/add.js';
import { deviceDefaultsRoutes } from './onsite/defaults.js';
import { onsiteRoutes } from './onsite/routes.js';
import { operationLogRoutes } from './oplog/routes.js';
import { p2pRoutes } from './p2p/routes.js';
import { panelRoutes } from './panels/routes.js';
import { ipDomainRoutes } from './ipdomain/routes.js';
import { siteRoutes } from './sites/routes.js';
import { scimRoutes } from './sso/scim.js';
import { ssoRoutes } from './sso/routes.js';
import { videoRoutes } from './video/routes.js';

export const API_PREFIX = '/api/v1';

/**
 * Unknown fields are refused, not silently dropped. JSON bodies are typed already and are never coerced
 * ("300" is not a number); query strings and path parameters are text, so they are.
 */
function validatorFactory() {
  const pool = AjvCompiler();
  return (externalSchemas: unknown, options: { customOptions?: object }) => {
    const build = (coerceTypes: false | 'array') =>
      pool(externalSchemas as never, { ...options, customOptions: { ...options.customOptions, removeAdditional: false, allErrors: false, coerceTypes } } as never);
    const strict = build(false);
    const coercing = build('array');
    return (route: { httpPart?: string }) => (route.httpPart === 'body' ? strict : coercing)(route as never);
  };
}

/** The HTTP side of the cloud: the API, the portal's files, and the metrics. */
export async function buildApp(config: CloudConfig, makeContext: (app: FastifyInstance) => Promise<CloudContext>): Promise<FastifyInstance> {
  const app = Fastify({
    // Logs go to stderr: stdout carries only the ready line, for whoever started the process.
    logger: { level: config.logLevel, stream: process.stderr },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: false,
    ...(config.tls ? { https: { cert: config.tls.cert, key: config.tls.key } } : {}),
    schemaController: { compilersFactory: { buildValidator: validatorFactory() as never } },
  });
  // Only JSON bodies: a form or text body on the API is refused with 415 before any handler runs.
  app.removeContentTypeParser(['text/plain']);
  installErrorHandling(app, config.uiDir);
  app.decorate('ctx', await makeContext(app));
  await app.register(cookie);
  // Collects every route's schema into an OpenAPI document for integrators.
  await app.register(swagger, {
    openapi: {
      info: { title: 'Vigil API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'vigil_session' } } },
      security: [{ bearer: [] }, { session: [] }],
    },
  });
  installAuth(app);

  await app.register(
    async (api) => {
      await api.register(healthRoutes);
      await api.register(companyRoutes);
      await api.register(notificationRoutes);
      await api.register(vendorRoutes);
      await api.register(authRoutes);
      await api.register(siteRoutes);
      await api.register(edgeRoutes);
      await api.register(deviceRoutes);
      await api.register(channelRoutes);
      await api.register(onsiteRoutes);
      await api.register(activationRoutes);
      await api.register(operationRoutes);
      await api.register(addRoutes);
      await api.register(p2pRoutes);
      await api.register(panelRoutes);
      await api.register(ipDomainRoutes);
      await api.register(deviceDefaultsRoutes);
      await api.register(arcRoutes);
      await api.register(alarmLogRoutes);
      await api.register(operationLogRoutes);
      await api.register(liveRoutes);
      await api.register(videoRoutes);
      await api.register(edgeClipRoutes);
      await api.register(clipRoutes);
      await api.register(cloudStorageRoutes);
      await api.register(collaborationRoutes);
      await api.register(customerRoutes);
      await api.register(handoverRoutes);
      await api.register(siteGroupRoutes);
      await api.register(siteManagerRoutes);
      await api.register(deviceMoveRoutes);
      await api.register(sharingRoutes);
      await api.register(mergerRoutes);
      await api.register(grantRoutes);
      await api.register(deviceInvitationRoutes);
      await api.register(coBrandingRoutes);
      await api.register(serviceKeyRoutes);
      await api.register(employeeRoutes);
      await api.register(ssoRoutes);
      api.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: API_PREFIX },
  );

  // SCIM 2.0 for the companies' identity providers: outside /api, with its own bearer tokens and error format.
  await app.register(scimRoutes, { prefix: '/scim/v2' });

  app.get('/metrics', { config: { public: true } }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4').send(app.ctx.metrics.render()),
  );

  if (config.uiDir) {
    await app.register(fastifyStatic, { root: config.uiDir, prefix: '/', wildcard: false, index: ['index.html'] });
  }
  return app;
}

import type { FastifyInstance } from 'fastify';
import { arcEntrustedRoutes } from './entrusted-routes.js';
import { arcProfileRoutes } from './profile.js';
import { arcReceiverRoutes } from './receivers.js';
import { arcSiteRoutes } from './site-routes.js';

/** The ARC service (§4.12): the ARC list and each ARC's settings, installers' sites, ARCs' entrusted devices. */
export async function arcRoutes(app: FastifyInstance) {
  await app.register(arcProfileRoutes);
  await app.register(arcReceiverRoutes);
  await app.register(arcSiteRoutes);
  await app.register(arcEntrustedRoutes);
}

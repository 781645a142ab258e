import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { CompanyErrorCode, ErrorCode, Permission, SiteStatusErrorCode } from '@vigil/protocol/api';
import { operationLogs } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { Auth, OplogDraft } from '../types.js';
import { resolveSession, SESSION_COOKIE } from './sessions.js';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function bearer(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m?.[1] ?? null;
}

/** Refuses a cookie-carried unsafe request from another origin (the session cookie is SameSite=Lax too). */
function checkOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (!origin || !UNSAFE.has(request.method)) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    host = '';
  }
  if (host !== request.headers.host) {
    throw new AppError(403, ErrorCode.crossOrigin, 'Requests from another site are refused.');
  }
}

/**
 * Default deny: every /api route needs a signed-in caller unless it declares `config.public`.
 * Also writes the operation log for every route that declares `config.oplog`.
 */
export function installAuth(app: FastifyInstance): void {
  app.decorateRequest('auth', null);
  app.decorateRequest('oplog', null as unknown as OplogDraft);

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const mutating = methods.some((m) => UNSAFE.has(m));
    if (route.url.startsWith('/api/') && mutating && route.config?.oplog === undefined) {
      throw new Error(`${methods.join(',')} ${route.url} changes state but declares no operation-log action`);
    }
  });

  app.addHook('onRequest', async (request) => {
    request.oplog = {};
    if (!request.url.startsWith('/api/')) return;
    const token = bearer(request);
    if (token) {
      request.auth = await resolveSession(app.ctx.db, token);
      if (!request.auth) throw new AppError(401, ErrorCode.unauthenticated, 'The bearer token is invalid or has expired.');
    } else {
      const cookie = request.cookies[SESSION_COOKIE];
      if (cookie) {
        request.auth = await resolveSession(app.ctx.db, cookie);
        checkOrigin(request);
      }
    }
    if (!request.auth && !request.routeOptions.config.public && request.routeOptions.url) {
      throw new AppError(401, ErrorCode.unauthenticated, 'Sign in first.');
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const action = request.routeOptions.config.oplog;
    if (!action) return payload;
    await writeOplog(app, request, reply, action);
    return payload;
  });
}

/** Writes one line of the operation log now, for a route that logs only some of its calls. */
export async function writeOplog(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, action: string) {
  const who = request.auth ?? request.oplog.actor;
  if (!who) return; // nobody to attribute it to (an unknown email failing to sign in)
  const ok = reply.statusCode < 400;
  const d = request.oplog;
  try {
    await app.ctx.db.insert(operationLogs).values({
      companyId: who.companyId,
      accountId: who.accountId,
      accountName: who.name,
      accountEmail: who.email,
      client: request.auth?.client ?? (request.headers.authorization ? 'api' : 'portal'),
      siteId: d.siteId ?? null,
      siteName: d.siteName ?? '',
      target: d.target ?? '',
      action: d.action ?? action,
      result: ok ? 'succeeded' : 'failed',
      detail: d.detail ?? '',
      ip: request.ip,
    });
  } catch (err) {
    request.log.error({ err }, 'operation log write failed');
  }
}

export function requireAuth(request: FastifyRequest): Auth {
  if (!request.auth) throw new AppError(401, ErrorCode.unauthenticated, 'Sign in first.');
  return request.auth;
}

/** A route guard: the caller must hold at least one of the named permissions. */
export function requirePermission(...any: Permission[]): preHandlerAsyncHookHandler {
  return async (request) => {
    const auth = requireAuth(request);
    if (!any.some((p) => auth.permissions.has(p))) {
      throw new AppError(403, ErrorCode.permissionDenied, `This needs the permission ${any.join(' or ')}.`);
    }
  };
}

/** A route guard for a site's routes: Manage All Sites or Manage Assigned Sites (the route's site scope decides which sites). */
export const manageSites = requirePermission(Permission.siteManageAll, Permission.siteManageAssigned);

/** A route guard: only the company's Installer Admin (authentication, identity provider, mergers). */
export const requireInstallerAdmin: preHandlerAsyncHookHandler = async (request) => {
  if (requireAuth(request).role !== 'installer_admin') {
    throw new AppError(403, CompanyErrorCode.installerAdminOnly, "Only the company's Installer Admin may do this.");
  }
};

/** A route guard: only customers (site owners and sharing recipients, the end-user side). */
export const requireCustomer: preHandlerAsyncHookHandler = async (request) => {
  if (requireAuth(request).role !== 'customer') throw new AppError(403, SiteStatusErrorCode.customerOnly, 'Only a customer account may do this.');
};

/** A route guard: only the platform operator's vendor admin. */
export const requireVendorAdmin: preHandlerAsyncHookHandler = async (request) => {
  if (requireAuth(request).role !== 'vendor_admin') {
    throw new AppError(403, CompanyErrorCode.vendorOnly, "Only the platform operator's staff may do this.");
  }
};

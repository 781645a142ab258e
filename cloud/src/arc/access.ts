import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { eq } from 'drizzle-orm';
import { ArcErrorCode, CompanyType, ErrorCode } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { companies } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { requireAuth } from '../auth/plugin.js';
import type { Auth } from '../types.js';

/** The signed-in caller's company. */
export async function callerCompany(db: Db, auth: Auth) {
  const [company] = await db.select().from(companies).where(eq(companies.id, auth.companyId));
  if (!company) throw new AppError(401, ErrorCode.unauthenticated, 'Sign in first.');
  return company;
}

const isArcCompany = async (db: Db, request: FastifyRequest) => (await callerCompany(db, requireAuth(request))).type === CompanyType.alarmReceivingCenter;

/**
 * The two sides of the ARC service never use each other's routes: an ARC company manages what is entrusted to it,
 * every other company type entrusts its customers' panels (the manual's "installer or other users").
 */
export function arcSide(db: Db): preHandlerAsyncHookHandler {
  return async (request: FastifyRequest) => {
    if (!(await isArcCompany(db, request))) {
      throw new AppError(403, ArcErrorCode.arcCompanyOnly, 'Only alarm receiving center companies can do this.');
    }
  };
}

export function installerSide(db: Db): preHandlerAsyncHookHandler {
  return async (request: FastifyRequest) => {
    if (await isArcCompany(db, request)) {
      throw new AppError(403, ArcErrorCode.notForArcCompany, 'Alarm receiving center companies do not entrust devices to an ARC.');
    }
  };
}

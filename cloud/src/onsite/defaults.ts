import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { devicePasswordProblem, verificationCodeProblem } from '@vigil/protocol';
import { DeviceDefaultsSchema, ErrorCode, UpdateDeviceDefaultsBodySchema, type DeviceDefaults, type UpdateDeviceDefaultsBody } from '@vigil/protocol/api';
import { requireAuth } from '../auth/plugin.js';
import type { Db } from '../db/client.js';
import { deviceDefaults } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { Vault } from '../security/vault.js';

/** What a sealed value is bound to: one account's one field, so it opens nowhere else. */
const sealContext = (accountId: string, field: 'password' | 'verificationCode') => `device-defaults:${accountId}:${field}`;

export interface DeviceCredentials {
  password: string;
  /** '' when there is none. */
  verificationCode: string;
}

/** The installer's saved defaults in clear, or null when none are saved (or they no longer open with this key). */
export async function readDeviceDefaults(
  db: Db,
  vault: Vault,
  accountId: string,
  log?: { warn(o: object, m: string): void },
): Promise<(DeviceCredentials & { updatedAt: Date }) | null> {
  const [row] = await db.select().from(deviceDefaults).where(eq(deviceDefaults.accountId, accountId));
  if (!row) return null;
  try {
    return {
      password: vault.open(row.passwordSealed, sealContext(accountId, 'password')),
      verificationCode: vault.open(row.verificationCodeSealed, sealContext(accountId, 'verificationCode')),
      updatedAt: row.updatedAt,
    };
  } catch (err) {
    log?.warn({ err, accountId }, 'saved device defaults do not open with the secret key; treated as not saved');
    return null;
  }
}

/** Saves (replaces) the installer's defaults, sealed. */
export async function saveDeviceDefaults(db: Db, vault: Vault, accountId: string, creds: DeviceCredentials): Promise<Date> {
  const values = {
    passwordSealed: vault.seal(creds.password, sealContext(accountId, 'password')),
    verificationCodeSealed: vault.seal(creds.verificationCode, sealContext(accountId, 'verificationCode')),
    updatedAt: new Date(),
  };
  await db
    .insert(deviceDefaults)
    .values({ accountId, ...values })
    .onConflictDoUpdate({ target: deviceDefaults.accountId, set: values });
  return values.updatedAt;
}

/** The device password policy and, when one is given, the verification code policy. */
export function checkDevicePassword(password: string): void {
  const problem = devicePasswordProblem(password);
  if (problem) throw new AppError(400, ErrorCode.devicePasswordPolicy, `The device password is not acceptable: ${problem}.`);
}

export function checkVerificationCode(code: string, required: boolean): void {
  if (code === '' && !required) return;
  const problem = code === '' ? 'a verification code is required to enable the Hik-Connect service' : verificationCodeProblem(code);
  if (problem) throw new AppError(400, ErrorCode.verificationCodePolicy, `The verification code is not acceptable: ${problem}.`);
}

function view(saved: (DeviceCredentials & { updatedAt: Date }) | null): DeviceDefaults {
  return {
    hasPassword: saved !== null,
    verificationCode: saved && saved.verificationCode !== '' ? saved.verificationCode : null,
    updatedAt: saved ? saved.updatedAt.toISOString() : null,
  };
}

/** "Manage Default Device Password": each installer's own defaults, filled in when activating devices. */
export async function deviceDefaultsRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/me/device-defaults', { schema: { response: { 200: DeviceDefaultsSchema } } }, async (request) =>
    view(await readDeviceDefaults(ctx.db, ctx.vault, requireAuth(request).accountId, request.log)),
  );

  app.put(
    '/me/device-defaults',
    { schema: { body: UpdateDeviceDefaultsBodySchema, response: { 200: DeviceDefaultsSchema } }, config: { oplog: 'Edit Default Device Password' } },
    async (request) => {
      const auth = requireAuth(request);
      const body = request.body as UpdateDeviceDefaultsBody;
      request.oplog.target = auth.email;
      checkDevicePassword(body.password);
      checkVerificationCode(body.verificationCode, false);
      const updatedAt = await saveDeviceDefaults(ctx.db, ctx.vault, auth.accountId, body);
      return view({ ...body, updatedAt });
    },
  );
}

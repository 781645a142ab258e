import { randomBytes } from 'node:crypto';
import { asc, inArray } from 'drizzle-orm';
import { CoBrandingErrorCode, SERVICE_KEYS_PER_SUBMISSION, type ServiceType } from '@vigil/protocol/api';
import type { Tx } from '../db/client.js';
import { serviceKeys } from '../db/schema.js';
import { AppError } from '../http/errors.js';

/** Crockford's base 32: no I, L, O or U, so a key read aloud or retyped is not mistaken. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUPS = 4;
const GROUP_LENGTH = 4;
const LENGTH = GROUPS * GROUP_LENGTH;

const grouped = (symbols: string): string => symbols.match(new RegExp(`.{${GROUP_LENGTH}}`, 'g'))!.join('-');

/** A new key: 16 symbols of 5 random bits each (80 bits), as XXXX-XXXX-XXXX-XXXX. */
export function newServiceKey(): string {
  // 256 is a multiple of 32: the low five bits of a random byte are uniform.
  const symbols = [...randomBytes(LENGTH)].map((b) => ALPHABET[b & 31]).join('');
  return grouped(symbols);
}

/**
 * A key as typed, in its stored form: case, spaces and dashes do not matter, and the letters Crockford's alphabet
 * leaves out are read as the digits they look like. Null when it cannot be a key.
 */
export function normalizeServiceKey(typed: string): string | null {
  const symbols = typed
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (symbols.length !== LENGTH || [...symbols].some((c) => !ALPHABET.includes(c))) return null;
  return grouped(symbols);
}

const invalid = (message: string) => new AppError(422, CoBrandingErrorCode.serviceKeysInvalid, message);

/** The keys of a comma-separated submission, normalized; empty entries (a trailing comma) are ignored. */
export function parseServiceKeys(input: string): { typed: string; code: string | null }[] {
  const typed = input
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  if (typed.length === 0) throw invalid('Enter at least one service key.');
  if (typed.length > SERVICE_KEYS_PER_SUBMISSION) throw invalid(`Enter at most ${SERVICE_KEYS_PER_SUBMISSION} service keys at once (${typed.length} given).`);
  const keys = typed.map((t) => ({ typed: t, code: normalizeServiceKey(t) }));
  const seen = new Set<string>();
  for (const k of keys) {
    if (k.code === null) continue;
    if (seen.has(k.code)) throw invalid(`The service key ${k.code} is given twice.`);
    seen.add(k.code);
  }
  return keys;
}

/**
 * Marks every key of the submission redeemed by the company, or none: an unknown key (or one for another service)
 * → 404, a key redeemed before → 409. The keys' rows stay locked until the transaction ends, so two companies
 * cannot both redeem one key.
 */
export async function redeemServiceKeys(tx: Tx, input: string, serviceType: ServiceType, companyId: string) {
  const keys = parseServiceKeys(input);
  const codes = keys.map((k) => k.code).filter((c): c is string => c !== null);
  // Locked in the order of their codes: two submissions sharing keys wait for each other rather than deadlock.
  const rows = codes.length === 0 ? [] : await tx.select().from(serviceKeys).where(inArray(serviceKeys.code, codes)).orderBy(asc(serviceKeys.code)).for('update');
  const byCode = new Map(rows.map((r) => [r.code, r]));
  const unknown = keys.filter((k) => k.code === null || byCode.get(k.code)?.serviceType !== serviceType);
  if (unknown.length > 0) {
    const list = unknown.map((k) => k.typed).join(', ');
    throw new AppError(404, CoBrandingErrorCode.serviceKeyUnknown, `${unknown.length === 1 ? 'This service key is' : 'These service keys are'} not valid for this service: ${list}. Nothing was redeemed.`);
  }
  const used = rows.filter((r) => r.redeemedAt !== null);
  if (used.length > 0) {
    const list = used.map((r) => r.code).join(', ');
    throw new AppError(409, CoBrandingErrorCode.serviceKeyUsed, `${used.length === 1 ? 'This service key has' : 'These service keys have'} been redeemed already: ${list}. Nothing was redeemed.`);
  }
  const redeemedAt = new Date();
  await tx.update(serviceKeys).set({ redeemedByCompanyId: companyId, redeemedAt }).where(inArray(serviceKeys.code, codes));
  return codes.map((code) => ({ code, months: byCode.get(code)!.months }));
}

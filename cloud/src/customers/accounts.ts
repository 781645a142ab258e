import { AccountRole, CUSTOMER_COMPANY_TYPE, ErrorCode } from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { accounts, companies } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { hashSecret } from '../security/secrets.js';

export interface NewCustomer {
  name: string;
  email: string;
  /** E.164, when the customer gave one (a handover by phone finds the customer by it). */
  phone?: string | null;
  password: string;
  /** The customer's country (ISO 3166-1 alpha-2): that of the company whose handover brought it, by default. */
  countryCode: string;
}

/**
 * Creates a customer: an account of role `customer` in a company of its own (type `customer`), so the session,
 * sign-in and notifications of every other account serve it unchanged, and no installer permission reaches it.
 * The caller checks the password against the policy first.
 */
export async function createCustomerAccount(db: Db | Tx, c: NewCustomer) {
  const passwordHash = await hashSecret(c.password);
  try {
    return await db.transaction(async (tx) => {
      const [company] = await tx.insert(companies).values({ name: c.name, type: CUSTOMER_COMPANY_TYPE, countryCode: c.countryCode }).returning();
      const [account] = await tx
        .insert(accounts)
        .values({ companyId: company!.id, email: c.email.trim().toLowerCase(), name: c.name, phone: c.phone ?? null, passwordHash, role: AccountRole.customer, limited: false, source: 'register' })
        .returning();
      return account!;
    });
  } catch (err) {
    if (isUniqueViolation(err, 'accounts_email_key')) throw new AppError(409, ErrorCode.emailTaken, `An account with the email ${c.email} already exists.`);
    if (isUniqueViolation(err, 'accounts_phone_key')) throw new AppError(409, ErrorCode.phoneTaken, `An account with the phone number ${c.phone} already exists.`);
    throw err;
  }
}

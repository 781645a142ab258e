import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, asc, count, eq } from 'drizzle-orm';
import Type from 'typebox';
import {
  ARC_RECEIVERS_MAX,
  ArcErrorCode,
  ArcReceiverBodySchema,
  ArcReceiverListSchema,
  ArcReceiverSchema,
  Permission,
  receiverHostProblem,
  type ArcReceiver,
  type ArcReceiverBody,
  type ArcTransport,
} from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { arcReceivers } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import type { Vault } from '../security/vault.js';
import { arcSide } from './access.js';

/** One account of a receiver as stored: its DC-09 key sealed by the vault, or null for plain text. */
interface StoredAccount {
  accountNumber: string;
  keySealed: string | null;
}

type ReceiverRow = typeof arcReceivers.$inferSelect;
const ReceiverParams = Type.Object({ receiverId: Type.String({ format: 'uuid' }) });

// The key opens only for the receiver and account it was sealed for.
const keyContext = (receiverId: string, accountNumber: string) => `arc-receiver:${receiverId}:${accountNumber}`;
const storedAccounts = (r: ReceiverRow) => r.accounts as StoredAccount[];

function receiverView(r: ReceiverRow): ArcReceiver {
  return {
    id: r.id,
    name: r.name,
    host: r.host,
    port: r.port,
    transport: r.transport as ArcTransport,
    accounts: storedAccounts(r).map((a) => ({ accountNumber: a.accountNumber, encrypted: a.keySealed !== null })),
    createdAt: r.createdAt.toISOString(),
  };
}

const invalid = (message: string) => new AppError(422, ArcErrorCode.invalidReceiver, message);

/** Checks a receiver and seals its keys; an edit that sends no key keeps the one the account has. */
function receiverValues(vault: Vault, id: string, body: ArcReceiverBody, previous: StoredAccount[]) {
  const host = body.host.trim();
  const hostProblem = receiverHostProblem(host);
  if (hostProblem) throw invalid(hostProblem);
  const seen = new Set<string>();
  const accounts: StoredAccount[] = body.accounts.map((a) => {
    const accountNumber = a.accountNumber.toUpperCase();
    if (seen.has(accountNumber)) throw invalid(`Account ${accountNumber} is listed twice.`);
    seen.add(accountNumber);
    if (!a.encrypted) {
      if (a.key !== undefined) throw invalid(`Account ${accountNumber} is not encrypted, so it takes no key.`);
      return { accountNumber, keySealed: null };
    }
    if (a.key !== undefined) return { accountNumber, keySealed: vault.seal(a.key.toUpperCase(), keyContext(id, accountNumber)) };
    const kept = previous.find((p) => p.accountNumber === accountNumber)?.keySealed;
    if (!kept) throw invalid(`Enter the encryption key of account ${accountNumber}.`);
    return { accountNumber, keySealed: kept };
  });
  return { name: body.name.trim(), host, port: body.port, transport: body.transport, accounts };
}

export interface ReceiverTarget {
  receiverId: string;
  host: string;
  port: number;
  transport: ArcTransport;
  /** The account's DC-09 key (hex), or null to send in plain text. */
  encryptionKey: string | null;
}

/** Where the relay sends an account's events: the ARC's receivers in order, each with the account's key (or null). */
export async function receiverTargets(db: Db, vault: Vault, arcCompanyId: string, accountNumber: string): Promise<ReceiverTarget[]> {
  const rows = await db.select().from(arcReceivers).where(eq(arcReceivers.companyId, arcCompanyId)).orderBy(asc(arcReceivers.createdAt), asc(arcReceivers.id));
  return rows.map((r) => {
    const sealed = storedAccounts(r).find((a) => a.accountNumber === accountNumber)?.keySealed ?? null;
    return {
      receiverId: r.id,
      host: r.host,
      port: r.port,
      transport: r.transport as ArcTransport,
      encryptionKey: sealed === null ? null : vault.open(sealed, keyContext(r.id, accountNumber)),
    };
  });
}

export async function arcReceiverRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const arcOnly = arcSide(ctx.db);
  const admin = [arcOnly, requirePermission(Permission.accountsManage)];

  /** The route's receiver if it is the caller's; another ARC's is "not found". */
  async function own(request: FastifyRequest) {
    const { receiverId } = request.params as { receiverId: string };
    const companyId = requireAuth(request).companyId;
    const [row] = await ctx.db.select().from(arcReceivers).where(and(eq(arcReceivers.id, receiverId), eq(arcReceivers.companyId, companyId)));
    if (!row) throw new AppError(404, ArcErrorCode.receiverNotFound, 'Receiver not found.');
    return row;
  }

  app.get('/arc/receivers', { schema: { response: { 200: ArcReceiverListSchema } }, preHandler: arcOnly }, async (request) => {
    const rows = await ctx.db
      .select()
      .from(arcReceivers)
      .where(eq(arcReceivers.companyId, requireAuth(request).companyId))
      .orderBy(asc(arcReceivers.createdAt), asc(arcReceivers.id));
    return { items: rows.map(receiverView) };
  });

  app.post(
    '/arc/receivers',
    { schema: { body: ArcReceiverBodySchema, response: { 201: ArcReceiverSchema } }, preHandler: admin, config: { oplog: 'Add Receiver' } },
    async (request, reply) => {
      const companyId = requireAuth(request).companyId;
      const body = request.body as ArcReceiverBody;
      request.oplog.target = body.name;
      const id = randomUUID();
      const values = receiverValues(ctx.vault, id, body, []);
      const [existing] = await ctx.db.select({ n: count() }).from(arcReceivers).where(eq(arcReceivers.companyId, companyId));
      if ((existing?.n ?? 0) >= ARC_RECEIVERS_MAX) throw invalid(`An ARC has at most ${ARC_RECEIVERS_MAX} receivers.`);
      const [row] = await ctx.db.insert(arcReceivers).values({ id, companyId, ...values }).returning();
      ctx.alarms.arcChanged(companyId);
      return reply.status(201).send(receiverView(row!));
    },
  );

  app.put(
    '/arc/receivers/:receiverId',
    { schema: { params: ReceiverParams, body: ArcReceiverBodySchema, response: { 200: ArcReceiverSchema } }, preHandler: admin, config: { oplog: 'Edit Receiver' } },
    async (request) => {
      const current = await own(request);
      request.oplog.target = current.name;
      const values = receiverValues(ctx.vault, current.id, request.body as ArcReceiverBody, storedAccounts(current));
      const [row] = await ctx.db.update(arcReceivers).set(values).where(eq(arcReceivers.id, current.id)).returning();
      ctx.alarms.arcChanged(current.companyId);
      return receiverView(row!);
    },
  );

  app.delete(
    '/arc/receivers/:receiverId',
    { schema: { params: ReceiverParams, response: { 204: Type.Null() } }, preHandler: admin, config: { oplog: 'Delete Receiver' } },
    async (request, reply) => {
      const current = await own(request);
      request.oplog.target = current.name;
      await ctx.db.delete(arcReceivers).where(eq(arcReceivers.id, current.id));
      ctx.alarms.arcChanged(current.companyId);
      return reply.status(204).send();
    },
  );
}

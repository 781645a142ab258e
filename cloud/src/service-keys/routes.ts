import type { FastifyInstance } from 'fastify';
import { desc, eq } from 'drizzle-orm';
import {
  MintServiceKeysBodySchema,
  SERVICE_KEYS_LISTED,
  SERVICE_TYPE_LABELS,
  ServiceKeysReplySchema,
  type MintServiceKeysBody,
  type ServiceKey,
} from '@vigil/protocol/api';
import { requireVendorAdmin } from '../auth/plugin.js';
import type { Db } from '../db/client.js';
import { companies, serviceKeys } from '../db/schema.js';
import { newServiceKey } from './keys.js';

type KeyRow = typeof serviceKeys.$inferSelect;

const keyView = (k: KeyRow, companyName: string | null): ServiceKey => ({
  code: k.code,
  serviceType: k.serviceType as ServiceKey['serviceType'],
  months: k.months,
  redeemedByCompanyId: k.redeemedByCompanyId,
  redeemedByCompanyName: companyName,
  redeemedAt: k.redeemedAt?.toISOString() ?? null,
  createdAt: k.createdAt.toISOString(),
});

async function listKeys(db: Db): Promise<ServiceKey[]> {
  const rows = await db
    .select({ key: serviceKeys, companyName: companies.name })
    .from(serviceKeys)
    .leftJoin(companies, eq(companies.id, serviceKeys.redeemedByCompanyId))
    .orderBy(desc(serviceKeys.createdAt), desc(serviceKeys.code))
    .limit(SERVICE_KEYS_LISTED);
  return rows.map((r) => keyView(r.key, r.companyName));
}

/** Service keys (manual §3.3.3): the platform operator mints them for distributors to sell; companies redeem them. */
export async function serviceKeyRoutes(app: FastifyInstance) {
  const { ctx } = app;
  // The operator's alone: installers and customers are refused before their input is read.
  app.addHook('onRequest', requireVendorAdmin);

  app.get('/vendor/service-keys', { schema: { response: { 200: ServiceKeysReplySchema } } }, async () => ({ items: await listKeys(ctx.db) }));

  app.post(
    '/vendor/service-keys',
    { schema: { body: MintServiceKeysBodySchema, response: { 201: ServiceKeysReplySchema } }, config: { oplog: 'Generate Service Keys' } },
    async (request, reply) => {
      const body = request.body as MintServiceKeysBody;
      request.oplog.detail = `${body.count} × ${SERVICE_TYPE_LABELS[body.serviceType]}, ${body.months} months`;
      const minted: KeyRow[] = [];
      // A code drawn twice (80 random bits: practically never) is drawn again rather than failing the batch.
      while (minted.length < body.count) {
        const codes = Array.from({ length: body.count - minted.length }, newServiceKey);
        minted.push(
          ...(await ctx.db
            .insert(serviceKeys)
            .values(codes.map((code) => ({ code, serviceType: body.serviceType, months: body.months })))
            .onConflictDoNothing()
            .returning()),
        );
      }
      return reply.status(201).send({ items: minted.map((k) => keyView(k, null)) });
    },
  );
}

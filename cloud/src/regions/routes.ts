import type { FastifyInstance } from 'fastify';
import { asc, eq, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  ALL_REGION_FEATURES,
  ErrorCode,
  REGION_FEATURE_LABELS,
  RegionFeaturesBodySchema,
  RegionMatrixSchema,
  RegionRowSchema,
  type RegionFeature,
  type RegionFeaturesBody,
  type RegionRow,
} from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { regionFeatures } from '../db/schema.js';
import { AppError } from '../http/errors.js';

const CountryParams = Type.Object({ countryCode: Type.String({ pattern: '^[A-Z]{2}$' }) });

type MatrixRow = typeof regionFeatures.$inferSelect;

/** Each country's row: every feature, on unless the matrix switches it off. */
function rowsOf(cells: readonly MatrixRow[]): RegionRow[] {
  const byCountry = new Map<string, Record<string, boolean>>();
  for (const cell of cells) {
    let row = byCountry.get(cell.countryCode);
    if (!row) byCountry.set(cell.countryCode, (row = Object.fromEntries(ALL_REGION_FEATURES.map((f) => [f, true]))));
    if (cell.feature in row) row[cell.feature] = cell.enabled;
  }
  return [...byCountry].map(([countryCode, features]) => ({ countryCode, features }));
}

async function regionRow(db: Db, countryCode: string): Promise<RegionRow> {
  const cells = await db.select().from(regionFeatures).where(eq(regionFeatures.countryCode, countryCode));
  return rowsOf(cells)[0] ?? { countryCode, features: Object.fromEntries(ALL_REGION_FEATURES.map((f) => [f, true])) };
}

/**
 * The region × feature matrix (manual §1.3.1, Tables 1-1 and 1-2), kept by the platform operator. Registered inside
 * the vendor's routes, which admit the vendor admin only.
 */
export async function regionRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/vendor/regions', { schema: { response: { 200: RegionMatrixSchema } } }, async () => {
    const cells = await ctx.db.select().from(regionFeatures).orderBy(asc(regionFeatures.countryCode));
    return { features: ALL_REGION_FEATURES.map((key) => ({ key, label: REGION_FEATURE_LABELS[key] })), rows: rowsOf(cells) };
  });

  app.put(
    '/vendor/regions/:countryCode',
    { schema: { params: CountryParams, body: RegionFeaturesBodySchema, response: { 200: RegionRowSchema } }, config: { oplog: 'Edit Region Features' } },
    async (request) => {
      const { countryCode } = request.params as { countryCode: string };
      const { features } = request.body as RegionFeaturesBody;
      const known = new Set<string>(ALL_REGION_FEATURES);
      const unknown = Object.keys(features).filter((f) => !known.has(f));
      if (unknown.length > 0) throw new AppError(422, ErrorCode.validationFailed, `No such feature: ${unknown.join(', ')}. The features are ${ALL_REGION_FEATURES.join(', ')}.`);
      const cells = Object.entries(features).map(([feature, enabled]) => ({ countryCode, feature: feature as RegionFeature, enabled, updatedAt: new Date() }));
      await ctx.db
        .insert(regionFeatures)
        .values(cells)
        .onConflictDoUpdate({ target: [regionFeatures.countryCode, regionFeatures.feature], set: { enabled: sql`excluded.enabled`, updatedAt: sql`excluded.updated_at` } });
      request.oplog.target = countryCode;
      request.oplog.detail = cells.map((c) => `${REGION_FEATURE_LABELS[c.feature]}: ${c.enabled ? 'on' : 'off'}`).join('; ');
      return regionRow(ctx.db, countryCode);
    },
  );
}

import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';

export interface SeededEdge {
  serial: string;
  username: string;
  clientId: string;
  password: string;
}

/**
 * Claimed, provisioned edges in one company and site, written straight into the cloud's database: the
 * cloud looks the secret's SHA-256 up at each login, so no claim round trip is needed. The cloud must
 * have started once (it applies the migrations).
 */
export async function seedEdges(databaseUrl: string, count: number, prefix: string): Promise<SeededEdge[]> {
  const edges = Array.from({ length: count }, (_, i) => {
    const serial = `${prefix}${String(i + 1).padStart(6, '0')}`;
    return { serial, username: `edge:${serial}`, clientId: `edge:${serial}`, password: randomBytes(24).toString('base64url') };
  });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const company = await client.query<{ id: string }>(
      `INSERT INTO companies (name, type, country_code) VALUES ('Bench Security Ltd', 'installer', 'GB') RETURNING id`,
    );
    const companyId = company.rows[0]!.id;
    const site = await client.query<{ id: string }>(
      `INSERT INTO sites (company_id, name, type, time_zone, offline_delay_sec) VALUES ($1, 'Bench site', 'team', 'Europe/London', 300) RETURNING id`,
      [companyId],
    );
    const siteId = site.rows[0]!.id;
    await client.query(
      `INSERT INTO edges (serial, company_id, site_id, name, secret_hash, provisioned_at, claimed_at, status)
       SELECT s, $1, $2, 'Bench box ' || s, h, now(), now(), 'offline'
       FROM unnest($3::text[], $4::text[]) AS t(s, h)`,
      [companyId, siteId, edges.map((e) => e.serial), edges.map((e) => createHash('sha256').update(e.password).digest('hex'))],
    );
  } finally {
    await client.end();
  }
  return edges;
}

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig, type CloudConfig } from '../config.js';
import { eq } from 'drizzle-orm';
import { accounts, companies, roles } from '../db/schema.js';
import { hashSecret } from '../security/secrets.js';
import { startCloud, type RunningCloud } from '../server.js';
import { createCustomerAccount } from '../customers/accounts.js';

const ADMIN_URL = process.env.VIGIL_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, empty PostgreSQL database for one test file, dropped afterwards. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `vigil_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestCloud extends RunningCloud {
  api: string;
  /** MQTT over WebSocket, where edge boxes and P2P devices connect. */
  mqttUrl: string;
  stop(): Promise<void>;
}

/** The platform operator's account every test cloud is started with. */
export const VENDOR_ADMIN = { email: 'vendor.admin@vigil.test', password: 'Vendor-Admin-pass1' } as const;

/** A cloud on ephemeral ports over a fresh database, with short timers so tests need no long waits. */
export async function startTestCloud(env: Record<string, string> = {}): Promise<TestCloud> {
  const db = await freshDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-cloud-'));
  const config: CloudConfig = loadConfig({
    DATABASE_URL: db.url,
    VIGIL_HTTP_PORT: '0',
    VIGIL_DATA_DIR: dataDir,
    VIGIL_MIN_OFFLINE_DELAY_SEC: '1',
    VIGIL_JOB_POLL_MS: '50',
    VIGIL_RPC_TIMEOUT_MS: '1500',
    VIGIL_LOG_LEVEL: 'silent',
    VIGIL_VENDOR_ADMIN_EMAIL: VENDOR_ADMIN.email,
    VIGIL_VENDOR_ADMIN_PASSWORD: VENDOR_ADMIN.password,
    ...env,
  });
  const cloud = await startCloud(config);
  return {
    ...cloud,
    api: `${cloud.url}/api/v1`,
    mqttUrl: `${cloud.url.replace(/^http/, 'ws')}/mqtt`,
    async stop() {
      await cloud.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A small HTTP client that keeps the session cookie like a browser would. */
export class ApiClient {
  /** The session cookie as the server set it, `name=value`. */
  cookie: string | null = null;
  constructor(
    readonly base: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async call<T = unknown>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...this.headers,
        ...extra,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0] ?? null;
    const text = await res.text();
    const json = text ? (JSON.parse(text) as T) : (undefined as T);
    return { status: res.status, body: json, headers: res.headers };
  }

  get = <T = unknown>(path: string) => this.call<T>('GET', path);
  post = <T = unknown>(path: string, body?: unknown) => this.call<T>('POST', path, body ?? {});
  patch = <T = unknown>(path: string, body: unknown) => this.call<T>('PATCH', path, body);
  delete = <T = unknown>(path: string) => this.call<T>('DELETE', path);
}

let seq = 0;
/** Registers a company with its admin and returns a signed-in client. */
export async function registerCompany(api: string, name = `Company ${++seq}`) {
  const client = new ApiClient(api);
  const email = `admin${seq}.${randomBytes(3).toString('hex')}@example.test`;
  const password = 'Correct-Horse9';
  const res = await client.post<{ company: { id: string }; account: { id: string } }>('/companies', {
    company: { name, type: 'installer', countryCode: 'GB' },
    admin: { name: 'Admin', email, password },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { client, email, password, companyId: res.body.company.id };
}

/**
 * An employee of the company whose role holds exactly these permissions, account limit removed, signed in.
 * Written straight into the database, so a test of something else needs no invitation round.
 */
export async function signInEmployee(cloud: TestCloud, companyId: string, permissions: string[]): Promise<ApiClient> {
  const email = `emp.${randomBytes(5).toString('hex')}@example.test`;
  const password = 'Employee-pass1';
  const [role] = await cloud.ctx.db.insert(roles).values({ companyId, name: `Role ${randomBytes(4).toString('hex')}`, permissions }).returning();
  await cloud.ctx.db.insert(accounts).values({ companyId, email, name: 'Employee', passwordHash: await hashSecret(password), role: 'installer', roleId: role!.id, limited: false });
  const client = new ApiClient(cloud.api);
  const login = await client.post('/auth/login', { email, password });
  if (login.status !== 200) throw new Error(`employee sign-in failed: ${login.status} ${JSON.stringify(login.body)}`);
  return client;
}

/** A customer (the end-user side) with its own login, signed in; `email` defaults to a fresh one. */
export async function signInCustomer(cloud: TestCloud, fields: { email?: string; phone?: string; name?: string } = {}) {
  const email = fields.email ?? `customer.${randomBytes(5).toString('hex')}@example.test`;
  const password = 'Customer-pass1';
  const account = await createCustomerAccount(cloud.ctx.db, { name: fields.name ?? 'Customer', email, phone: fields.phone ?? null, password, countryCode: 'GB' });
  const client = new ApiClient(cloud.api);
  const login = await client.post('/auth/login', { email, password });
  if (login.status !== 200) throw new Error(`customer sign-in failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { client, accountId: account.id, email, password };
}

/** Creates a site (personal, UTC, offline delay 1 s unless told otherwise) and returns its id; throws on a refusal. */
export async function newSite(client: ApiClient, fields: Record<string, unknown> = {}): Promise<string> {
  const res = await client.post<{ id: string }>('/sites', { name: `Site ${randomBytes(4).toString('hex')}`, type: 'personal', timeZone: 'UTC', offlineDelaySec: 1, ...fields });
  if (res.status !== 201) throw new Error(`creating a site failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** The test cloud's vendor admin, signed in. */
export async function signInVendorAdmin(cloud: TestCloud): Promise<ApiClient> {
  const client = new ApiClient(cloud.api);
  const login = await client.post('/auth/login', VENDOR_ADMIN);
  if (login.status !== 200) throw new Error(`vendor admin sign-in failed: ${login.status} ${JSON.stringify(login.body)}`);
  return client;
}

/** Marks the company authenticated, as if the vendor admin had approved its application (for tests of something else). */
export async function authenticateCompany(cloud: TestCloud, companyId: string): Promise<void> {
  await cloud.ctx.db.update(companies).set({ authStatus: 'approved' }).where(eq(companies.id, companyId));
}

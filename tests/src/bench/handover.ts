import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ApiClient, registerCompany } from '@vigil/cloud/testing';
import { DEVICE_USES, DevicePermissionName, PanelErrorCode, SiteStatus, SiteStatusErrorCode, Validity, type CustomerSite, type SiteList } from '@vigil/protocol/api';
import { startCloud } from './cloud.js';
import { isClosing } from './procs.js';
import { fmt, median, percentile, printTable, round, verdict } from './report.js';

/**
 * What the handover adds to the calls it gates, in the built cloud process over PostgreSQL, each against a
 * baseline in the same run, one request of each in turn:
 *  - the device-use gate (`requireDeviceUse`, on every live view, playback and configuration call): GET
 *    /devices/:id/panel for a P2P camera (it reaches the gate, then answers 409 NOT_AN_ALARM_PANEL without calling the
 *    device) on a site never handed over, where the gate returns at once, against the same for a camera of a
 *    handed-over site, where it reads the customer's Configuration grant among many others (each handed-over
 *    device's three permanent grants, plus expired and released ones of the same keys);
 *  - the customer portal's site list: GET /customer/sites for a customer owning the handed-over sites and an
 *    accepted sharing recipient of the shared ones, against GET /sites of the Installer Admin of the company that
 *    holds the same sites.
 * The sites are handed over and shared through the API by one installer company to one customer who registered
 * through POST /customer/register; the devices are written into the database, as the tests' `insertDevice` does.
 */
export interface HandoverBenchOptions {
  requests: number;
  /** Sites handed over to the customer, each with `devicesPerSite` devices and each of their uses granted. */
  handedOverSites: number;
  /** Sites of the company shared with the customer (Mode B), accepted. */
  sharedSites: number;
  devicesPerSite: number;
  /** Per key (site, device, company, permission) of a permanent grant: older grants expired, and released ones. */
  expiredPerGrant: number;
  releasedPerGrant: number;
}

export interface HandoverBenchResult {
  grantRows: number;
  approvedGrantRows: number;
  /** The gate's query: its plan, and its median execution time inside PostgreSQL. */
  plan: string;
  gateQueryMs: number;
  listedSites: number;
  plainGateMs: number[];
  grantGateMs: number[];
  adminListMs: number[];
  customerListMs: number[];
}

/** This project's own targets: the grant read costs a device call at most 20 %, the customer's list at most 50 %. */
const GATE_MAX_RATIO = 1.2;
const LIST_MAX_RATIO = 1.5;
const WARMUP = 50;
const PASSWORD = 'Bench-Handover-2026';

function checkOpen(): void {
  if (isClosing()) throw new Error('handover bench interrupted');
}

async function expectOk<T>(res: Promise<{ status: number; body: T }>, status: number, what: string): Promise<T> {
  const r = await res;
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body;
}

/** P2P cameras on the site, online: the columns the tests' `insertDevice` writes. */
async function insertCameras(db: pg.Client, companyId: string, siteId: string, count: number): Promise<string[]> {
  const serials = Array.from({ length: count }, () => `DS${randomBytes(5).toString('hex').toUpperCase()}`);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO devices (company_id, site_id, device_key, kind, protocol, manufacturer, model, serial, short_serial, firmware, name, host, port,
                          reported_online, reported_at, status)
     SELECT $1, $2, s, 'camera', 'isapi', 'hikvision', 'DS-2CD2143G2', s, right(s, 9), 'V5.7.0', 'Camera ' || right(s, 4), '', 0, true, now(), 'online'
     FROM unnest($3::text[]) WITH ORDINALITY AS t(s, n) ORDER BY n
     RETURNING id`,
    [companyId, siteId, serials],
  );
  return rows.map((r) => r.id);
}

const newSiteBody = (name: string) => ({ name, type: 'personal', timeZone: 'UTC', offlineDelaySec: 300 });

/** Waits until no job is due (the handovers' and sharings' mails and notices), so they do not run during the rounds. */
async function jobsSettled(db: pg.Client, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE run_at <= now()`);
    if (rows[0]!.n === 0) return;
    if (Date.now() > deadline) throw new Error(`${rows[0]!.n} job(s) still due after ${deadlineMs / 1000} s`);
    checkOpen();
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/**
 * The gate's own query as PostgreSQL runs it against this table: its plan's nodes, outermost first, and the median of
 * the server's execution time over `runs` runs (no round trip, no parsing: what an index could save).
 */
async function explainGate(db: pg.Client, params: string[], runs: number): Promise<{ plan: string; executionMs: number }> {
  const times: number[] = [];
  let root: PlanNode | null = null;
  for (let i = 0; i < runs; i++) {
    const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) SELECT expires_at FROM device_permissions
       WHERE site_id = $1 AND device_id = $2 AND company_id = $3 AND permission = $4 AND status = 'approved'
       ORDER BY expires_at DESC LIMIT 1`,
      params,
    );
    const [out] = rows[0]!['QUERY PLAN'];
    root = out.Plan;
    times.push(out['Execution Time']);
  }
  const nodes: string[] = [];
  const walk = (n: PlanNode) => {
    nodes.push(n['Index Name'] ? `${n['Node Type']} on ${n['Index Name']}` : n['Relation Name'] ? `${n['Node Type']} on ${n['Relation Name']}` : n['Node Type']);
    n.Plans?.forEach(walk);
  };
  walk(root!);
  return { plan: nodes.join(' > '), executionMs: median(times) };
}

async function timedGet(api: string, path: string, cookie: string): Promise<{ ms: number; status: number; body: string }> {
  const t0 = performance.now();
  const res = await fetch(`${api}${path}`, { headers: { cookie } });
  const body = await res.text();
  return { ms: performance.now() - t0, status: res.status, body };
}

/** GET /devices/:id/panel of a camera: past the gate, the panel link refuses it, the same for both sites. */
async function panelOfCamera(api: string, cookie: string, deviceId: string): Promise<number> {
  const r = await timedGet(api, `/devices/${deviceId}/panel`, cookie);
  const code = r.status === 409 ? (JSON.parse(r.body) as { code?: string }).code : undefined;
  if (code !== PanelErrorCode.notAlarmPanel) {
    throw new Error(`GET /devices/${deviceId}/panel: ${r.status} ${r.body.slice(0, 300)} (expected 409 ${PanelErrorCode.notAlarmPanel})`);
  }
  return r.ms;
}

async function siteList(api: string, path: string, cookie: string, sites: number): Promise<number> {
  const r = await timedGet(api, path, cookie);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body.slice(0, 300)}`);
  const items = (JSON.parse(r.body) as { items: unknown[] }).items.length;
  if (items !== sites) throw new Error(`GET ${path}: ${items} sites, expected ${sites}`);
  return r.ms;
}

export async function runHandoverBench(logDir: string, opts: HandoverBenchOptions): Promise<HandoverBenchResult> {
  const cloud = await startCloud('cloud-handover', logDir);
  const db = new pg.Client({ connectionString: cloud.databaseUrl });
  await db.connect();
  try {
    const api = `http://127.0.0.1:${cloud.http}/api/v1`;
    const company = await registerCompany(api, 'Bench Handover');
    const admin = company.client;
    const customer = new ApiClient(api);
    const customerEmail = `customer.${randomBytes(4).toString('hex')}@example.test`;
    await expectOk(customer.post('/customer/register', { name: 'Bench Customer', email: customerEmail, password: PASSWORD, countryCode: 'GB' }), 201, 'POST /customer/register');

    // Handed over by transfer, every use of every device granted Permanent.
    let measuredSiteId = '';
    let measuredDeviceId = '';
    for (let i = 0; i < opts.handedOverSites; i++) {
      checkOpen();
      const site = await expectOk(admin.post<{ id: string }>('/sites', newSiteBody(`Handed over ${String(i + 1).padStart(3, '0')}`)), 201, 'POST /sites');
      const deviceIds = await insertCameras(db, company.companyId, site.id, opts.devicesPerSite);
      const permissions = DEVICE_USES.map((permission) => ({ permission, deviceIds, validity: Validity.permanent }));
      await expectOk(admin.post(`/sites/${site.id}/handover`, { channel: 'email', recipient: customerEmail, permissions }), 201, 'POST /sites/:id/handover');
      const waiting = await expectOk(customer.get<{ items: { id: string; siteId: string }[] }>('/customer/handovers'), 200, 'GET /customer/handovers');
      const offer = waiting.items.find((h) => h.siteId === site.id);
      if (!offer) throw new Error(`the handover of ${site.id} is not waiting for the customer`);
      await expectOk(customer.post(`/customer/handovers/${offer.id}/accept`), 200, 'accepting the handover');
      // The middle site: neither the first nor the last rows written.
      if (i === Math.floor(opts.handedOverSites / 2)) {
        measuredSiteId = site.id;
        measuredDeviceId = deviceIds[0]!;
      }
    }

    // Shared in Mode B (the company keeps the devices), every device with every use, accepted.
    for (let i = 0; i < opts.sharedSites; i++) {
      checkOpen();
      const site = await expectOk(admin.post<{ id: string }>('/sites', newSiteBody(`Shared ${String(i + 1).padStart(3, '0')}`)), 201, 'POST /sites');
      const deviceIds = await insertCameras(db, company.companyId, site.id, opts.devicesPerSite);
      await expectOk(
        admin.post(`/sites/${site.id}/sharing`, {
          mode: 'B',
          recipients: [{ channel: 'email', recipient: customerEmail }],
          devices: deviceIds.map((deviceId) => ({ deviceId, permissions: [...DEVICE_USES], validity: Validity.permanent })),
        }),
        201,
        'POST /sites/:id/sharing',
      );
      const waiting = await expectOk(customer.get<{ items: { id: string; siteId: string }[] }>('/customer/sharings'), 200, 'GET /customer/sharings');
      const offer = waiting.items.find((s) => s.siteId === site.id);
      if (!offer) throw new Error(`the sharing of ${site.id} is not waiting for the customer`);
      await expectOk(customer.post(`/customer/sharings/${offer.id}/accept`), 200, 'accepting the sharing');
    }

    // The grants' history: for each permanent grant, older ones of the same key that expired, and released ones.
    await db.query(
      `INSERT INTO device_permissions (site_id, device_id, company_id, permission, validity, status, source, decided_at, expires_at, released_at, created_at)
       SELECT p.site_id, p.device_id, p.company_id, p.permission, '1h', 'approved', 'application', now() - (k || ' days')::interval,
              now() - (k || ' days')::interval + interval '1 hour', NULL, now() - (k || ' days')::interval
       FROM device_permissions p, generate_series(1, $1::int) AS k WHERE p.status = 'approved' AND p.expires_at IS NULL`,
      [opts.expiredPerGrant],
    );
    await db.query(
      `INSERT INTO device_permissions (site_id, device_id, company_id, permission, validity, status, source, decided_at, expires_at, released_at, created_at)
       SELECT p.site_id, p.device_id, p.company_id, p.permission, '8h', 'released', 'application', now() - (k || ' hours')::interval,
              now() - (k || ' hours')::interval + interval '8 hours', now() - (k || ' hours')::interval + interval '1 hour', now() - (k || ' hours')::interval
       FROM device_permissions p, generate_series(1, $1::int) AS k WHERE p.status = 'approved' AND p.expires_at IS NULL`,
      [opts.releasedPerGrant],
    );
    await db.query('ANALYZE');
    const counts = await db.query<{ all: number; approved: number }>(
      `SELECT count(*)::int AS all, count(*) FILTER (WHERE status = 'approved' AND expires_at IS NULL)::int AS approved FROM device_permissions`,
    );
    const grantRows = counts.rows[0]!.all;
    const approvedGrantRows = counts.rows[0]!.approved;
    if (approvedGrantRows !== opts.handedOverSites * opts.devicesPerSite * DEVICE_USES.length) {
      throw new Error(`${approvedGrantRows} permanent grants, expected ${opts.handedOverSites * opts.devicesPerSite * DEVICE_USES.length}`);
    }
    // The site lists first, while the company's sites are exactly the customer's.
    const listedSites = opts.handedOverSites + opts.sharedSites;
    const mine = await expectOk(customer.get<{ items: CustomerSite[] }>('/customer/sites'), 200, 'GET /customer/sites');
    const owned = mine.items.filter((s) => s.relation === 'owner').length;
    if (owned !== opts.handedOverSites || mine.items.length !== listedSites) {
      throw new Error(`GET /customer/sites: ${owned} owned of ${mine.items.length}, expected ${opts.handedOverSites} of ${listedSites}`);
    }
    const theirs = await expectOk(admin.get<SiteList>(`/sites?pageSize=${listedSites}`), 200, 'GET /sites');
    if (theirs.total !== listedSites) throw new Error(`GET /sites: ${theirs.total} sites, expected ${listedSites}`);

    await jobsSettled(db, 60_000);
    const adminCookie = admin.cookie!;
    const customerCookie = customer.cookie!;
    const adminListMs: number[] = [];
    const customerListMs: number[] = [];
    for (let i = -WARMUP; i < opts.requests; i++) {
      if (i % 50 === 0) checkOpen();
      const a = await siteList(api, `/sites?pageSize=${listedSites}`, adminCookie, listedSites);
      const c = await siteList(api, '/customer/sites', customerCookie, listedSites);
      if (i < 0) continue;
      adminListMs.push(a);
      customerListMs.push(c);
    }

    // A site never handed over, with a camera, for the gate's baseline.
    const plainSite = await expectOk(admin.post<{ id: string }>('/sites', newSiteBody('Not handed over')), 201, 'POST /sites');
    const [plainDeviceId] = await insertCameras(db, company.companyId, plainSite.id, 1);
    const statusOf = async (siteId: string) => (await expectOk(admin.get<{ status: string }>(`/sites/${siteId}`), 200, 'GET /sites/:id')).status;
    if ((await statusOf(plainSite.id)) !== SiteStatus.notHandedOver) throw new Error('the baseline site is not NotHandedOver');
    const handedStatus = await statusOf(measuredSiteId);
    if (handedStatus !== SiteStatus.handedOverNotAuthorized) throw new Error(`the handed-over site is ${handedStatus}`);
    await jobsSettled(db, 60_000);

    const plainGateMs: number[] = [];
    const grantGateMs: number[] = [];
    for (let i = -WARMUP; i < opts.requests; i++) {
      if (i % 50 === 0) checkOpen();
      const a = await panelOfCamera(api, adminCookie, plainDeviceId!);
      const b = await panelOfCamera(api, adminCookie, measuredDeviceId);
      if (i < 0) continue;
      plainGateMs.push(a);
      grantGateMs.push(b);
    }
    const gateQuery = await explainGate(db, [measuredSiteId, measuredDeviceId, company.companyId, DevicePermissionName.configuration], WARMUP);
    // Its grant released, the same call is refused by the gate: the rounds above did read it.
    await db.query(`UPDATE device_permissions SET status = 'released', released_at = now() WHERE device_id = $1 AND permission = $2 AND status = 'approved'`, [
      measuredDeviceId,
      DevicePermissionName.configuration,
    ]);
    const refused = await admin.get<{ code?: string }>(`/devices/${measuredDeviceId}/panel`);
    if (refused.status !== 403 || refused.body.code !== SiteStatusErrorCode.devicePermissionRequired) {
      throw new Error(`without its grant, GET /devices/:id/panel answered ${refused.status} ${JSON.stringify(refused.body)}`);
    }

    const r: HandoverBenchResult = {
      grantRows,
      approvedGrantRows,
      plan: gateQuery.plan,
      gateQueryMs: gateQuery.executionMs,
      listedSites,
      plainGateMs,
      grantGateMs,
      adminListMs,
      customerListMs,
    };
    const s = handoverSummary(r);
    const ms = (xs: number[]) => `${fmt(median(xs), 2)} / ${fmt(percentile(xs, 99), 2)}`;
    printTable(
      `Device-use gate: GET /devices/:id/panel of a P2P camera (409 NOT_AN_ALARM_PANEL past the gate) ${fmt(opts.requests)} times each, one of each in turn, after ${WARMUP} of warm-up; ` +
        `${fmt(grantRows)} grant rows (${fmt(approvedGrantRows)} permanent on ${opts.handedOverSites} handed-over sites x ${opts.devicesPerSite} devices x ${DEVICE_USES.length} uses, the rest expired or released)`,
      ['site of the device', 'p50 / p99 ms', 'ratio'],
      [
        ['NotHandedOver, no grant read (baseline)', ms(plainGateMs), ''],
        ['handed over, Configuration granted Permanent', ms(grantGateMs), ''],
        [`ratio p50 (this project's target <= ${GATE_MAX_RATIO})`, '', `${fmt(s.ratioGateP50, 2)} ${verdict(s.gatePass)}`],
        ['ratio p99', '', fmt(s.ratioGateP99, 2)],
        ['added p50 / of which the grant query inside PostgreSQL', `${fmt(median(grantGateMs) - median(plainGateMs), 2)} / ${fmt(gateQuery.executionMs, 3)}`, ''],
      ],
    );
    process.stdout.write(`  the grant query's plan: ${gateQuery.plan}\n\n`);
    printTable(
      `Site lists: ${listedSites} sites (${opts.handedOverSites} owned by the customer, ${opts.sharedSites} shared with it in Mode B), ${fmt(opts.requests)} times each, one of each in turn, after ${WARMUP} of warm-up`,
      ['caller', 'p50 / p99 ms', 'ratio'],
      [
        ['Installer Admin, GET /sites (baseline)', ms(adminListMs), ''],
        ['customer, GET /customer/sites', ms(customerListMs), ''],
        [`ratio p50 (this project's target <= ${LIST_MAX_RATIO})`, '', `${fmt(s.ratioListP50, 2)} ${verdict(s.listPass)}`],
        ['ratio p99', '', fmt(s.ratioListP99, 2)],
      ],
    );
    return r;
  } finally {
    await db.end();
    await cloud.stop();
  }
}

function handoverSummary(r: HandoverBenchResult) {
  const ratio = (a: number[], b: number[], p: number) => percentile(a, p) / percentile(b, p);
  const ratioGateP50 = ratio(r.grantGateMs, r.plainGateMs, 50);
  const ratioListP50 = ratio(r.customerListMs, r.adminListMs, 50);
  return {
    ratioGateP50,
    ratioGateP99: ratio(r.grantGateMs, r.plainGateMs, 99),
    gatePass: ratioGateP50 <= GATE_MAX_RATIO,
    ratioListP50,
    ratioListP99: ratio(r.customerListMs, r.adminListMs, 99),
    listPass: ratioListP50 <= LIST_MAX_RATIO,
  };
}

export function handoverJson(r: HandoverBenchResult, opts: HandoverBenchOptions) {
  const s = handoverSummary(r);
  const p = (xs: number[], q: number) => round(percentile(xs, q), 3);
  return {
    ...opts,
    grantRows: r.grantRows,
    permanentGrantRows: r.approvedGrantRows,
    gateQueryPlan: r.plan,
    gateQueryExecutionMs: round(r.gateQueryMs, 4),
    plainGateP50Ms: p(r.plainGateMs, 50),
    plainGateP99Ms: p(r.plainGateMs, 99),
    grantGateP50Ms: p(r.grantGateMs, 50),
    grantGateP99Ms: p(r.grantGateMs, 99),
    ratioGrantOverPlainP50: round(s.ratioGateP50, 3),
    ratioGrantOverPlainP99: round(s.ratioGateP99, 3),
    gateTargetMaxRatio: GATE_MAX_RATIO,
    gatePass: s.gatePass,
    listedSites: r.listedSites,
    adminListP50Ms: p(r.adminListMs, 50),
    adminListP99Ms: p(r.adminListMs, 99),
    customerListP50Ms: p(r.customerListMs, 50),
    customerListP99Ms: p(r.customerListMs, 99),
    ratioCustomerOverAdminP50: round(s.ratioListP50, 3),
    ratioCustomerOverAdminP99: round(s.ratioListP99, 3),
    listTargetMaxRatio: LIST_MAX_RATIO,
    listPass: s.listPass,
  };
}

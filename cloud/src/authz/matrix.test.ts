import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type MeReply, type Notification } from '@vigil/protocol/api';
import { ApiClient, newSite, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { ACTOR_BUILDERS, buildScene, buildWorld, hireEmployee, type World } from './actors.js';
import { ACTORS, deniedCodeOf, expectedOf, OPERATIONS as COMPANY_OPERATIONS, Outcome, type ActorId, type Fixture, type Operation } from './matrix.js';
import { HANDOVER_OPERATIONS } from './operations-handover.js';

const OPERATIONS: readonly Operation[] = [...COMPANY_OPERATIONS, ...HANDOVER_OPERATIONS];

type Reply = { status: number; body: { code?: string; message?: string } | undefined };

interface Cell {
  op: Operation;
  actor: ActorId;
  expected: Outcome;
  status: number;
  got: string;
  ok: boolean;
  /** The route is not served at all (Fastify's "No route"). */
  missing: boolean;
}

let cloud: TestCloud;
let world: World;
let fixture: Omit<Fixture, 'fresh' | 'caller'>;
const clients = new Map<ActorId, ApiClient | Error>();
/** Each signed-in actor's own account. */
const callers = new Map<ActorId, string>();
const cells: Cell[] = [];

beforeAll(async () => {
  cloud = await startTestCloud();
  world = await buildWorld(cloud);
  for (const actor of ACTORS) {
    try {
      const client = await ACTOR_BUILDERS[actor.id](world);
      clients.set(actor.id, client);
      const me = await client.get<MeReply>('/me');
      if (me.status === 200) callers.set(actor.id, me.body.account.id);
    } catch (err) {
      clients.set(actor.id, err as Error);
    }
  }
  const employee = await hireEmployee(world, [], { limited: true });
  const assigned = clients.get('installerAssigned');
  const applied = await new ApiClient(cloud.api).post('/join-requests', {
    companyId: world.a.companyId,
    name: 'Matrix Applicant',
    email: `applicant.${randomBytes(4).toString('hex')}@example.test`,
    password: 'Applicant-pass1',
  });
  const notes = await world.a.client.get<{ items: Notification[] }>('/notifications');
  const notificationA = notes.body.items[0]?.id;
  if (applied.status !== 202 || !notificationA) throw new Error(`no notification for A's Installer Admin: ${applied.status} ${JSON.stringify(notes.body)}`);
  fixture = {
    companyA: world.a.companyId,
    companyB: world.b.companyId,
    siteA: world.siteA,
    siteB: await newSite(world.b.client),
    // Without that actor its cells fail anyway, saying why.
    siteAssigned: assigned instanceof ApiClient ? await newSite(assigned) : '',
    employeeA: employee.accountId,
    roleA: employee.roleId,
    notificationA,
    ...(await buildScene(world, clients, employee.accountId)),
  };
}, 60_000);

afterAll(async () => {
  const wrong = cells.filter((c) => !c.ok);
  if (wrong.length > 0) console.log(report(wrong));
  await cloud?.stop();
});

const isMissingRoute = (res: Reply) => res.status === 404 && res.body?.code === ErrorCode.notFound && (res.body.message ?? '').startsWith('No route');

/** Whether a reply is what the cell expects; `want` says what that is. */
function judge(op: Operation, actor: ActorId, signedIn: boolean, expected: Outcome, res: Reply): { ok: boolean; want: string } {
  const code = res.body?.code ?? '';
  switch (expected) {
    case Outcome.allow: {
      const refusals = op.refusals ?? [];
      const refused = res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403;
      const ok = (res.status >= 200 && res.status < 300) || (refused && refusals.includes(code));
      return { ok, want: refusals.length > 0 ? `2xx or ${refusals.join('|')}` : '2xx' };
    }
    case Outcome.deny: {
      const [status, want] = signedIn ? [403, deniedCodeOf(op, actor)] : [401, ErrorCode.unauthenticated];
      return { ok: res.status === status && want !== undefined && code === want, want: `${status} ${want ?? '(the matrix names no code)'}` };
    }
    case Outcome.hidden:
      return { ok: res.status === 404 && op.hidden !== undefined && code === op.hidden, want: `404 ${op.hidden ?? '(the matrix names no code)'}` };
  }
}

async function freshFor(op: Operation): Promise<string> {
  return op.fresh === 'siteOfA' ? newSite(world.a.client) : '';
}

describe('authorization matrix', () => {
  it('has one operation per name, and a code for every refusal it expects', () => {
    expect(new Set(OPERATIONS.map((o) => o.name)).size).toBe(OPERATIONS.length);
    for (const op of OPERATIONS) {
      for (const [actor, outcome] of Object.entries(op.expect)) {
        if (outcome === Outcome.deny) expect(deniedCodeOf(op, actor as ActorId), `${op.name} × ${actor}`).toBeDefined();
        if (outcome === Outcome.hidden) expect(op.hidden, op.name).toBeDefined();
      }
    }
  });

  it('every actor is made, and holds exactly its permissions or no session', async () => {
    const wrong: string[] = [];
    for (const actor of ACTORS) {
      const client = clients.get(actor.id);
      if (client instanceof Error || !client) {
        wrong.push(`${actor.id}: ${client?.message ?? 'not built'}`);
        continue;
      }
      const me = await client.get<MeReply>('/me');
      const should = 'holds' in actor ? [...actor.holds].sort().join(', ') : 'no session';
      const holds = me.status === 200 ? [...me.body.permissions].sort().join(', ') : 'no session';
      if (holds !== should) wrong.push(`${actor.id}: holds [${holds}], should hold [${should}]`);
    }
    expect(wrong).toEqual([]);
  });

  for (const op of OPERATIONS) {
    it(op.name, async () => {
      const mine: Cell[] = [];
      for (const actor of ACTORS) {
        const expected = expectedOf(op, actor.id);
        const client = clients.get(actor.id);
        if (!client || client instanceof Error) {
          mine.push({ op, actor: actor.id, expected, status: 0, got: `no actor (${client?.message ?? 'not built'})`, ok: false, missing: false });
          continue;
        }
        const f: Fixture = { ...fixture, fresh: await freshFor(op), caller: callers.get(actor.id) ?? randomUUID() };
        const res: Reply = await client.call<Reply['body']>(op.method, op.path(f), op.body?.(f));
        const { ok, want } = judge(op, actor.id, actor.session, expected, res);
        const got = `${res.status} ${res.body?.code ?? ''}`.trim();
        mine.push({ op, actor: actor.id, expected, status: res.status, got: ok ? got : `${got}, wanted ${want}`, ok, missing: isMissingRoute(res) });
      }
      cells.push(...mine);
      const wrong = mine.filter((c) => !c.ok);
      expect(wrong.map(describeCell), `${op.method} ${op.path({ ...fixture, fresh: ':fresh', caller: ':caller' })}`).toEqual([]);
    });
  }
});

function describeCell(c: Cell): string {
  return c.missing ? `${c.actor}: not yet implemented (${c.op.method} route missing)` : `${c.actor}: expected ${c.expected}, got ${c.got}`;
}

/** The whole matrix, one row per operation: each cell its expected outcome, or ✗ expected→status got (none: no route). */
function report(wrong: Cell[]): string {
  const bad = new Map(wrong.map((c) => [`${c.op.name}\u0000${c.actor}`, c]));
  const nameWidth = Math.max(...OPERATIONS.map((o) => o.name.length));
  const widths = ACTORS.map((a) => Math.max(a.id.length, 8));
  const row = (first: string, rest: string[]) => [first.padEnd(nameWidth), ...rest.map((s, i) => s.padEnd(widths[i]!))].join(' | ');
  const lines = [row('operation', ACTORS.map((a) => a.id))];
  for (const op of OPERATIONS) {
    lines.push(
      row(
        op.name,
        ACTORS.map((a) => {
          const expected = expectedOf(op, a.id);
          const cell = bad.get(`${op.name}\u0000${a.id}`);
          return cell ? `✗ ${expected}→${cell.missing ? 'none' : cell.status}` : expected;
        }),
      ),
    );
  }
  const missing = [...new Set(wrong.filter((c) => c.missing).map((c) => `  ${c.op.method} ${c.op.path({ ...fixture, fresh: ':fresh', caller: ':caller' })} (${c.op.name})`))];
  const differing = wrong.filter((c) => !c.missing).map((c) => `  ${c.op.name} × ${c.actor}: expected ${c.expected}, got ${c.got}`);
  return [
    `Authorization matrix: ${wrong.length} cell(s) differ`,
    ...lines,
    ...(missing.length > 0 ? ['Not yet implemented (no route):', ...missing] : []),
    ...(differing.length > 0 ? ['Cells that differ:', ...differing] : []),
  ].join('\n');
}

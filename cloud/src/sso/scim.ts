import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { and, eq, sql } from 'drizzle-orm';
import { AccountRole, EMAIL_RE } from '@vigil/protocol/api';
import { endSessionsOf } from '../auth/sessions.js';
import { accounts, ssoConfigs } from '../db/schema.js';
import { isUniqueViolation } from '../db/errors.js';
import { AppError } from '../http/errors.js';
import { sha256 } from '../security/secrets.js';
import { accountsWithRole } from '../notifications/notify.js';
import type { SsoConfigRow } from './saml.js';

const SCIM_JSON = 'application/scim+json';
const Schema = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  spConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;
const MAX_PAGE = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SYNC_DETAIL = 'by Azure AD sync';

/** A refusal in SCIM's own error format (RFC 7644 §3.12). */
class ScimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly scimType?: string,
  ) {
    super(message);
  }
}

type Account = typeof accounts.$inferSelect;
interface Caller {
  config: SsoConfigRow;
}
/** What a user resource may change on an account. */
interface UserFields {
  email?: string;
  name?: string;
  externalId?: string | null;
  active?: boolean;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** SCIM booleans: Entra sends `"False"` and `"True"` as strings in its PatchOps. */
function bool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw new ScimError(400, 'active must be true or false.', 'invalidValue');
}

function emailOf(v: unknown): string | undefined {
  if (!Array.isArray(v)) return undefined;
  const list = v.filter(isObject);
  return str((list.find((e) => e.primary === true || e.primary === 'True') ?? list[0])?.value);
}

/** The fields a full user resource (POST, PUT, or a PatchOp without path) carries; unknown attributes are ignored. */
function userFields(body: Record<string, unknown>): UserFields {
  const name = isObject(body.name) ? body.name : {};
  const fields: UserFields = {};
  const email = str(body.userName) ?? emailOf(body.emails);
  if (email !== undefined) fields.email = email;
  const display = str(body.displayName) ?? str(name.formatted) ?? (str([name.givenName, name.familyName].filter((p) => typeof p === 'string').join(' ')) || undefined);
  if (display !== undefined) fields.name = display;
  if ('externalId' in body) fields.externalId = str(body.externalId) ?? null;
  if ('active' in body) fields.active = bool(body.active);
  return fields;
}

/** One PatchOp operation, in the forms Entra sends: a path and a value, or no path and an object of attributes. */
function patchFields(op: Record<string, unknown>): UserFields {
  const kind = String(op.op ?? '').toLowerCase();
  if (!['add', 'replace', 'remove'].includes(kind)) throw new ScimError(400, `Unknown patch operation ${String(op.op)}.`, 'invalidSyntax');
  const path = str(op.path);
  if (!path) {
    if (!isObject(op.value)) throw new ScimError(400, 'A patch operation without a path needs an object value.', 'invalidValue');
    return userFields(op.value);
  }
  const p = path.toLowerCase();
  if (kind === 'remove') return p === 'externalid' ? { externalId: null } : {};
  const v = op.value;
  if (p === 'active') return { active: bool(v) };
  if (p === 'username' || p.startsWith('emails')) {
    const email = str(v) ?? emailOf(v) ?? (isObject(v) ? str(v.value) : undefined);
    return email ? { email } : {};
  }
  if (p === 'displayname' || p === 'name.formatted') return str(v) ? { name: str(v)! } : {};
  if (p === 'externalid') return { externalId: str(v) ?? null };
  // Attributes the platform does not keep (title, addresses, manager ...) are accepted and dropped.
  return {};
}

/**
 * SCIM 2.0 (RFC 7643/7644) for the company's identity provider, at /scim/v2 outside the API: Entra ID's provisioning
 * creates, updates, deactivates and removes the employees who sign in with it. The caller is the company whose
 * secret token it presents. With Sync Accounts off no new accounts are created, but changes and deactivations of
 * synced accounts still apply, so that a leaver is never left able to sign in.
 */
export async function scimRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const callers = new WeakMap<FastifyRequest, Caller>();

  app.addContentTypeParser(SCIM_JSON, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  app.setErrorHandler((error: FastifyError | AppError | ScimError, request, reply) => {
    let status = 500;
    let detail = 'Something went wrong on our side; it has been logged.';
    let scimType: string | undefined;
    if (error instanceof ScimError) ({ status, message: detail, scimType } = error);
    else if (error instanceof AppError) ({ statusCode: status, message: detail } = error);
    else if ((error as FastifyError).statusCode && (error as FastifyError).statusCode! < 500) {
      status = (error as FastifyError).statusCode!;
      detail = error.message;
    }
    if (status >= 500) request.log.error({ err: error }, 'SCIM request failed');
    return reply
      .status(status)
      .type(SCIM_JSON)
      .send({ schemas: [Schema.error], status: String(status), ...(scimType ? { scimType } : {}), detail });
  });

  app.addHook('onRequest', async (request) => {
    const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!m) throw new ScimError(401, 'Send the Secret Token as a bearer token.');
    const [config] = await ctx.db.select().from(ssoConfigs).where(eq(ssoConfigs.scimTokenHash, sha256(m[1]!)));
    if (!config) throw new ScimError(401, 'The Secret Token is not valid: copy the current one from Azure AD Login.');
    const [admin] = await accountsWithRole(ctx.db, AccountRole.installerAdmin, config.companyId);
    callers.set(request, { config });
    // Changes are attributed to the Installer Admin who set the synchronization up.
    request.oplog.actor = admin && { accountId: admin.id, companyId: config.companyId, name: admin.name, email: admin.email };
    request.oplog.detail = SYNC_DETAIL;
  });

  const caller = (request: FastifyRequest): Caller => callers.get(request)!;
  const location = (id: string) => `${ctx.publicUrl}/scim/v2/Users/${id}`;
  const send = (reply: FastifyReply, status: number, body: unknown) => reply.status(status).type(SCIM_JSON).send(body);

  const resource = (a: Account) => ({
    schemas: [Schema.user],
    id: a.id,
    ...(a.externalId ? { externalId: a.externalId } : {}),
    userName: a.email,
    name: { formatted: a.name },
    displayName: a.name,
    active: a.enabled,
    emails: [{ value: a.email, type: 'work', primary: true }],
    meta: { resourceType: 'User', created: a.createdAt.toISOString(), location: location(a.id) },
  });

  /** A synced account of the caller's company; the others are not the identity provider's to see. */
  async function userOf(request: FastifyRequest): Promise<Account> {
    const { id } = request.params as { id: string };
    const companyId = caller(request).config.companyId;
    const [a] = UUID.test(id)
      ? await ctx.db
          .select()
          .from(accounts)
          .where(and(eq(accounts.id, id), eq(accounts.companyId, companyId), eq(accounts.synced, true)))
      : [];
    if (!a) throw new ScimError(404, `User ${id} not found.`);
    request.oplog.target = a.email;
    return a;
  }

  async function apply(request: FastifyRequest, account: Account, fields: UserFields): Promise<Account> {
    if (fields.email !== undefined && !EMAIL_RE.test(fields.email)) throw new ScimError(400, 'userName must be an email address.', 'invalidValue');
    const set: Partial<Account> = {};
    if (fields.email !== undefined && fields.email.toLowerCase() !== account.email.toLowerCase()) set.email = fields.email.toLowerCase();
    if (fields.name !== undefined) set.name = fields.name.slice(0, 128);
    if (fields.externalId !== undefined) set.externalId = fields.externalId;
    if (fields.active !== undefined) set.enabled = fields.active;
    if (Object.keys(set).length === 0) return account;
    try {
      const updated = await ctx.db.transaction(async (tx) => {
        const [row] = await tx.update(accounts).set(set).where(eq(accounts.id, account.id)).returning();
        // Deactivated in the directory: signed out everywhere at once.
        if (set.enabled === false) await endSessionsOf(tx, [account.id]);
        return row!;
      });
      if (set.enabled === false) {
        ctx.hub.endStreamsOf([account.id]);
        request.oplog.action = 'Disable Employee';
      }
      else if (set.enabled === true) request.oplog.action = 'Enable Employee';
      return updated;
    } catch (err) {
      if (isUniqueViolation(err, 'accounts_email_key') || isUniqueViolation(err, 'accounts_external_id_key')) {
        throw new ScimError(409, 'Another account has this userName or externalId.', 'uniqueness');
      }
      throw err;
    }
  }

  // ---- discovery ----------------------------------------------------------------------------------

  app.get('/ServiceProviderConfig', async (_request, reply) =>
    send(reply, 200, {
      schemas: [Schema.spConfig],
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: MAX_PAGE },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      authenticationSchemes: [{ type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: "The Secret Token from the portal's Azure AD Login page.", primary: true }],
      meta: { resourceType: 'ServiceProviderConfig', location: `${ctx.publicUrl}/scim/v2/ServiceProviderConfig` },
    }),
  );

  app.get('/ResourceTypes', async (_request, reply) =>
    send(reply, 200, {
      schemas: [Schema.list],
      totalResults: 1,
      Resources: [
        { schemas: [Schema.resourceType], id: 'User', name: 'User', endpoint: '/Users', schema: Schema.user, meta: { resourceType: 'ResourceType', location: `${ctx.publicUrl}/scim/v2/ResourceTypes/User` } },
      ],
    }),
  );

  app.get('/Schemas', async (_request, reply) => {
    const attr = (name: string, type: string, extra: Record<string, unknown> = {}) => ({ name, type, multiValued: false, required: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...extra });
    return send(reply, 200, {
      schemas: [Schema.list],
      totalResults: 1,
      Resources: [
        {
          schemas: [Schema.schema],
          id: Schema.user,
          name: 'User',
          attributes: [
            attr('userName', 'string', { required: true, uniqueness: 'server' }),
            attr('externalId', 'string'),
            attr('displayName', 'string'),
            attr('name', 'complex', { subAttributes: [attr('formatted', 'string'), attr('givenName', 'string'), attr('familyName', 'string')] }),
            attr('emails', 'complex', { multiValued: true, subAttributes: [attr('value', 'string'), attr('type', 'string'), attr('primary', 'boolean')] }),
            attr('active', 'boolean'),
          ],
          meta: { resourceType: 'Schema', location: `${ctx.publicUrl}/scim/v2/Schemas/${Schema.user}` },
        },
      ],
    });
  });

  // Entra provisions groups unless "Provision Microsoft Entra ID Groups" is switched off (manual §3.4.3).
  app.all('/Groups', groupsRefused);
  app.all('/Groups/*', groupsRefused);
  async function groupsRefused(): Promise<never> {
    throw new ScimError(501, 'Group provisioning is not supported: switch "Provision Microsoft Entra ID Groups" off in the attribute mapping and restart provisioning.');
  }

  // ---- users --------------------------------------------------------------------------------------

  app.get('/Users', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const { companyId } = caller(request).config;
    const startIndex = Math.max(1, Number.parseInt(q.startIndex ?? '1', 10) || 1);
    const count = Math.min(MAX_PAGE, Math.max(0, Number.parseInt(q.count ?? String(MAX_PAGE), 10) || 0));
    let where = and(eq(accounts.companyId, companyId), eq(accounts.synced, true));
    if (q.filter) {
      // Entra asks `userName eq "…"` (and `externalId eq "…"`) before it creates a user.
      const m = /^\s*(userName|externalId|emails(?:\.value)?|emails\[type eq "work"\]\.value)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(q.filter);
      if (!m) throw new ScimError(400, `The filter is not supported: ${q.filter}. Use userName eq "…" or externalId eq "…".`, 'invalidFilter');
      const value = m[2]!.replace(/\\(.)/g, '$1');
      where = and(where, m[1]!.toLowerCase() === 'externalid' ? eq(accounts.externalId, value) : sql`lower(${accounts.email}) = ${value.toLowerCase()}`);
    }
    const [{ total } = { total: 0 }] = await ctx.db.select({ total: sql<number>`count(*)::int` }).from(accounts).where(where);
    const rows = await ctx.db.select().from(accounts).where(where).orderBy(accounts.createdAt, accounts.id).offset(startIndex - 1).limit(count);
    return send(reply, 200, { schemas: [Schema.list], totalResults: total, startIndex, itemsPerPage: rows.length, Resources: rows.map(resource) });
  });

  app.get('/Users/:id', async (request, reply) => send(reply, 200, resource(await userOf(request))));

  app.post('/Users', { config: { oplog: 'Add Employee' } }, async (request, reply) => {
    const { config } = caller(request);
    if (!isObject(request.body)) throw new ScimError(400, 'Send a User resource.', 'invalidSyntax');
    const fields = userFields(request.body);
    if (!fields.email || !EMAIL_RE.test(fields.email)) throw new ScimError(400, 'userName must be an email address.', 'invalidValue');
    request.oplog.target = fields.email;
    if (!config.syncEnabled) throw new ScimError(403, 'Sync Accounts is off for this company: no new accounts are synced.');
    try {
      // The default role as it is now: changing it later leaves this account's role alone.
      const [row] = await ctx.db
        .insert(accounts)
        .values({
          companyId: config.companyId,
          email: fields.email.toLowerCase(),
          name: (fields.name ?? fields.email).slice(0, 128),
          passwordHash: null,
          role: 'installer',
          roleId: config.defaultRoleId,
          enabled: fields.active ?? true,
          limited: true,
          source: 'scim',
          synced: true,
          externalId: fields.externalId ?? null,
        })
        .returning();
      void reply.header('location', location(row!.id));
      return send(reply, 201, resource(row!));
    } catch (err) {
      if (isUniqueViolation(err, 'accounts_email_key') || isUniqueViolation(err, 'accounts_external_id_key')) {
        throw new ScimError(409, `An account with the userName ${fields.email} already exists.`, 'uniqueness');
      }
      throw err;
    }
  });

  app.put('/Users/:id', { config: { oplog: 'Edit Employee' } }, async (request, reply) => {
    const account = await userOf(request);
    if (!isObject(request.body)) throw new ScimError(400, 'Send a User resource.', 'invalidSyntax');
    return send(reply, 200, resource(await apply(request, account, userFields(request.body))));
  });

  app.patch('/Users/:id', { config: { oplog: 'Edit Employee' } }, async (request, reply) => {
    const account = await userOf(request);
    const body = request.body;
    if (!isObject(body) || !Array.isArray(body.Operations)) throw new ScimError(400, 'Send a PatchOp with Operations.', 'invalidSyntax');
    const fields: UserFields = {};
    for (const op of body.Operations) {
      if (!isObject(op)) throw new ScimError(400, 'Each operation is an object.', 'invalidSyntax');
      Object.assign(fields, patchFields(op));
    }
    return send(reply, 200, resource(await apply(request, account, fields)));
  });

  app.delete('/Users/:id', { config: { oplog: 'Delete Employee' } }, async (request, reply) => {
    const account = await userOf(request);
    await ctx.db.transaction(async (tx) => {
      await endSessionsOf(tx, [account.id]);
      await tx.delete(accounts).where(eq(accounts.id, account.id));
    });
    ctx.hub.endStreamsOf([account.id]);
    return reply.status(204).send();
  });
}

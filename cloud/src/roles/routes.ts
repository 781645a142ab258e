import type { FastifyInstance } from 'fastify';
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  ALL_PERMISSIONS,
  EmployeeErrorCode,
  RoleBodySchema,
  RolePatchBodySchema,
  RoleSchema,
  RolesReplySchema,
  type Role,
  type RoleBody,
} from '@vigil/protocol/api';
import { requireAuth } from '../auth/plugin.js';
import type { Db, Tx } from '../db/client.js';
import { accounts, roles, ssoConfigs } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { manageAccounts, nameOf } from '../employees/service.js';

const RoleParams = Type.Object({ roleId: Type.String({ format: 'uuid' }) });

type RoleRow = typeof roles.$inferSelect;

// Qualified by hand: a one-table select prints its columns bare, which the subquery would take as its own.
const holdersOf = sql<number>`(SELECT count(*)::int FROM ${accounts} WHERE ${accounts}.role_id = ${roles}.id)`;

const roleView = (r: RoleRow, holders: number): Role => ({
  id: r.id,
  name: r.name,
  permissions: r.permissions,
  holders,
  createdAt: r.createdAt.toISOString(),
});

/** The company's role, or 404: another company's role is not told apart from none. */
export async function roleOf(db: Db | Tx, companyId: string, roleId: string): Promise<RoleRow> {
  // Shared lock: a role being deleted meanwhile is waited for, then not found.
  const [role] = await db.select().from(roles).where(and(eq(roles.id, roleId), eq(roles.companyId, companyId))).for('share');
  if (!role) throw new AppError(404, EmployeeErrorCode.roleNotFound, 'Role not found.');
  return role;
}

function checkPermissions(permissions: readonly string[]): void {
  const known = new Set<string>(ALL_PERMISSIONS);
  const unknown = permissions.filter((p) => !known.has(p));
  if (unknown.length > 0) {
    throw new AppError(422, EmployeeErrorCode.unknownPermission, `Unknown permission ${unknown.join(', ')}; known ones are ${ALL_PERMISSIONS.join(', ')}.`);
  }
}

async function checkNameFree(tx: Tx, companyId: string, name: string, exceptId?: string): Promise<void> {
  const [taken] = await tx
    .select({ id: roles.id })
    .from(roles)
    .where(and(eq(roles.companyId, companyId), sql`lower(${roles.name}) = ${name.toLowerCase()}`, exceptId ? ne(roles.id, exceptId) : undefined));
  if (taken) throw new AppError(409, EmployeeErrorCode.roleNameTaken, `The company already has a role named "${name}".`);
}

/** Two requests racing past the check above meet the unique index: the loser gets the same refusal. */
async function uniqueName<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if ((err as { code?: string; cause?: { code?: string } }).cause?.code === '23505' || (err as { code?: string }).code === '23505') {
      throw new AppError(409, EmployeeErrorCode.roleNameTaken, `The company already has a role named "${name}".`);
    }
    throw err;
  }
}

/**
 * Roles (manual §3.4.2 "Add Role and Permissions"): a name and a set of permissions given to employees. Sessions
 * resolve permissions on every request, so a change reaches the holders at their next call.
 */
export async function roleRoutes(app: FastifyInstance) {
  const { db } = app.ctx;

  app.get('/roles', { schema: { response: { 200: RolesReplySchema } } }, async (request) => {
    const auth = requireAuth(request);
    const rows = await db.select({ role: roles, holders: holdersOf }).from(roles).where(eq(roles.companyId, auth.companyId)).orderBy(asc(roles.name), asc(roles.id));
    return { items: rows.map((r) => roleView(r.role, r.holders)) };
  });

  app.post(
    '/roles',
    { schema: { body: RoleBodySchema, response: { 201: RoleSchema } }, preHandler: manageAccounts, config: { oplog: 'Add Role' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const body = request.body as RoleBody;
      const name = nameOf(body.name, "role's name");
      request.oplog.target = name;
      checkPermissions(body.permissions);
      const role = await uniqueName(name, () =>
        db.transaction(async (tx) => {
          await checkNameFree(tx, auth.companyId, name);
          const [row] = await tx.insert(roles).values({ companyId: auth.companyId, name, permissions: body.permissions }).returning();
          return row!;
        }),
      );
      return reply.status(201).send(roleView(role, 0));
    },
  );

  app.patch(
    '/roles/:roleId',
    { schema: { params: RoleParams, body: RolePatchBodySchema, response: { 200: RoleSchema } }, preHandler: manageAccounts, config: { oplog: 'Edit Role' } },
    async (request) => {
      const auth = requireAuth(request);
      const { roleId } = request.params as { roleId: string };
      const body = request.body as Partial<RoleBody>;
      const name = body.name === undefined ? undefined : nameOf(body.name, "role's name");
      if (body.permissions) checkPermissions(body.permissions);
      const updated = await uniqueName(name ?? '', () =>
        db.transaction(async (tx) => {
          const role = await roleOf(tx, auth.companyId, roleId);
          request.oplog.target = role.name;
          if (name !== undefined) await checkNameFree(tx, auth.companyId, name, role.id);
          const [row] = await tx
            .update(roles)
            .set({ ...(name !== undefined ? { name } : {}), ...(body.permissions ? { permissions: body.permissions } : {}) })
            .where(eq(roles.id, role.id))
            .returning();
          const changes = [name !== undefined && name !== role.name ? `renamed to "${name}"` : null, body.permissions ? `permissions: ${body.permissions.join(', ') || 'none'}` : null];
          request.oplog.detail = changes.filter(Boolean).join('; ');
          const [{ holders } = { holders: 0 }] = await tx.select({ holders: sql<number>`count(*)::int` }).from(accounts).where(eq(accounts.roleId, role.id));
          return roleView(row!, holders);
        }),
      );
      return updated;
    },
  );

  app.delete(
    '/roles/:roleId',
    { schema: { params: RoleParams, response: { 204: Type.Null() } }, preHandler: manageAccounts, config: { oplog: 'Delete Role' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const { roleId } = request.params as { roleId: string };
      await db.transaction(async (tx) => {
        // Locked, so an employee cannot be given the role while it is being deleted.
        const [role] = await tx.select().from(roles).where(and(eq(roles.id, roleId), eq(roles.companyId, auth.companyId))).for('update');
        if (!role) throw new AppError(404, EmployeeErrorCode.roleNotFound, 'Role not found.');
        request.oplog.target = role.name;
        const [{ holders } = { holders: 0 }] = await tx.select({ holders: sql<number>`count(*)::int` }).from(accounts).where(eq(accounts.roleId, role.id));
        if (holders > 0) {
          throw new AppError(409, EmployeeErrorCode.roleInUse, `${holders} employee${holders === 1 ? ' holds' : 's hold'} the role "${role.name}": give them another role first.`);
        }
        const [sso] = await tx.select({ companyId: ssoConfigs.companyId }).from(ssoConfigs).where(eq(ssoConfigs.defaultRoleId, role.id));
        if (sso) throw new AppError(409, EmployeeErrorCode.roleInUse, `"${role.name}" is the default role of Azure AD sync: choose another default role first.`);
        await tx.delete(roles).where(eq(roles.id, role.id));
      });
      return reply.status(204).send();
    },
  );
}

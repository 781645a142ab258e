import type { FastifyInstance } from 'fastify';
import { and, eq, inArray, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  AddOnOrderBodySchema,
  AddOnReplySchema,
  EmployeeErrorCode,
  EmployeeSchema,
  EmployeesReplySchema,
  EmployeeUpdateBodySchema,
  RegionFeature,
  type AddOnOrderBody,
  type EmployeeUpdateBody,
} from '@vigil/protocol/api';
import { requireAuth } from '../auth/plugin.js';
import { endSessionsOf } from '../auth/sessions.js';
import { accounts, companies, employeeAddOnOrders, roles } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { requireAuthenticatedCompany, requireFeature } from '../regions/features.js';
import { roleOf, roleRoutes } from '../roles/routes.js';
import type { Tx } from '../db/client.js';
import { invitationRoutes } from './invitations.js';
import { joinRequestRoutes } from './join-requests.js';
import { addOnOf, COMPANY_ROLES, employeeView, listEmployees, manageAccounts, nameOf, usedSlots } from './service.js';

const EmployeeParams = Type.Object({ accountId: Type.String({ format: 'uuid' }) });

/** An employee of the caller's company, locked for the change; the Installer Admin is not one to change. */
async function employeeFor(tx: Tx, companyId: string, accountId: string) {
  const [account] = await tx
    .select()
    .from(accounts)
    .where(and(eq(accounts.id, accountId), eq(accounts.companyId, companyId), inArray(accounts.role, [...COMPANY_ROLES])))
    .for('update');
  if (!account) throw new AppError(404, EmployeeErrorCode.employeeNotFound, 'Employee not found.');
  if (account.role === 'installer_admin') {
    throw new AppError(409, EmployeeErrorCode.installerAdminImmutable, "The Installer Admin's account is the company's own: it cannot be changed or removed here.");
  }
  return account;
}

/**
 * Employees (manual §3.4.2): the company's accounts, enabling them ("Enable Employee Account"), their roles, and
 * "Remove Account Limit", which takes one slot of the free ones and the Employee Account Add-On's.
 */
export async function employeeRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const { db } = ctx;

  await app.register(roleRoutes);
  await app.register(invitationRoutes);
  await app.register(joinRequestRoutes);

  app.get('/employees', { schema: { response: { 200: EmployeesReplySchema } }, preHandler: manageAccounts }, async (request) => ({
    items: await listEmployees(db, requireAuth(request).companyId),
  }));

  app.patch(
    '/employees/:accountId',
    { schema: { params: EmployeeParams, body: EmployeeUpdateBodySchema, response: { 200: EmployeeSchema } }, preHandler: manageAccounts, config: { oplog: 'Edit Employee' } },
    async (request) => {
      const auth = requireAuth(request);
      const { accountId } = request.params as { accountId: string };
      const body = request.body as EmployeeUpdateBody;
      const name = body.name === undefined ? undefined : nameOf(body.name);
      const { account, roleName } = await db.transaction(async (tx) => {
        // The company row is the slot counter's lock: two removals of the limit cannot both take the last slot.
        const [company] =
          body.limited === false
            ? await tx.select().from(companies).where(eq(companies.id, auth.companyId)).for('no key update')
            : [undefined];
        const before = await employeeFor(tx, auth.companyId, accountId);
        request.oplog.target = `${before.name} (${before.email})`;
        if (before.synced && name !== undefined && name !== before.name) {
          throw new AppError(409, EmployeeErrorCode.syncedAccount, "A synced account's name comes from the identity provider: change it there.");
        }
        const changes: string[] = [];
        let roleName: string | null = null;
        if (body.roleId !== undefined) {
          roleName = body.roleId === null ? null : (await roleOf(tx, auth.companyId, body.roleId)).name;
          if (body.roleId !== before.roleId) changes.push(roleName === null ? 'role removed' : `role set to "${roleName}"`);
        } else if (before.roleId) {
          [{ name: roleName } = { name: null }] = await tx.select({ name: roles.name }).from(roles).where(eq(roles.id, before.roleId));
        }
        if (body.enabled !== undefined && body.enabled !== before.enabled) changes.push(body.enabled ? 'enabled' : 'disabled');
        if (body.limited !== undefined && body.limited !== before.limited) {
          if (!body.limited && company) {
            const used = await usedSlots(tx, auth.companyId);
            const total = company.freeEmployeeSlots + company.purchasedEmployeeSlots;
            if (used >= total) {
              throw new AppError(
                422,
                EmployeeErrorCode.addOnSlotsExhausted,
                `All ${total} employee account slots are in use (${company.freeEmployeeSlots} free, ${company.purchasedEmployeeSlots} purchased): order the Employee Account Add-On or restore another employee's limit first.`,
              );
            }
          }
          changes.push(body.limited ? 'account limit restored' : 'account limit removed');
        }
        if (name !== undefined && name !== before.name) changes.push(`renamed to "${name}"`);
        const [account] = await tx
          .update(accounts)
          .set({
            ...(body.roleId !== undefined ? { roleId: body.roleId } : {}),
            ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
            ...(body.limited !== undefined ? { limited: body.limited } : {}),
            ...(name !== undefined ? { name } : {}),
          })
          .where(eq(accounts.id, before.id))
          .returning();
        if (body.enabled === false) await endSessionsOf(tx, [before.id]);
        request.oplog.detail = changes.join(', ') || 'no change';
        return { account: account!, roleName };
      });
      if (!account.enabled) ctx.hub.endStreamsOf([account.id]);
      return employeeView(account, roleName);
    },
  );

  app.delete(
    '/employees/:accountId',
    { schema: { params: EmployeeParams, response: { 204: Type.Null() } }, preHandler: manageAccounts, config: { oplog: 'Delete Employee' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const { accountId } = request.params as { accountId: string };
      await db.transaction(async (tx) => {
        const account = await employeeFor(tx, auth.companyId, accountId);
        request.oplog.target = `${account.name} (${account.email})`;
        if (account.synced) {
          throw new AppError(409, EmployeeErrorCode.syncedAccount, 'A synced account is removed by the identity provider: remove the user from the application there.');
        }
        // Its sessions go with it (the foreign key cascades).
        await tx.delete(accounts).where(eq(accounts.id, account.id));
      });
      ctx.hub.endStreamsOf([accountId]);
      return reply.status(204).send();
    },
  );

  // ---- Employee Account Add-On ---------------------------------------------------------------------

  app.get('/company/employee-addon', { schema: { response: { 200: AddOnReplySchema } }, preHandler: manageAccounts }, async (request) =>
    addOnOf(db, requireAuth(request).companyId),
  );

  app.post(
    '/company/employee-addon/orders',
    {
      schema: { body: AddOnOrderBodySchema, response: { 201: AddOnReplySchema } },
      preHandler: manageAccounts,
      config: { oplog: 'Order Employee Account Add-On' },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      const { quantity } = request.body as AddOnOrderBody;
      request.oplog.detail = `${quantity} employee account${quantity === 1 ? '' : 's'}`;
      await requireFeature(db, auth, RegionFeature.employeeAddOn);
      await requireAuthenticatedCompany(db, auth);
      // No payment provider: the order is recorded and its slots are usable at once.
      const addOn = await db.transaction(async (tx) => {
        await tx.insert(employeeAddOnOrders).values({ companyId: auth.companyId, quantity, orderedBy: auth.accountId });
        await tx
          .update(companies)
          .set({ purchasedEmployeeSlots: sql`${companies.purchasedEmployeeSlots} + ${quantity}` })
          .where(eq(companies.id, auth.companyId));
        return addOnOf(tx, auth.companyId);
      });
      return reply.status(201).send(addOn);
    },
  );
}

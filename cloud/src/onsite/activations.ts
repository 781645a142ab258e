import { SiteParams } from '../http/params.js';
import type { FastifyInstance } from 'fastify';
import { and, desc, eq } from 'drizzle-orm';
import Type from 'typebox';
import { LanDeviceClass, RpcMethod } from '@vigil/protocol';
import { ActivationJobListSchema, ActivationJobSchema, ErrorCode, Permission, SiteOperation, StartActivationBodySchema, type StartActivationBody } from '@vigil/protocol/api';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import { activationJobItems, activationJobs } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { siteOfRequest } from '../sites/access.js';
import { checkDevicePassword, checkVerificationCode, readDeviceDefaults, saveDeviceDefaults, type DeviceCredentials } from './defaults.js';
import { loadJobs } from './jobs.js';
import { edgeSeeingAll, names, sightingsOf } from './sightings.js';

const JobParams = Type.Object({ siteId: Type.String({ format: 'uuid' }), jobId: Type.String({ format: 'uuid' }) });
const LIST_LIMIT = 20;

/**
 * Activation and initialization of LAN devices (the manual's SADP Activate / Batch Activate, Table 3-2): the
 * cloud checks the request, then hands the work to the edge box that sees the devices and follows its reports.
 */
export async function activationRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const manageDevices = requirePermission(Permission.deviceManage);

  app.post(
    '/sites/:siteId/onsite/activations',
    {
      schema: { params: SiteParams, body: StartActivationBodySchema, response: { 202: ActivationJobSchema } },
      preHandler: manageDevices,
      config: { oplog: 'Activate Device' },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      const body = request.body as StartActivationBody;
      request.oplog.target = body.serials.join(', ').slice(0, 500);
      const site = await siteOfRequest(ctx.db, request, SiteOperation.manageDevice);

      const sightings = await sightingsOf(ctx.db, site, body.serials);
      const device = sightings.device;
      const panels = body.serials.filter((s) => device(s).deviceClass === LanDeviceClass.alarmPanel);
      if (panels.length > 0) {
        throw new AppError(
          422,
          ErrorCode.notSadpInitializable,
          `${names(panels)} ${panels.length > 1 ? 'are security control panels' : 'is a security control panel'}: SADP initializes every device type except security control panels.`,
        );
      }
      const activated = body.serials.filter((s) => device(s).activated);
      if (activated.length > 0) {
        throw new AppError(409, ErrorCode.deviceAlreadyActivated, `${names(activated)} ${activated.length > 1 ? 'are' : 'is'} already activated.`);
      }

      let creds: DeviceCredentials;
      if (body.useDefaults) {
        if (body.password !== undefined || body.verificationCode !== undefined) {
          throw new AppError(400, ErrorCode.validationFailed, 'Give either a password and verification code, or useDefaults, not both.');
        }
        const saved = await readDeviceDefaults(ctx.db, ctx.vault, auth.accountId, request.log);
        if (!saved) throw new AppError(400, ErrorCode.noDeviceDefaults, 'No default device password is saved; give a password and verification code.');
        creds = { password: saved.password, verificationCode: saved.verificationCode };
      } else {
        if (body.password === undefined) throw new AppError(400, ErrorCode.validationFailed, 'Give the device password (and verification code), or useDefaults.');
        creds = { password: body.password, verificationCode: body.verificationCode ?? '' };
      }
      checkDevicePassword(creds.password);
      // The AC router needs no verification code to enable Hik-Connect; every other device does.
      checkVerificationCode(creds.verificationCode, !body.serials.every((s) => device(s).deviceClass === LanDeviceClass.acRouter));

      // One job runs on one edge box.
      const chosen = edgeSeeingAll(sightings, body.serials, ctx.tunnel, 'activate');
      request.oplog.detail = `${body.serials.length} device(s) through edge box ${chosen.serial}`;
      if (!chosen.connected) throw new AppError(409, ErrorCode.edgeOffline, `The edge box ${chosen.serial} that sees these devices is not connected right now.`);

      const targets = body.serials.map((s) => sightings.byEdge.get(s)!.get(chosen.serial)!);
      const job = await ctx.db.transaction(async (tx) => {
        const [created] = await tx.insert(activationJobs).values({ companyId: site.companyId, siteId: site.id, edgeSerial: chosen.serial, createdBy: auth.accountId }).returning();
        await tx.insert(activationJobItems).values(
          targets.map((d) => ({ jobId: created!.id, serial: d.serial, model: d.model, deviceClass: d.deviceClass, ip: d.network.ipv4 })),
        );
        return created!;
      });
      try {
        await ctx.tunnel.call(
          chosen.serial,
          RpcMethod.lanInitialize,
          {
            jobId: job.id,
            devices: targets.map((d) => ({ serial: d.serial, deviceClass: d.deviceClass, ip: d.network.ipv4, httpPort: d.httpPort, activated: d.activated })),
            password: creds.password,
            verificationCode: creds.verificationCode,
            timeZone: site.timeZone,
          },
          ctx.config.rpcTimeoutMs,
        );
      } catch (err) {
        // The edge did not take the job: it leaves no trace (a report for it later is ignored).
        await ctx.db.delete(activationJobs).where(eq(activationJobs.id, job.id));
        throw err;
      }
      if (body.saveAsDefaults && !body.useDefaults) await saveDeviceDefaults(ctx.db, ctx.vault, auth.accountId, creds);
      ctx.hub.publish(site.companyId, { type: 'onsite.job', siteId: site.id, jobId: job.id });
      // Reports may have arrived meanwhile: answer with the job as it stands.
      const [view] = await loadJobs(ctx.db, await ctx.db.select().from(activationJobs).where(eq(activationJobs.id, job.id)));
      return reply.status(202).send(view);
    },
  );

  app.get(
    '/sites/:siteId/onsite/activations',
    { schema: { params: SiteParams, response: { 200: ActivationJobListSchema } }, preHandler: manageDevices },
    async (request) => {
      const site = await siteOfRequest(ctx.db, request);
      const jobs = await ctx.db.select().from(activationJobs).where(eq(activationJobs.siteId, site.id)).orderBy(desc(activationJobs.createdAt), desc(activationJobs.id)).limit(LIST_LIMIT);
      return { items: await loadJobs(ctx.db, jobs) };
    },
  );

  app.get(
    '/sites/:siteId/onsite/activations/:jobId',
    { schema: { params: JobParams, response: { 200: ActivationJobSchema } }, preHandler: manageDevices },
    async (request) => {
      const site = await siteOfRequest(ctx.db, request);
      const { jobId } = request.params as { jobId: string };
      const [job] = await ctx.db.select().from(activationJobs).where(and(eq(activationJobs.id, jobId), eq(activationJobs.siteId, site.id)));
      if (!job) throw new AppError(404, ErrorCode.notFound, 'Activation job not found.');
      return (await loadJobs(ctx.db, [job]))[0];
    },
  );
}

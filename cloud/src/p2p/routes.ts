import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import Type from 'typebox';
import { isP2pSerial, LanDeviceClass, shortSerial, type P2pInfoData } from '@vigil/protocol';
import {
  AddDeviceBySerialBodySchema,
  AddMethod,
  addMethodRefusal,
  DeviceAccessMode,
  DeviceSchema,
  ErrorCode,
  Permission,
  SiteOperation,
  type AddDeviceBySerialBody,
} from '@vigil/protocol/api';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import { p2pDevices } from '../db/schema.js';
import { bindDevices, directDevice } from '../devices/bind.js';
import { deviceView } from '../devices/routes.js';
import { AppError } from '../http/errors.js';
import { verifySecret } from '../security/secrets.js';
import { codeLocked } from '../security/throttle.js';
import { siteOfRequest } from '../sites/access.js';

const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });

/**
 * Adding a device by serial number and verification code (Table 3-7): the device is connected to the platform by
 * itself, and the installer proves they hold it with the code from its label or its platform access settings.
 */
export async function p2pRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.post(
    '/sites/:siteId/devices/by-serial',
    {
      schema: { params: SiteParams, body: AddDeviceBySerialBodySchema, response: { 201: DeviceSchema } },
      preHandler: requirePermission(Permission.deviceManage),
      config: { oplog: 'Add Device' },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      const body = request.body as AddDeviceBySerialBody;
      const entered = body.serial.trim();
      request.oplog.target = entered.slice(0, 128);
      const site = await siteOfRequest(ctx.db, request, SiteOperation.manageDevice);

      // §3.1.4: a long serial stands for the 9 characters ending at its last digit.
      const serial = shortSerial(entered);
      if (!serial || !isP2pSerial(serial)) {
        throw new AppError(
          422,
          ErrorCode.serialInvalid,
          `"${entered}" is not a serial number the platform knows devices by: enter the 9-character serial (letters and digits), or the long one from the label, whose last 9 characters up to its last digit are used.`,
        );
      }
      const [row] = await ctx.db.select().from(p2pDevices).where(eq(p2pDevices.shortSerial, serial));
      const info = row?.connected ? (row.info as P2pInfoData | null) : null;
      if (!row || !info) {
        throw new AppError(
          409,
          ErrorCode.deviceNotConnected,
          `No device with the serial number ${serial} is connected to the platform: check that it is powered, online and has the Hik-Connect service enabled.`,
        );
      }
      const refusedType = addMethodRefusal(AddMethod.serial, info.deviceClass);
      if (refusedType) {
        throw new AppError(422, ErrorCode.addMethodNotAllowed, `A ${refusedType} cannot be added by serial number (${serial}).`);
      }
      await checkVerificationCode(row.codeHash, info, body.verificationCode?.trim() ?? '', auth.client, serial);

      const now = new Date();
      const { created } = await bindDevices(
        ctx,
        auth,
        { site },
        [directDevice(info, { deviceKey: serial, host: '', port: 0, accessMode: DeviceAccessMode.p2p, name: body.name, seenAt: row.connectedAt ?? now })],
        'added by serial number',
      );
      const device = created[0]!;
      // The device may have left while it was being added: its presence follows its connection from now on.
      if (!ctx.p2p.isConnected(serial)) {
        const [latest] = await ctx.db.select().from(p2pDevices).where(eq(p2pDevices.shortSerial, serial));
        if (!latest?.connected) await ctx.presence.directReport(device.id, false, latest?.disconnectedAt ?? now, 'disconnected from the platform');
      }
      request.oplog.target = device.name;
      request.oplog.detail = `by serial number ${serial}`;
      ctx.hub.publish(site.companyId, { type: 'devices.changed', siteId: site.id });
      return reply.status(201).send(deviceView(device));
    },
  );

  /**
   * The code must match what the device connected with. Devices without one: the AC router needs none (§3.1.4);
   * others (AX HOME) are added by serial alone from the mobile app only.
   */
  async function checkVerificationCode(codeHash: string | null, info: P2pInfoData, code: string, client: string, serial: string) {
    if (codeHash === null) {
      if (info.deviceClass === LanDeviceClass.acRouter || client === 'mobile') return;
      throw new AppError(
        422,
        ErrorCode.verificationCodeRequired,
        `${info.model} (${serial}) has no verification code, which adding from the portal requires: add it with the mobile app.`,
      );
    }
    if (!code) {
      throw new AppError(422, ErrorCode.verificationCodeRequired, `Enter the device's verification code (on its label, or set when the Hik-Connect service was enabled).`);
    }
    const key = `p2p-add:${serial}`;
    const locked = await ctx.throttles.claim.lockedFor(key);
    if (locked > 0) throw codeLocked(locked, `device ${serial}`);
    if (!(await verifySecret(code, codeHash))) {
      const lockedNow = await ctx.throttles.claim.fail(key);
      if (lockedNow > 0) throw codeLocked(lockedNow, `device ${serial}`);
      throw new AppError(400, ErrorCode.verificationCodeInvalid, `The verification code does not match device ${serial}.`);
    }
    await ctx.throttles.claim.reset(key);
  }
}

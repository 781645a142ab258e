import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { lanChannels } from '@vigil/protocol';
import {
  AddDeviceByAddressBodySchema,
  AddMethod,
  addMethodRefusal,
  DeviceAccessMode,
  DeviceSchema,
  ErrorCode,
  Permission,
  SiteOperation,
  type AddDeviceByAddressBody,
} from '@vigil/protocol/api';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import { bindDevices, directDevice } from '../devices/bind.js';
import { deviceView } from '../devices/routes.js';
import { AppError } from '../http/errors.js';
import { siteOfRequest } from '../sites/access.js';
import { readDeviceInfo } from './client.js';
import { sealLogin } from './monitor.js';

const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
const DEFAULT_HTTP_PORT = 80;

/**
 * Adding an encoding device by IP address or domain name (Table 3-7): the cloud logs in to the device at its WAN
 * address and reads what it is. Such a device cannot be handed over and has none of the cloud-based features.
 */
export async function ipDomainRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.post(
    '/sites/:siteId/devices/by-address',
    {
      schema: { params: SiteParams, body: AddDeviceByAddressBodySchema, response: { 201: DeviceSchema } },
      preHandler: requirePermission(Permission.deviceManage),
      config: { oplog: 'Add Device' },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      const body = request.body as AddDeviceByAddressBody;
      const login = { address: body.address.trim(), port: body.port ?? DEFAULT_HTTP_PORT, username: body.username, password: body.password };
      request.oplog.target = `${login.address}:${login.port}`;
      const site = await siteOfRequest(ctx.db, request, SiteOperation.manageDevice);

      const info = await readDeviceInfo(login, ctx.config.allowPrivateDeviceAddresses);
      const refusedType = addMethodRefusal(AddMethod.ipDomain, info.deviceClass);
      if (refusedType) {
        throw new AppError(
          422,
          ErrorCode.addMethodNotAllowed,
          `Only encoding devices (cameras, NVRs, DVRs) can be added by IP/domain; ${info.model} ${info.serialNumber} is a ${refusedType}. Add it by serial number or from the LAN.`,
        );
      }

      const device = { deviceClass: info.deviceClass, model: info.model, serial: info.serialNumber, firmware: info.firmwareVersion };
      const channels = lanChannels(info.deviceClass, info.analogChannels ?? 0, info.digitalChannels ?? 0);
      const { created } = await bindDevices(
        ctx,
        auth,
        { site },
        [
          directDevice(
            { ...device, channels },
            {
              deviceKey: info.serialNumber,
              host: login.address,
              port: login.port,
              credentialsSealed: sealLogin(ctx.vault, info.serialNumber, login),
              accessMode: DeviceAccessMode.ipDomain,
              name: body.name,
              seenAt: new Date(),
            },
          ),
        ],
        'added by IP/domain',
      );
      const added = created[0]!;
      request.oplog.target = added.name;
      request.oplog.detail = `by IP/domain ${login.address}:${login.port}`;
      ctx.hub.publish(site.companyId, { type: 'devices.changed', siteId: site.id });
      return reply.status(201).send(deviceView(added));
    },
  );
}

import { LanDeviceClass, vlanUpdateProblem, type VlanBatch } from '@vigil/protocol';
import { ErrorCode, type LanOperationBody } from '@vigil/protocol/api';
import { AppError } from '../http/errors.js';
import { names } from './sightings.js';

/**
 * Checks a switch VLAN request before anything is sent (manual §3.2.3): switches only, and ids a switch can
 * take (1 is the default VLAN and exists already, 4095 is reserved, new ids run from 2 to 4094). How many
 * VLANs one batch may add depends on the model: that refusal is the switch's own.
 */
export function checkVlanRequest(body: LanOperationBody, classOf: (serial: string) => LanDeviceClass): VlanBatch {
  const others = body.serials.filter((s) => classOf(s) !== LanDeviceClass.networkSwitch);
  if (others.length > 0) {
    throw new AppError(
      422,
      ErrorCode.operationNotForDeviceType,
      `VLANs are configured on network switches only: ${names(others)} ${others.length > 1 ? 'are not switches' : 'is not a switch'}.`,
    );
  }
  if (!body.vlan) throw new AppError(422, ErrorCode.invalidVlanSettings, 'Give the VLAN settings: VLANs to add, port assignments, or both.');
  const problem = vlanUpdateProblem(body.vlan);
  if (problem) throw new AppError(422, ErrorCode.invalidVlanSettings, `Invalid VLAN settings: ${problem.message}.`);
  return body.vlan;
}

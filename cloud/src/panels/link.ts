import {
  DeviceKind,
  IsapiSubStatus,
  PANEL_OPERATIONS,
  PanelArming,
  PanelIsapiPath,
  PanelSubStatus,
  panelControlPath,
  panelModelOf,
  panelOperationRefusal,
  parsePanelAreaStatusList,
  parsePanelCapabilities,
  parsePanelHostStatus,
  parsePanelZoneStatusList,
  parseResponseStatus,
  type PanelModel,
  type PanelOperation,
  type PanelRefusalReason,
  type Result,
} from '@vigil/protocol';
import { DeviceAccessMode, PANEL_OPERATION_LOG, PANEL_REFUSAL_CODES, PanelErrorCode, type PanelStatus } from '@vigil/protocol/api';
import { setPanelArmed } from '../arc/panels.js';
import type { CloudContext } from '../context.js';
import type { devices } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { IsapiAnswer, IsapiRequest } from '../p2p/isapi.js';

type DeviceRow = typeof devices.$inferSelect;

const REFUSAL_REASONS = new Set<string>(Object.keys(PANEL_REFUSAL_CODES));

/**
 * A security control panel on a site, reached with ISAPI over its own platform connection (the role of Hik-Connect's
 * P2P tunnel). The model's rules are checked here before a control request leaves the cloud; the panel's own
 * refusals come back as API errors that say what the panel said.
 */
export class PanelLink {
  private readonly serial: string;

  /** Refuses (409) a device that is not a panel connected to the platform by itself. */
  constructor(
    private readonly ctx: CloudContext,
    private readonly device: DeviceRow,
  ) {
    if (device.kind !== DeviceKind.alarmPanel) {
      throw new AppError(409, PanelErrorCode.notAlarmPanel, `${device.name} is not a security control panel: only panels are armed and disarmed here.`);
    }
    if (device.accessMode !== DeviceAccessMode.p2p || device.edgeSerial !== null || !device.shortSerial) {
      throw new AppError(
        409,
        PanelErrorCode.notP2p,
        `${device.name} is not connected to the platform by itself (Hik-Connect P2P), which controlling it from the platform needs.`,
      );
    }
    this.serial = device.shortSerial;
  }

  /** Reads the panel's model, areas, zones and host status, and records for the ARC service whether it is armed. */
  async status(): Promise<PanelStatus> {
    const [caps, areas, zones, host] = await Promise.all([
      this.read(PanelIsapiPath.capabilities, 'its capabilities', parsePanelCapabilities),
      this.read(PanelIsapiPath.areaStatus, 'the status of its areas', parsePanelAreaStatusList),
      this.read(PanelIsapiPath.zoneStatus, 'the status of its zones', parsePanelZoneStatusList),
      this.read(PanelIsapiPath.hostStatus, 'its host status', parsePanelHostStatus),
    ]);
    await setPanelArmed(this.ctx.db, this.device.id, areas.some((a) => a.arming !== PanelArming.disarmed));
    // The capabilities document also counts the areas and zones, which are listed in full here.
    const { model, areas: _areas, zones: _zones, ...capabilities } = caps;
    return {
      deviceId: this.device.id,
      model,
      capabilities,
      operations: PANEL_OPERATIONS.map((operation) => ({ operation, refusal: panelOperationRefusal(model, operation)?.message ?? null })),
      areas,
      zones,
      host,
      readAt: new Date().toISOString(),
    };
  }

  /** Arms, disarms, silences or clears the alarm of an area; refused before anything is sent when the model does not take it. */
  async operate(op: PanelOperation, area: number): Promise<void> {
    const refusal = panelOperationRefusal(await this.model(), op);
    if (refusal) throw new AppError(422, PANEL_REFUSAL_CODES[refusal.reason], refusal.message);
    const what = `${PANEL_OPERATION_LOG[op].toLowerCase()} area ${area}`;
    const answer = await this.ask({ method: 'PUT', path: panelControlPath(op, area), body: '' });
    if (!ok(answer)) throw refusalOf(answer, what);
  }

  /** The model as the device was added, or, when that name is not one of the family's, as the panel reports it. */
  private async model(): Promise<PanelModel> {
    return panelModelOf(this.device.model) ?? (await this.read(PanelIsapiPath.capabilities, 'its capabilities', parsePanelCapabilities)).model;
  }

  private async read<T>(path: string, what: string, parse: (body: string) => Result<T>): Promise<T> {
    const answer = await this.ask({ method: 'GET', path });
    if (!ok(answer)) throw refusalOf(answer, `report ${what}`);
    const parsed = parse(answer.body);
    if (!parsed.ok) throw new AppError(502, PanelErrorCode.badAnswer, `The panel reported ${what} in a form the platform cannot read: ${parsed.error}`);
    return parsed.value;
  }

  private ask(request: IsapiRequest): Promise<IsapiAnswer> {
    return this.ctx.p2p.isapi(this.serial, request, this.ctx.config.rpcTimeoutMs);
  }
}

const ok = (a: IsapiAnswer): boolean => a.status >= 200 && a.status < 300;

/** The panel's refusal, told in the API's words with what the panel said. */
function refusalOf(answer: IsapiAnswer, what: string): AppError {
  const parsed = parseResponseStatus(answer.body);
  const sub = parsed.ok ? parsed.value.subStatusCode : '';
  const said = parsed.ok ? (parsed.value.errorMsg ?? `${parsed.value.statusString} (${sub})`) : `HTTP ${answer.status}`;
  const message = `The panel refused to ${what}: ${said}`;
  if (REFUSAL_REASONS.has(sub)) return new AppError(422, PANEL_REFUSAL_CODES[sub as PanelRefusalReason], message);
  if (sub === PanelSubStatus.areaInAlarm) return new AppError(409, PanelErrorCode.areaInAlarm, message);
  if (sub === IsapiSubStatus.invalidID) return new AppError(404, PanelErrorCode.areaNotFound, message);
  return new AppError(502, PanelErrorCode.refused, message);
}

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DigestServer,
  ISAPI_CONTENT_TYPE,
  IsapiPath,
  IsapiStatusCode,
  IsapiSubStatus,
  LanDeviceClass,
  PANEL_CAPABILITIES,
  PANEL_OPERATIONS,
  PanelArming,
  PanelIsapiPath,
  PanelOperation,
  PanelSubStatus,
  ZONE_TYPES,
  ZoneType,
  applyPanelArcSettings,
  buildDeviceInfo,
  buildPanelArcSettings,
  buildPanelAreaStatusList,
  buildPanelCapabilities,
  buildPanelHostStatus,
  buildPanelZoneStatusList,
  buildResponseStatus,
  defaultPanelArcSettings,
  fail,
  isP2pSerial,
  ok,
  panelArcSettingsDoc,
  panelArcSettingsProblem,
  panelAreaState,
  panelModelOf,
  panelOperationRefusal,
  parsePanelArcSettings,
  parsePanelControlPath,
  responseStatus,
  shortSerial,
  verificationCodeProblem,
  type PanelArcReceiver,
  type PanelArcSettings,
  type PanelAreaStatus,
  type PanelHostStatus,
  type PanelModel,
  type PanelModelCapabilities,
  type PanelZoneStatus,
  type P2pIsapiRequestData,
  type Result,
} from '@vigil/protocol';
import { verificationCodeFor } from '../camera/ip-camera.js';
import { longSerialFor, macFor } from '../devices/sim-device.js';
import { PlatformClient, platformMqttUrl, type PlatformIsapiAnswer } from '../devices/platform-client.js';
import { clampLatency, controlProblem, MAX_LATENCY_MS, readBody, sendJson } from '../http.js';
import { PanelEventKind } from './events.js';
import { ArcReporter, type ArcReporterState, type PanelEventRecord } from './reporter.js';

export interface PanelAreaSpec {
  name?: string;
}

export interface PanelZoneSpec {
  /** Default 1. */
  area?: number;
  /** Default instant. */
  type?: ZoneType;
  name?: string;
  /** An interior zone, left out when its area is stay armed. */
  stayBypass?: boolean;
  /** Delay zones: time to disarm after the zone is triggered (default 10 s). */
  entryDelaySec?: number;
}

/** ARC settings as given to the panel: any field may be left out (the defaults, or the current settings, apply). */
export type PanelArcSettingsInput = Partial<Omit<PanelArcSettings, 'receiver'>> & { receiver?: Partial<PanelArcReceiver> };

export interface AlarmPanelOptions {
  /** AX HOME, AX PRO, AX HUB, AX HYBRID or AX HYBRID PRO. */
  model: string;
  /** Long or short (with a 9-character short form); generated when absent. */
  serial?: string;
  name?: string;
  firmware?: string;
  /** Listen address of the HTTP API (default 127.0.0.1). */
  host?: string;
  /** 0 (default) picks a free port. */
  httpPort?: number;
  /** The account of the HTTP API (default admin / Abcd12345). */
  username?: string;
  password?: string;
  /** Hik-Connect verification code (default derived from the serial); an AX HOME has none. */
  verificationCode?: string;
  /** Default one area. */
  areas?: PanelAreaSpec[];
  /** Numbered from 1 in this order; default a delay door, an interior PIR, a window, a 24h, a fire, a panic and a tamper zone in area 1. */
  zones?: PanelZoneSpec[];
  arc?: PanelArcSettingsInput;
  /** The wait after a failed round of attempts before the next (default 10 s). */
  retryDelayMs?: number;
  /** The platform's base URL (http(s)://host:port) the Hik-Connect service connects to. */
  platformUrl?: string;
  /** Hik-Connect service on (default false). */
  hikConnect?: boolean;
  /** Network connected (default true). */
  online?: boolean;
  latencyMs?: number;
  /** Events and transmissions kept in the state (default 1000 each). */
  maxRecords?: number;
}

/** One entry of the CLI's ready line. */
export interface AlarmPanelEndpoints {
  model: PanelModel;
  serial: string;
  shortSerial: string;
  host: string;
  httpPort: number;
  /** Null for an AX HOME. */
  verificationCode: string | null;
}

export interface AlarmPanelState extends AlarmPanelEndpoints {
  name: string;
  firmware: string;
  online: boolean;
  latencyMs: number;
  capabilities: PanelModelCapabilities;
  platform: { url: string | null; hikConnect: boolean; connected: boolean };
  status: PanelHostStatus;
  areas: PanelAreaStatus[];
  zones: PanelZoneStatus[];
  arc: ArcReporterState;
  counters: { http: number; authFailures: number; dropped: number };
}

export interface AlarmPanelEvents {
  /** An ISAPI request, over HTTP or the platform connection, was answered (after the latency). */
  request: [method: string, path: string, status: number];
  /** The connection to the platform came up or went down. */
  platform: [connected: boolean];
}

/** Why an operation was refused: the HTTP status and the ResponseStatus sub-status to answer with. */
export type PanelOperationOutcome = { ok: true } | { ok: false; status: number; subStatus: string; message: string };

interface Area {
  id: number;
  name: string;
  arming: PanelArming;
  alarm: boolean;
  siren: boolean;
  entryDelay: NodeJS.Timeout | undefined;
}

interface Zone {
  id: number;
  name: string;
  area: number;
  type: ZoneType;
  stayBypass: boolean;
  entryDelayMs: number;
  active: boolean;
  alarm: boolean;
  tamper: boolean;
  /** The alarm reported for the zone, whose restore is due when the zone restores. */
  reported: PanelEventKind | undefined;
}

interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** Operations through the platform are reported as user 1, the installer's account on the panel. */
const REMOTE_USER = 1;
const MAX_AREAS = 32;
const MAX_ZONES = 256;
const MAX_ENTRY_DELAY_SEC = 600;

const DEFAULT_ZONES: PanelZoneSpec[] = [
  { name: 'Front door', type: ZoneType.delay },
  { name: 'Hallway PIR', type: ZoneType.instant, stayBypass: true },
  { name: 'Living room window', type: ZoneType.instant },
  { name: 'Safe', type: ZoneType.h24 },
  { name: 'Smoke detector', type: ZoneType.fire },
  { name: 'Panic button', type: ZoneType.panic },
  { name: 'Siren tamper', type: ZoneType.tamper },
];

const ARC_FIELDS = new Set([
  'enabled',
  'accountCode',
  'protocol',
  'receiver',
  'key',
  'impulseCountingTimeSec',
  'attempts',
  'pollingRateSec',
  'periodicTest',
  'periodicTestIntervalSec',
  'reportTypes',
]);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** `base` with the given fields changed, checked whole. Never throws. */
export function mergePanelArcSettings(base: PanelArcSettings, input: unknown): Result<PanelArcSettings> {
  if (!isObj(input)) return fail('arc must be an object');
  for (const k of Object.keys(input)) if (!ARC_FIELDS.has(k)) return fail(`arc: unknown field ${k}`);
  if (input.receiver !== undefined && !isObj(input.receiver)) return fail('arc.receiver must be an object');
  const p = input as PanelArcSettingsInput;
  const next: PanelArcSettings = {
    ...base,
    ...p,
    accountCode: typeof p.accountCode === 'string' ? p.accountCode.toUpperCase() : (p.accountCode ?? base.accountCode),
    receiver: { ...base.receiver, ...(p.receiver ?? {}) },
    reportTypes: p.reportTypes ?? [...base.reportTypes],
  };
  const problem = panelArcSettingsProblem(next);
  return problem ? fail(`arc: ${problem}`) : ok(next);
}

/** What is wrong with panel options (from code or JSON), or null. */
export function alarmPanelOptionsProblem(o: unknown): string | null {
  if (!isObj(o)) return 'a panel must be an object';
  if (typeof o.model !== 'string' || panelModelOf(o.model) === null) return `model must be one of ${Object.keys(PANEL_CAPABILITIES).join(', ')}`;
  for (const k of ['name', 'firmware', 'host', 'username', 'password'] as const) if (o[k] !== undefined && typeof o[k] !== 'string') return `${k} must be a string`;
  if (o.serial !== undefined) {
    const short = typeof o.serial === 'string' && /^[A-Za-z0-9]{9,64}$/.test(o.serial) ? shortSerial(o.serial) : null;
    if (short === null || !isP2pSerial(short)) return 'serial must be 9 to 64 letters or digits with a 9-character short form';
  }
  if (o.httpPort !== undefined && !isInt(o.httpPort, 0, 65535)) return 'httpPort must be a port number (0 picks one)';
  if (o.verificationCode !== undefined) {
    const p = typeof o.verificationCode === 'string' ? verificationCodeProblem(o.verificationCode) : 'must be a string';
    if (p) return `verificationCode: ${p}`;
  }
  if (o.areas !== undefined) {
    if (!Array.isArray(o.areas) || o.areas.length < 1 || o.areas.length > MAX_AREAS) return `areas must be a list of 1 to ${MAX_AREAS} areas`;
    for (const [i, a] of o.areas.entries()) {
      if (!isObj(a) || Object.keys(a).some((k) => k !== 'name') || (a.name !== undefined && typeof a.name !== 'string')) return `areas[${i}] must be {name?}`;
    }
  }
  const areas = Array.isArray(o.areas) ? o.areas.length : 1;
  if (o.zones !== undefined) {
    if (!Array.isArray(o.zones) || o.zones.length > MAX_ZONES) return `zones must be a list of at most ${MAX_ZONES} zones`;
    for (const [i, z] of o.zones.entries()) {
      const where = `zones[${i}]`;
      if (!isObj(z)) return `${where} must be an object`;
      for (const k of Object.keys(z)) if (!['area', 'type', 'name', 'stayBypass', 'entryDelaySec'].includes(k)) return `${where}: unknown field ${k}`;
      if (z.area !== undefined && !isInt(z.area, 1, areas)) return `${where}.area must be an area number from 1 to ${areas}`;
      if (z.type !== undefined && !ZONE_TYPES.includes(z.type as ZoneType)) return `${where}.type must be one of ${ZONE_TYPES.join(', ')}`;
      if (z.name !== undefined && typeof z.name !== 'string') return `${where}.name must be a string`;
      if (z.stayBypass !== undefined && typeof z.stayBypass !== 'boolean') return `${where}.stayBypass must be true or false`;
      const d = z.entryDelaySec;
      if (d !== undefined && !(typeof d === 'number' && d >= 0 && d <= MAX_ENTRY_DELAY_SEC)) return `${where}.entryDelaySec must be 0 to ${MAX_ENTRY_DELAY_SEC} seconds`;
    }
  }
  if (o.arc !== undefined) {
    const arc = mergePanelArcSettings(defaultPanelArcSettings(), o.arc);
    if (!arc.ok) return arc.error;
  }
  if (o.retryDelayMs !== undefined && !isInt(o.retryDelayMs, 10, 3_600_000)) return 'retryDelayMs must be an integer from 10 to 3600000';
  if (o.platformUrl !== undefined && (typeof o.platformUrl !== 'string' || platformMqttUrl(o.platformUrl) === null)) return 'platformUrl must be an http(s) URL';
  for (const k of ['hikConnect', 'online'] as const) if (o[k] !== undefined && typeof o[k] !== 'boolean') return `${k} must be true or false`;
  if (o.latencyMs !== undefined && !isInt(o.latencyMs, 0, MAX_LATENCY_MS)) return `latencyMs must be an integer from 0 to ${MAX_LATENCY_MS}`;
  if (o.maxRecords !== undefined && !isInt(o.maxRecords, 10, 100_000)) return 'maxRecords must be an integer from 10 to 100000';
  const known = new Set(['model', 'serial', 'name', 'firmware', 'host', 'httpPort', 'username', 'password', 'verificationCode', 'areas', 'zones', 'arc', 'retryDelayMs', 'platformUrl', 'hikConnect', 'online', 'latencyMs', 'maxRecords']);
  for (const k of Object.keys(o)) if (!known.has(k)) return `unknown field ${k}`;
  return null;
}

// ------------------------------------------------------------------------------------------ sim controls

const bool = (name: string) => (v: unknown) => (typeof v === 'boolean' ? undefined : `${name} must be true or false`);
const areaRef = (name: string) => (v: unknown) =>
  v === true || (isObj(v) && Object.keys(v).every((k) => k === 'area') && (v.area === undefined || isInt(v.area, 1, MAX_AREAS))) ? undefined : `${name} must be true or {area}`;

const PANEL_CONTROL: Record<string, (v: unknown) => string | undefined> = {
  online: bool('online'),
  trigger: (v) =>
    isObj(v) && isInt(v.zone, 1, MAX_ZONES) && (v.restore === undefined || typeof v.restore === 'boolean') && Object.keys(v).every((k) => k === 'zone' || k === 'restore')
      ? undefined
      : 'trigger must be {zone, restore?}',
  tamper: (v) =>
    isObj(v) && (v.zone === undefined || isInt(v.zone, 0, MAX_ZONES)) && (v.restore === undefined || typeof v.restore === 'boolean') && Object.keys(v).every((k) => k === 'zone' || k === 'restore')
      ? undefined
      : 'tamper must be {zone?, restore?} (no zone: the panel itself)',
  acLoss: bool('acLoss'),
  batteryLow: bool('batteryLow'),
  panic: areaRef('panic'),
  fire: areaRef('fire'),
  periodicTest: (v) => (v === true ? undefined : 'periodicTest must be true'),
  arc: (v) => (isObj(v) ? undefined : 'arc must be an object'),
  keypad: (v) =>
    isObj(v) && PANEL_OPERATIONS.includes(v.operation as PanelOperation) && isInt(v.area, 1, MAX_AREAS) && (v.user === undefined || isInt(v.user, 0, 999))
      ? undefined
      : `keypad must be {operation: ${PANEL_OPERATIONS.join('|')}, area, user?}`,
  platformUrl: (v) => (v === null || (typeof v === 'string' && platformMqttUrl(v) !== null) ? undefined : 'platformUrl must be an http(s) URL or null'),
  hikConnect: bool('hikConnect'),
};

interface PanelControl {
  reachable?: boolean;
  latencyMs?: number;
  online?: boolean;
  trigger?: { zone: number; restore?: boolean };
  tamper?: { zone?: number; restore?: boolean };
  acLoss?: boolean;
  batteryLow?: boolean;
  panic?: true | { area?: number };
  fire?: true | { area?: number };
  periodicTest?: true;
  arc?: PanelArcSettingsInput;
  keypad?: { operation: PanelOperation; area: number; user?: number };
  platformUrl?: string | null;
  hikConnect?: boolean;
}

/**
 * A simulated AX-family security control panel (manual §3.2.2). It keeps areas and zones, arms, disarms,
 * silences and clears alarms as its model allows, raises alarm, trouble, open/close and periodic test events,
 * and reports them to its ARC over SIA DC-09 (see ArcReporter). Its ISAPI-style HTTP API takes Digest
 * authentication; `/__sim/state` and `/__sim/control` expose and steer it. With `platformUrl` and `hikConnect`
 * it connects to the platform by itself, as the LAN devices do, to be added by serial number.
 */
export class AlarmPanel extends EventEmitter<AlarmPanelEvents> {
  readonly model: PanelModel;
  readonly serial: string;
  readonly capabilities: PanelModelCapabilities;
  /** The ARC transmission: its queue, records and events. */
  readonly arc: ArcReporter;
  private readonly opts: AlarmPanelOptions;
  private readonly digest: DigestServer;
  private readonly username: string;
  private readonly password: string;
  private readonly verificationCode: string | undefined;
  private readonly areas: Area[];
  private readonly zones: Zone[];
  private readonly hostFlags = { acPowerLoss: false, batteryLow: false, tamper: false };
  private online: boolean;
  private latency: number;
  private platformUrl: string | null;
  private hikConnect: boolean;
  private platform: PlatformClient | undefined;
  private server: Server | undefined;
  private httpPort = 0;
  private testTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly held = new Set<IncomingMessage>();
  private readonly counters = { http: 0, authFailures: 0, dropped: 0 };

  /** Throws a TypeError on bad options (see alarmPanelOptionsProblem). */
  constructor(opts: AlarmPanelOptions) {
    super();
    const problem = alarmPanelOptionsProblem(opts);
    if (problem) throw new TypeError(problem);
    this.opts = opts;
    this.model = panelModelOf(opts.model)!;
    this.capabilities = PANEL_CAPABILITIES[this.model];
    this.serial = opts.serial ?? longSerialFor(this.model.replace(/ /g, ''), randomBytes(6).toString('hex'));
    this.username = opts.username ?? 'admin';
    this.password = opts.password ?? 'Abcd12345';
    this.verificationCode = this.capabilities.verificationCode ? (opts.verificationCode ?? verificationCodeFor(this.serial)) : undefined;
    this.areas = (opts.areas ?? [{}]).map((a, i) => ({ id: i + 1, name: a.name ?? `Area ${i + 1}`, arming: PanelArming.disarmed, alarm: false, siren: false, entryDelay: undefined }));
    this.zones = (opts.zones ?? DEFAULT_ZONES).map((z, i) => ({
      id: i + 1,
      name: z.name ?? `Zone ${i + 1}`,
      area: z.area ?? 1,
      type: z.type ?? ZoneType.instant,
      stayBypass: z.stayBypass ?? false,
      entryDelayMs: Math.round((z.entryDelaySec ?? 10) * 1000),
      active: false,
      alarm: false,
      tamper: false,
      reported: undefined,
    }));
    const arc = opts.arc === undefined ? ok(defaultPanelArcSettings()) : mergePanelArcSettings(defaultPanelArcSettings(), opts.arc);
    if (!arc.ok) throw new TypeError(arc.error);
    this.arc = new ArcReporter(arc.value, {
      ...(opts.retryDelayMs === undefined ? {} : { retryDelayMs: opts.retryDelayMs }),
      ...(opts.maxRecords === undefined ? {} : { maxRecords: opts.maxRecords }),
    });
    this.online = opts.online ?? true;
    this.arc.setOnline(this.online);
    this.latency = clampLatency(opts.latencyMs ?? 0);
    this.platformUrl = opts.platformUrl ?? null;
    this.hikConnect = opts.hikConnect ?? false;
    this.digest = new DigestServer({ realm: this.model, users: (u) => (u === this.username ? this.password : undefined) });
  }

  get shortSerial(): string {
    return shortSerial(this.serial)!;
  }

  get endpoints(): AlarmPanelEndpoints {
    return {
      model: this.model,
      serial: this.serial,
      shortSerial: this.shortSerial,
      host: this.opts.host ?? '127.0.0.1',
      httpPort: this.httpPort,
      verificationCode: this.verificationCode ?? null,
    };
  }

  get state(): AlarmPanelState {
    return {
      ...this.endpoints,
      name: this.name,
      firmware: this.firmware,
      online: this.online,
      latencyMs: this.latency,
      capabilities: { ...this.capabilities },
      platform: { url: this.platformUrl, hikConnect: this.hikConnect, connected: this.platform?.connected ?? false },
      status: this.hostStatus,
      areas: this.areaStatus,
      zones: this.zoneStatus,
      arc: this.arc.state,
      counters: { ...this.counters },
    };
  }

  private get name(): string {
    return this.opts.name ?? `${this.model} ${this.shortSerial}`;
  }

  private get firmware(): string {
    return this.opts.firmware ?? 'V1.2.8 build 240101';
  }

  get areaStatus(): PanelAreaStatus[] {
    return this.areas.map((a) => ({
      id: a.id,
      name: a.name,
      arming: a.arming,
      state: panelAreaState(a.arming, a.alarm),
      alarm: a.alarm,
      siren: a.siren,
      entryDelay: a.entryDelay !== undefined,
    }));
  }

  get zoneStatus(): PanelZoneStatus[] {
    return this.zones.map((z) => ({ id: z.id, name: z.name, area: z.area, type: z.type, active: z.active, alarm: z.alarm, tamper: z.tamper, stayBypass: z.stayBypass }));
  }

  get hostStatus(): PanelHostStatus {
    return { ...this.hostFlags, arcEnabled: this.arc.arcSettings.enabled, arcQueued: this.arc.queued, arcCommFailure: this.arc.hasCommFailure };
  }

  // ----------------------------------------------------------------------------------------- operations

  /**
   * Arms, disarms, silences or clears the alarm of an area. Through the platform (the default) the model's
   * rules all apply; from the panel's own keypad (`fromPlatform: false`) only its stay and silence features do.
   */
  operate(op: PanelOperation, areaId: number, opts: { user?: number; fromPlatform?: boolean } = {}): PanelOperationOutcome {
    const refusal = panelOperationRefusal(this.model, op, opts.fromPlatform ?? true);
    if (refusal) return { ok: false, status: 403, subStatus: refusal.reason, message: refusal.message };
    const area = this.areas.find((a) => a.id === areaId);
    if (!area) return { ok: false, status: 404, subStatus: IsapiSubStatus.invalidID, message: `no area ${areaId}: the panel has ${this.areas.length}` };
    const user = opts.user ?? REMOTE_USER;
    switch (op) {
      case PanelOperation.awayArm:
      case PanelOperation.stayArm: {
        if (area.alarm) return { ok: false, status: 403, subStatus: PanelSubStatus.areaInAlarm, message: `area ${area.id} is in alarm: clear the alarm or disarm first` };
        const arming = op === PanelOperation.awayArm ? PanelArming.away : PanelArming.stay;
        if (area.arming === arming) break;
        area.arming = arming;
        this.arc.report({ kind: arming === PanelArming.away ? PanelEventKind.closing : PanelEventKind.stayClosing, area: area.id, user });
        break;
      }
      case PanelOperation.disarm: {
        const wasArmed = area.arming !== PanelArming.disarmed;
        area.arming = PanelArming.disarmed;
        this.clearAlarm(area);
        if (wasArmed) this.arc.report({ kind: PanelEventKind.opening, area: area.id, user });
        break;
      }
      case PanelOperation.silence:
        area.siren = false;
        break;
      case PanelOperation.clearAlarm:
        this.clearAlarm(area);
        break;
    }
    return { ok: true };
  }

  /** A detector fires (or, with `restore`, returns to normal). False for an unknown zone. */
  triggerZone(id: number, restore = false): boolean {
    const zone = this.zones.find((z) => z.id === id);
    if (!zone) return false;
    const area = this.areas.find((a) => a.id === zone.area)!;
    if (restore) {
      zone.active = false;
      if (zone.reported) this.arc.report({ kind: zone.reported, restore: true, area: area.id, zone: zone.id, zoneType: zone.type });
      zone.reported = undefined;
      return true;
    }
    zone.active = true;
    switch (zone.type) {
      case ZoneType.fire:
        this.alarm(area, PanelEventKind.fire, zone);
        break;
      case ZoneType.panic:
        this.alarm(area, PanelEventKind.panic, zone);
        break;
      case ZoneType.tamper:
        this.alarm(area, PanelEventKind.tamper, zone);
        break;
      case ZoneType.h24:
        this.alarm(area, PanelEventKind.burglary, zone);
        break;
      default: {
        const armed = area.arming === PanelArming.away || (area.arming === PanelArming.stay && !zone.stayBypass);
        if (!armed) break;
        if (zone.type === ZoneType.delay && zone.entryDelayMs > 0) this.startEntryDelay(area, zone);
        else this.alarm(area, PanelEventKind.burglary, zone);
      }
    }
    return true;
  }

  /** A detector's tamper switch (or, without a zone, the panel's enclosure) opens or, with `restore`, closes. */
  tamper(zoneId?: number, restore = false): boolean {
    const zone = zoneId ? this.zones.find((z) => z.id === zoneId) : undefined;
    if (zoneId && !zone) return false;
    if ((zone ? zone.tamper : this.hostFlags.tamper) === !restore) return true;
    if (zone) zone.tamper = !restore;
    else this.hostFlags.tamper = !restore;
    const area = zone ? this.areas.find((a) => a.id === zone.area) : undefined;
    if (area && !restore) {
      area.alarm = true;
      area.siren = true;
    }
    this.arc.report({ kind: PanelEventKind.tamper, restore, area: area?.id ?? 0, zone: zone?.id ?? 0 });
    return true;
  }

  /** The panel's panic or fire button, in an area (default 1). */
  button(kind: typeof PanelEventKind.panic | typeof PanelEventKind.fire, areaId = 1): boolean {
    const area = this.areas.find((a) => a.id === areaId);
    if (!area) return false;
    this.alarm(area, kind);
    return true;
  }

  setAcPowerLoss(lost: boolean): void {
    if (this.hostFlags.acPowerLoss === lost) return;
    this.hostFlags.acPowerLoss = lost;
    this.arc.report({ kind: PanelEventKind.acLoss, restore: !lost });
  }

  setBatteryLow(low: boolean): void {
    if (this.hostFlags.batteryLow === low) return;
    this.hostFlags.batteryLow = low;
    this.arc.report({ kind: PanelEventKind.lowBattery, restore: !low });
  }

  /** Sends a periodic test report now (a trouble present shows in its code). */
  periodicTest(): PanelEventRecord {
    return this.arc.report({ kind: PanelEventKind.periodicTest, trouble: this.hostFlags.acPowerLoss || this.hostFlags.batteryLow });
  }

  /** Applies new ARC settings (already checked) and restarts the periodic test timer. */
  setArcSettings(settings: PanelArcSettings): void {
    this.arc.configure(settings);
    this.schedulePeriodicTest();
  }

  setOnline(online: boolean): void {
    this.online = online;
    this.arc.setOnline(online);
    if (online) this.releaseHeld();
    this.syncPlatform();
  }

  setLatency(ms: number): void {
    this.latency = clampLatency(ms);
  }

  setPlatform(change: { url?: string | null; hikConnect?: boolean }): void {
    if (change.url !== undefined) {
      if (change.url !== null && platformMqttUrl(change.url) === null) throw new TypeError(`platformUrl must be an http(s) URL: ${JSON.stringify(change.url)}`);
      this.platformUrl = change.url;
    }
    if (change.hikConnect !== undefined) this.hikConnect = change.hikConnect;
    this.syncPlatform();
  }

  private alarm(area: Area, kind: PanelEventKind, zone?: Zone): void {
    area.alarm = true;
    area.siren = true;
    if (zone) {
      zone.alarm = true;
      zone.reported = kind;
    }
    this.arc.report({ kind, area: area.id, zone: zone?.id ?? 0, ...(zone ? { zoneType: zone.type } : {}) });
  }

  /** Disarming in time stops the alarm of a delay zone. */
  private startEntryDelay(area: Area, zone: Zone): void {
    if (area.entryDelay) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      area.entryDelay = undefined;
      if (area.arming !== PanelArming.disarmed) this.alarm(area, PanelEventKind.burglary, zone);
    }, zone.entryDelayMs);
    area.entryDelay = t;
    this.timers.add(t);
  }

  /** Ends the alarm: sirens off, the alarm memory of the area and its zones cleared, a running entry delay stopped. */
  private clearAlarm(area: Area): void {
    area.alarm = false;
    area.siren = false;
    if (area.entryDelay) {
      clearTimeout(area.entryDelay);
      this.timers.delete(area.entryDelay);
      area.entryDelay = undefined;
    }
    for (const z of this.zones) if (z.area === area.id) z.alarm = false;
  }

  private schedulePeriodicTest(): void {
    clearInterval(this.testTimer);
    this.testTimer = undefined;
    const s = this.arc.arcSettings;
    if (this.server && s.enabled && s.periodicTest) this.testTimer = setInterval(() => this.periodicTest(), Math.round(s.periodicTestIntervalSec * 1000));
  }

  // ------------------------------------------------------------------------------------------ platform

  /** Connects to the platform, or leaves it, as the Hik-Connect setting, the platform URL and the network call for. */
  private syncPlatform(): void {
    const url = this.platformUrl;
    const wanted = this.server !== undefined && this.hikConnect && this.online && url !== null;
    if (this.platform && (!wanted || this.platform.platformUrl !== url)) void this.leavePlatform();
    if (!wanted) return;
    if (!this.platform) {
      const client = new PlatformClient({ platformUrl: url, shortSerial: this.shortSerial, isapi: (r) => this.answerPlatform(r) });
      client.on('connected', () => this.emit('platform', true));
      client.on('disconnected', () => this.emit('platform', false));
      this.platform = client;
    }
    this.platform.start({
      // An AX HOME has no verification code and logs in without one.
      ...(this.verificationCode === undefined ? {} : { password: this.verificationCode }),
      info: { serial: this.serial, deviceClass: LanDeviceClass.alarmPanel, model: this.model, firmware: this.firmware, name: this.name, channels: 0 },
    });
  }

  private async leavePlatform(): Promise<void> {
    const client = this.platform;
    this.platform = undefined;
    await client?.stop();
  }

  // ---------------------------------------------------------------------------------------- life cycle

  async start(): Promise<AlarmPanelEndpoints> {
    if (this.server) return this.endpoints;
    const server = createServer((req, res) => this.onHttp(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.httpPort ?? 0, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.httpPort = (server.address() as AddressInfo).port;
    this.arc.start();
    this.schedulePeriodicTest();
    this.syncPlatform();
    return this.endpoints;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.arc.stop();
    this.schedulePeriodicTest();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const a of this.areas) a.entryDelay = undefined;
    this.releaseHeld();
    await this.leavePlatform();
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
  }

  // ---------------------------------------------------------------------------------------------- HTTP

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://panel');
    const method = req.method ?? 'GET';
    if (url.pathname === '/__sim/state' && method === 'GET') return sendJson(res, 200, this.state);
    if (url.pathname === '/__sim/control' && method === 'POST') return readBody(req, (body) => this.onControl(body, res));
    if (!this.online) return this.hold(req);
    readBody(req, (body) => {
      this.counters.http++;
      const a =
        body === undefined
          ? this.status(413, url.pathname, IsapiStatusCode.invalidOperation, IsapiSubStatus.badXmlContent, 'body too large')
          : this.answer(method, url, req.url ?? '/', body, req.headers.authorization);
      this.later(() => {
        if (!this.online) return this.hold(req);
        res.writeHead(a.status, { 'content-type': ISAPI_CONTENT_TYPE, ...(a.headers ?? {}) });
        res.end(a.body);
        this.emit('request', method, url.pathname, a.status);
      });
    });
  }

  /** An ISAPI request over the platform connection: what the HTTP API answers, after the same latency. */
  private async answerPlatform(r: P2pIsapiRequestData): Promise<PlatformIsapiAnswer> {
    const url = new URL(r.path, 'http://panel');
    const a = this.answer(r.method, url, r.path, Buffer.from(r.body ?? '', 'utf8'), undefined, true);
    await new Promise<void>((resolve) => this.later(resolve));
    this.emit('request', r.method, url.pathname, a.status);
    return { status: a.status, contentType: ISAPI_CONTENT_TYPE, body: a.body };
  }

  /** `viaPlatform`: the request came over the panel's own platform connection, which needs no digest login. */
  private answer(method: string, url: URL, rawUrl: string, body: Buffer, authorization: string | undefined, viaPlatform = false): Answer {
    const path = url.pathname;
    if (!path.startsWith('/ISAPI/')) return this.status(404, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.notFound);
    const verdict = viaPlatform ? null : this.digest.verify(authorization, method, rawUrl);
    if (verdict && !verdict.ok) {
      this.counters.authFailures++;
      return { ...this.status(401, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.unauthorized), headers: { 'www-authenticate': verdict.challenge } };
    }
    const done = (): Answer => this.status(200, path, IsapiStatusCode.ok, IsapiSubStatus.ok);
    const control = parsePanelControlPath(url);
    if (control) {
      if (method !== 'PUT') return this.status(405, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.methodNotAllowed);
      if (!control.ok) return this.status(400, path, IsapiStatusCode.invalidXmlContent, PanelSubStatus.invalidArmingWay, control.error);
      const out = this.operate(control.value.op, control.value.area);
      return out.ok ? done() : this.status(out.status, path, IsapiStatusCode.invalidOperation, out.subStatus, out.message);
    }
    switch (`${method} ${path}`) {
      case `GET ${IsapiPath.deviceInfo}`:
        return this.xml(
          buildDeviceInfo({
            deviceName: this.name,
            deviceClass: LanDeviceClass.alarmPanel,
            model: this.model,
            serialNumber: this.serial,
            macAddress: macFor(this.serial),
            firmwareVersion: this.firmware,
            firmwareReleasedDate: '2024-01-01',
          }),
        );
      case `GET ${PanelIsapiPath.capabilities}`:
        return this.xml(buildPanelCapabilities({ model: this.model, ...this.capabilities, areas: this.areas.length, zones: this.zones.length }));
      case `GET ${PanelIsapiPath.areaStatus}`:
        return this.xml(buildPanelAreaStatusList(this.areaStatus));
      case `GET ${PanelIsapiPath.zoneStatus}`:
        return this.xml(buildPanelZoneStatusList(this.zoneStatus));
      case `GET ${PanelIsapiPath.hostStatus}`:
        return this.xml(buildPanelHostStatus(this.hostStatus));
      case `GET ${PanelIsapiPath.arc}`:
        return this.xml(buildPanelArcSettings(panelArcSettingsDoc(this.arc.arcSettings)));
      case `PUT ${PanelIsapiPath.arc}`: {
        const doc = parsePanelArcSettings(body);
        const next = doc.ok ? applyPanelArcSettings(this.arc.arcSettings, doc.value) : doc;
        if (!next.ok) return this.status(400, path, IsapiStatusCode.invalidXmlContent, IsapiSubStatus.badXmlContent, next.error);
        this.setArcSettings(next.value);
        return done();
      }
    }
    const known = [IsapiPath.deviceInfo, ...Object.values(PanelIsapiPath)] as string[];
    if (known.includes(path)) return this.status(405, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.methodNotAllowed);
    return this.status(404, path, IsapiStatusCode.invalidOperation, IsapiSubStatus.notFound);
  }

  private onControl(body: Buffer | undefined, res: ServerResponse): void {
    let input: unknown;
    try {
      input = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
    } catch {
      return sendJson(res, 400, { statusCode: 400, code: 'BAD_JSON', message: 'body is not JSON' });
    }
    const problem = controlProblem(input, PANEL_CONTROL);
    if (problem) return sendJson(res, 400, { statusCode: 400, code: 'BAD_CONTROL', message: problem });
    const c = input as PanelControl;
    const bad = (message: string) => sendJson(res, 400, { statusCode: 400, code: 'BAD_CONTROL', message });
    // Everything is checked before anything changes.
    const arc = c.arc === undefined ? undefined : mergePanelArcSettings(this.arc.arcSettings, c.arc);
    if (arc && !arc.ok) return bad(arc.error);
    if (c.trigger && !this.zones.some((z) => z.id === c.trigger!.zone)) return bad(`no zone ${c.trigger.zone}`);
    if (c.tamper?.zone && !this.zones.some((z) => z.id === c.tamper!.zone)) return bad(`no zone ${c.tamper.zone}`);
    for (const ref of [c.panic, c.fire, c.keypad]) {
      const area = typeof ref === 'object' ? ref.area : undefined;
      if (area !== undefined && !this.areas.some((a) => a.id === area)) return bad(`no area ${area}`);
    }
    if (c.latencyMs !== undefined) this.setLatency(c.latencyMs);
    if (arc?.ok) this.setArcSettings(arc.value);
    const online = c.online ?? c.reachable;
    if (online !== undefined) this.setOnline(online);
    if (c.platformUrl !== undefined || c.hikConnect !== undefined) {
      this.setPlatform({ ...(c.platformUrl === undefined ? {} : { url: c.platformUrl }), ...(c.hikConnect === undefined ? {} : { hikConnect: c.hikConnect }) });
    }
    if (c.acLoss !== undefined) this.setAcPowerLoss(c.acLoss);
    if (c.batteryLow !== undefined) this.setBatteryLow(c.batteryLow);
    if (c.tamper) this.tamper(c.tamper.zone, c.tamper.restore ?? false);
    if (c.trigger) this.triggerZone(c.trigger.zone, c.trigger.restore ?? false);
    if (c.panic) this.button(PanelEventKind.panic, c.panic === true ? 1 : c.panic.area);
    if (c.fire) this.button(PanelEventKind.fire, c.fire === true ? 1 : c.fire.area);
    if (c.periodicTest) this.periodicTest();
    if (c.keypad) {
      const out = this.operate(c.keypad.operation, c.keypad.area, { fromPlatform: false, ...(c.keypad.user === undefined ? {} : { user: c.keypad.user }) });
      if (!out.ok) return sendJson(res, 409, { statusCode: 409, code: 'REFUSED', subStatus: out.subStatus, message: out.message });
    }
    sendJson(res, 200, this.state);
  }

  private status(http: number, path: string, code: IsapiStatusCode, sub: string, errorMsg?: string): Answer {
    return { status: http, body: buildResponseStatus(responseStatus(path, code, sub, errorMsg === undefined ? {} : { errorMsg })) };
  }

  private xml(body: string): Answer {
    return { status: 200, body };
  }

  private later(fn: () => void): void {
    if (this.latency === 0) return fn();
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, this.latency);
    this.timers.add(t);
  }

  /** Offline, a request gets no answer; its connection is dropped when the panel comes back or stops. */
  private hold(req: IncomingMessage): void {
    this.counters.dropped++;
    this.held.add(req);
    req.socket.once('close', () => this.held.delete(req));
  }

  private releaseHeld(): void {
    for (const req of this.held) req.socket.destroy();
    this.held.clear();
  }
}

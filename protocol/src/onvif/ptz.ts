import { fail, ok, type Result } from '../result.js';
import { formatXsDuration, parseXsDuration } from './events.js';
import { buildEnvelope, parseResponse, requestOperation, type SoapEnvelope } from './soap.js';
import { attr, childNode, childText, children, element, isNode, textElement, type XmlNode } from './xml.js';

/** The path the simulated devices serve the PTZ service on (announced in GetCapabilities and GetServices). */
export const PTZ_SERVICE_PATH = '/onvif/ptz_service';

/** The generic coordinate spaces: positions −1..1 pan/tilt and 0..1 zoom, velocities −1..1. */
export const PtzSpace = {
  panTiltPosition: 'http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace',
  zoomPosition: 'http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace',
  panTiltVelocity: 'http://www.onvif.org/ver10/tptz/PanTiltSpaces/VelocityGenericSpace',
  zoomVelocity: 'http://www.onvif.org/ver10/tptz/ZoomSpaces/VelocityGenericSpace',
} as const;

/** PTZ fault subcodes under `ter:InvalidArgVal` (or `ter:Action`), as the PTZ service specification names them. */
export const PtzFaultSubcode = {
  noToken: 'ter:NoToken',
  noPtzProfile: 'ter:NoPTZProfile',
  spaceNotSupported: 'ter:SpaceNotSupported',
  invalidVelocity: 'ter:InvalidVelocity',
  presetExist: 'ter:PresetExist',
  invalidPresetName: 'ter:InvalidPresetName',
  tooManyPresets: 'ter:TooManyPresets',
} as const;

export interface PtzVector {
  pan: number;
  tilt: number;
  zoom: number;
}

export interface PtzPreset {
  token: string;
  name: string;
  /** Where the preset points; absent when the device does not say. */
  position?: PtzVector;
}

export interface PtzNode {
  token: string;
  name: string;
  maxPresets: number;
}

export interface PtzConfiguration {
  token: string;
  name: string;
  nodeToken: string;
  /** How long a continuous move without a Timeout lasts. */
  defaultTimeoutMs: number;
}

const MAX_TOKEN = 64;
const MAX_PRESET_NAME = 64;
const MAX_PRESETS_LISTED = 256;

function checkToken(what: string, token: string): void {
  if (token.length === 0 || token.length > MAX_TOKEN) throw new RangeError(`${what} must be 1 to ${MAX_TOKEN} characters`);
}

/** A coordinate written without exponent or negative zero (some clients read attributes with a plain decimal pattern). */
function coordinate(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError('PTZ coordinates must be finite numbers');
  const rounded = Math.round(n * 1e6) / 1e6;
  return String(rounded === 0 ? 0 : rounded);
}

const panTilt = (tag: string, pan: number, tilt: number, space?: string): string =>
  element(tag, '', { x: coordinate(pan), y: coordinate(tilt), space });
const zoom = (tag: string, x: number, space?: string): string => element(tag, '', { x: coordinate(x), space });

function request(operation: string, content: string | readonly string[], securityHeader: string | undefined): string {
  return buildEnvelope({
    ...(securityHeader === undefined ? {} : { header: securityHeader }),
    body: element(`tptz:${operation}`, content),
    namespaces: ['tptz', 'tt'],
  });
}

const reply = (operation: string, content: string | readonly string[] = ''): string =>
  buildEnvelope({ body: element(`tptz:${operation}Response`, content), namespaces: ['tptz', 'tt'] });

function tokenText(node: XmlNode, name: string): Result<string> {
  const t = childText(node, name)?.trim();
  if (!t) return fail(`${name} is missing`);
  if (t.length > MAX_TOKEN) return fail(`${name} is longer than ${MAX_TOKEN} characters`);
  return ok(t);
}

function numberAttr(node: XmlNode | undefined, name: string): Result<number | undefined> {
  const v = attr(node, name)?.trim();
  if (v === undefined) return ok(undefined);
  const n = Number(v);
  return v !== '' && Number.isFinite(n) ? ok(n) : fail(`${name}="${v.slice(0, 32)}" is not a number`);
}

// ------------------------------------------------------------------------------------------------ requests

export const buildGetNodes = (securityHeader?: string): string => request('GetNodes', '', securityHeader);
export const buildGetConfigurations = (securityHeader?: string): string => request('GetConfigurations', '', securityHeader);

export interface ContinuousMoveRequest {
  profileToken: string;
  /** Velocities −1..1; a missing axis is not moved. */
  velocity: Partial<PtzVector>;
  timeoutMs?: number;
}

export function buildContinuousMove(req: ContinuousMoveRequest, securityHeader?: string): string {
  checkToken('profileToken', req.profileToken);
  const v = req.velocity;
  if ((v.pan === undefined) !== (v.tilt === undefined)) throw new RangeError('pan and tilt go together');
  return request(
    'ContinuousMove',
    [
      textElement('tptz:ProfileToken', req.profileToken),
      element('tptz:Velocity', [
        v.pan === undefined || v.tilt === undefined ? '' : panTilt('tt:PanTilt', v.pan, v.tilt),
        v.zoom === undefined ? '' : zoom('tt:Zoom', v.zoom),
      ]),
      req.timeoutMs === undefined ? '' : textElement('tptz:Timeout', formatXsDuration(req.timeoutMs)),
    ],
    securityHeader,
  );
}

/** Why a request was refused: the subcodes to write under the SOAP Sender fault and a reason. */
export interface PtzRequestProblem {
  subcodes: string[];
  reason: string;
}

const problem = (subcodes: string[], reason: string): { ok: false; error: PtzRequestProblem } => ({ ok: false, error: { subcodes, reason } });
export type PtzParse<T> = { ok: true; value: T } | { ok: false; error: PtzRequestProblem };
const accepted = <T>(value: T): PtzParse<T> => ({ ok: true, value });
const invalid = (reason: string) => problem(['ter:InvalidArgVal'], reason);

/**
 * Reads a ContinuousMove request. Velocities outside −1..1 are `ter:InvalidVelocity`, spaces other than the
 * generic velocity spaces `ter:SpaceNotSupported`; an axis left out keeps still.
 */
export function parseContinuousMoveRequest(input: SoapEnvelope | string | Uint8Array): PtzParse<ContinuousMoveRequest> {
  const node = requestOperation(input, 'ContinuousMove');
  if (!node.ok) return invalid(node.error);
  const token = tokenText(node.value, 'ProfileToken');
  if (!token.ok) return invalid(token.error);
  const velocity = childNode(node.value, 'Velocity');
  if (!velocity) return invalid('Velocity is missing');
  const out: Partial<PtzVector> = {};
  const pt = childNode(velocity, 'PanTilt');
  const z = childNode(velocity, 'Zoom');
  for (const [node_, space] of [
    [pt, PtzSpace.panTiltVelocity],
    [z, PtzSpace.zoomVelocity],
  ] as const) {
    const s = attr(node_, 'space')?.trim();
    if (s !== undefined && s !== space) return problem(['ter:InvalidArgVal', PtzFaultSubcode.spaceNotSupported], `space ${s.slice(0, 128)} is not supported`);
  }
  if (pt) {
    const x = numberAttr(pt, 'x');
    const y = numberAttr(pt, 'y');
    if (!x.ok) return invalid(x.error);
    if (!y.ok) return invalid(y.error);
    out.pan = x.value ?? 0;
    out.tilt = y.value ?? 0;
  }
  if (z) {
    const x = numberAttr(z, 'x');
    if (!x.ok) return invalid(x.error);
    out.zoom = x.value ?? 0;
  }
  if (Object.values(out).some((n) => Math.abs(n) > 1)) return problem(['ter:InvalidArgVal', PtzFaultSubcode.invalidVelocity], 'velocities must be from -1 to 1');
  const timeout = childText(node.value, 'Timeout');
  let timeoutMs: number | undefined;
  if (timeout !== undefined && timeout.trim() !== '') {
    const d = parseXsDuration(timeout);
    if (!d.ok) return invalid(`Timeout: ${d.error}`);
    timeoutMs = d.value;
  }
  return accepted({ profileToken: token.value, velocity: out, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}

export interface StopRequest {
  profileToken: string;
  panTilt: boolean;
  zoom: boolean;
}

export function buildStop(req: { profileToken: string; panTilt?: boolean; zoom?: boolean }, securityHeader?: string): string {
  checkToken('profileToken', req.profileToken);
  return request(
    'Stop',
    [
      textElement('tptz:ProfileToken', req.profileToken),
      req.panTilt === undefined ? '' : textElement('tptz:PanTilt', req.panTilt),
      req.zoom === undefined ? '' : textElement('tptz:Zoom', req.zoom),
    ],
    securityHeader,
  );
}

/** Reads a Stop request; an axis not named is stopped (ONVIF: both default to true). */
export function parseStopRequest(input: SoapEnvelope | string | Uint8Array): PtzParse<StopRequest> {
  const node = requestOperation(input, 'Stop');
  if (!node.ok) return invalid(node.error);
  const token = tokenText(node.value, 'ProfileToken');
  if (!token.ok) return invalid(token.error);
  const flag = (name: string): boolean => {
    const v = childText(node.value, name)?.trim();
    return v !== 'false' && v !== '0';
  };
  return accepted({ profileToken: token.value, panTilt: flag('PanTilt'), zoom: flag('Zoom') });
}

/** A PTZ request that carries only the profile token (GetStatus, GetPresets). */
export function buildProfileTokenRequest(operation: 'GetStatus' | 'GetPresets', profileToken: string, securityHeader?: string): string {
  checkToken('profileToken', profileToken);
  return request(operation, textElement('tptz:ProfileToken', profileToken), securityHeader);
}

/** Reads the profile token of a PTZ request that has nothing else (GetStatus, GetPresets). */
export function parseProfileTokenRequest(input: SoapEnvelope | string | Uint8Array, operation: 'GetStatus' | 'GetPresets'): PtzParse<{ profileToken: string }> {
  const node = requestOperation(input, operation);
  if (!node.ok) return invalid(node.error);
  const token = tokenText(node.value, 'ProfileToken');
  return token.ok ? accepted({ profileToken: token.value }) : invalid(token.error);
}

export interface SetPresetRequest {
  profileToken: string;
  name?: string;
  /** Given to overwrite an existing preset. */
  presetToken?: string;
}

export function buildSetPreset(req: SetPresetRequest, securityHeader?: string): string {
  checkToken('profileToken', req.profileToken);
  if (req.name !== undefined && (req.name.length === 0 || req.name.length > MAX_PRESET_NAME)) throw new RangeError(`preset names are 1 to ${MAX_PRESET_NAME} characters`);
  if (req.presetToken !== undefined) checkToken('presetToken', req.presetToken);
  return request(
    'SetPreset',
    [
      textElement('tptz:ProfileToken', req.profileToken),
      req.name === undefined ? '' : textElement('tptz:PresetName', req.name),
      req.presetToken === undefined ? '' : textElement('tptz:PresetToken', req.presetToken),
    ],
    securityHeader,
  );
}

export function parseSetPresetRequest(input: SoapEnvelope | string | Uint8Array): PtzParse<SetPresetRequest> {
  const node = requestOperation(input, 'SetPreset');
  if (!node.ok) return invalid(node.error);
  const token = tokenText(node.value, 'ProfileToken');
  if (!token.ok) return invalid(token.error);
  const name = childText(node.value, 'PresetName')?.trim();
  if (name !== undefined && (name === '' || name.length > MAX_PRESET_NAME)) {
    return problem(['ter:InvalidArgVal', PtzFaultSubcode.invalidPresetName], `preset names are 1 to ${MAX_PRESET_NAME} characters`);
  }
  const presetToken = childText(node.value, 'PresetToken')?.trim();
  if (presetToken !== undefined && (presetToken === '' || presetToken.length > MAX_TOKEN)) return invalid(`PresetToken must be 1 to ${MAX_TOKEN} characters`);
  return accepted({ profileToken: token.value, ...(name === undefined ? {} : { name }), ...(presetToken === undefined ? {} : { presetToken }) });
}

/** `GotoPreset` and `RemovePreset` name a preset of a profile. */
export function buildPresetRequest(operation: 'GotoPreset' | 'RemovePreset', req: { profileToken: string; presetToken: string }, securityHeader?: string): string {
  checkToken('profileToken', req.profileToken);
  checkToken('presetToken', req.presetToken);
  return request(operation, [textElement('tptz:ProfileToken', req.profileToken), textElement('tptz:PresetToken', req.presetToken)], securityHeader);
}

export function parsePresetRequest(
  input: SoapEnvelope | string | Uint8Array,
  operation: 'GotoPreset' | 'RemovePreset',
): PtzParse<{ profileToken: string; presetToken: string }> {
  const node = requestOperation(input, operation);
  if (!node.ok) return invalid(node.error);
  const profile = tokenText(node.value, 'ProfileToken');
  if (!profile.ok) return invalid(profile.error);
  const preset = tokenText(node.value, 'PresetToken');
  if (!preset.ok) return problem(['ter:InvalidArgVal', PtzFaultSubcode.noToken], preset.error);
  return accepted({ profileToken: profile.value, presetToken: preset.value });
}

// ------------------------------------------------------------------------------------------------ responses

const range = (tag: string, min: number, max: number): string =>
  element(tag, [textElement('tt:Min', coordinate(min)), textElement('tt:Max', coordinate(max))]);

const space = (tag: string, uri: string, twoAxes: boolean, min: number): string =>
  element(tag, [textElement('tt:URI', uri), range('tt:XRange', min, 1), twoAxes ? range('tt:YRange', min, 1) : '']);

/** The reply to GetNodes: nodes that move continuously (generic velocity spaces) and keep presets. */
export function buildGetNodesResponse(nodes: readonly PtzNode[]): string {
  const items = nodes.map((n) => {
    checkToken('node token', n.token);
    if (!Number.isInteger(n.maxPresets) || n.maxPresets < 0 || n.maxPresets > 10_000) throw new RangeError('maxPresets must be 0 to 10000');
    return element(
      'tptz:PTZNode',
      [
        textElement('tt:Name', n.name),
        element('tt:SupportedPTZSpaces', [
          space('tt:ContinuousPanTiltVelocitySpace', PtzSpace.panTiltVelocity, true, -1),
          space('tt:ContinuousZoomVelocitySpace', PtzSpace.zoomVelocity, false, -1),
        ]),
        textElement('tt:MaximumNumberOfPresets', n.maxPresets),
        textElement('tt:HomeSupported', false),
      ],
      { token: n.token, FixedHomePosition: false },
    );
  });
  return reply('GetNodes', items);
}

/** A PTZ configuration element, as GetConfigurations lists it (`tptz:PTZConfiguration`) or a profile holds it (`tt:PTZConfiguration`). */
export function ptzConfigurationElement(tag: 'tptz:PTZConfiguration' | 'tt:PTZConfiguration', c: PtzConfiguration, useCount: number): string {
  checkToken('PTZ configuration token', c.token);
  checkToken('PTZ node token', c.nodeToken);
  return element(
    tag,
    [
      textElement('tt:Name', c.name),
      textElement('tt:UseCount', useCount),
      textElement('tt:NodeToken', c.nodeToken),
      textElement('tt:DefaultContinuousPanTiltVelocitySpace', PtzSpace.panTiltVelocity),
      textElement('tt:DefaultContinuousZoomVelocitySpace', PtzSpace.zoomVelocity),
      textElement('tt:DefaultPTZTimeout', formatXsDuration(c.defaultTimeoutMs)),
    ],
    { token: c.token },
  );
}

export function buildGetConfigurationsResponse(configs: readonly { configuration: PtzConfiguration; useCount: number }[]): string {
  return reply(
    'GetConfigurations',
    configs.map((c) => ptzConfigurationElement('tptz:PTZConfiguration', c.configuration, c.useCount)),
  );
}

export type PtzMoveStatus = 'IDLE' | 'MOVING';

export interface PtzStatus {
  position: PtzVector;
  panTilt: PtzMoveStatus;
  zoom: PtzMoveStatus;
  utcTime: Date;
}

/** The reply to GetStatus: the position in the generic spaces, whether each axis moves, and the device's time. */
export function buildGetStatusResponse(s: PtzStatus): string {
  return reply(
    'GetStatus',
    element('tptz:PTZStatus', [
      element('tt:Position', [
        panTilt('tt:PanTilt', s.position.pan, s.position.tilt, PtzSpace.panTiltPosition),
        zoom('tt:Zoom', s.position.zoom, PtzSpace.zoomPosition),
      ]),
      element('tt:MoveStatus', [textElement('tt:PanTilt', s.panTilt), textElement('tt:Zoom', s.zoom)]),
      textElement('tt:UtcTime', s.utcTime.toISOString()),
    ]),
  );
}

function vectorOf(node: XmlNode | undefined): PtzVector | undefined {
  const pt = childNode(node, 'PanTilt');
  const z = childNode(node, 'Zoom');
  if (!pt && !z) return undefined;
  const num = (n: XmlNode | undefined, a: string): number => {
    const v = numberAttr(n, a);
    return v.ok && v.value !== undefined ? v.value : 0;
  };
  return { pan: num(pt, 'x'), tilt: num(pt, 'y'), zoom: num(z, 'x') };
}

/** Reads a GetStatus reply; a device without zoom (or pan/tilt) reports 0 for what it lacks. */
export function parseGetStatusResponse(input: string | Uint8Array): Result<PtzStatus> {
  const node = parseResponse(input, 'GetStatusResponse');
  if (!node.ok) return node;
  const status = childNode(node.value, 'PTZStatus');
  const position = vectorOf(childNode(status, 'Position'));
  if (!status || !position) return fail('GetStatusResponse lacks PTZStatus/Position');
  const move = childNode(status, 'MoveStatus');
  const moving = (name: string): PtzMoveStatus => (childText(move, name)?.trim() === 'MOVING' ? 'MOVING' : 'IDLE');
  const utcMs = Date.parse(childText(status, 'UtcTime')?.trim() ?? '');
  return ok({ position, panTilt: moving('PanTilt'), zoom: moving('Zoom'), utcTime: new Date(Number.isFinite(utcMs) ? utcMs : 0) });
}

export function buildGetPresetsResponse(presets: readonly PtzPreset[]): string {
  const items = presets.map((p) => {
    checkToken('preset token', p.token);
    const pos = p.position;
    return element(
      'tptz:Preset',
      [
        textElement('tt:Name', p.name),
        pos === undefined ? '' : element('tt:PTZPosition', [panTilt('tt:PanTilt', pos.pan, pos.tilt, PtzSpace.panTiltPosition), zoom('tt:Zoom', pos.zoom, PtzSpace.zoomPosition)]),
      ],
      { token: p.token },
    );
  });
  return reply('GetPresets', items);
}

/** Reads a GetPresets reply, skipping presets without a token; a preset without a name is named by its token. */
export function parseGetPresetsResponse(input: string | Uint8Array): Result<PtzPreset[]> {
  const node = parseResponse(input, 'GetPresetsResponse');
  if (!node.ok) return node;
  const out: PtzPreset[] = [];
  for (const p of children(node.value, 'Preset').slice(0, MAX_PRESETS_LISTED)) {
    if (!isNode(p)) continue;
    const token = attr(p, 'token')?.trim();
    if (!token || token.length > MAX_TOKEN) continue;
    const name = childText(p, 'Name')?.trim() || token;
    const position = vectorOf(childNode(p, 'PTZPosition'));
    out.push({ token, name: name.slice(0, MAX_PRESET_NAME), ...(position ? { position } : {}) });
  }
  return ok(out);
}

export const buildSetPresetResponse = (presetToken: string): string => {
  checkToken('preset token', presetToken);
  return reply('SetPreset', textElement('tptz:PresetToken', presetToken));
};

export function parseSetPresetResponse(input: string | Uint8Array): Result<string> {
  const node = parseResponse(input, 'SetPresetResponse');
  if (!node.ok) return node;
  const token = childText(node.value, 'PresetToken')?.trim();
  return token && token.length <= MAX_TOKEN ? ok(token) : fail('SetPresetResponse lacks a PresetToken');
}

/** The empty replies of ContinuousMove, Stop, GotoPreset and RemovePreset. */
export const buildPtzAck = (operation: 'ContinuousMove' | 'Stop' | 'GotoPreset' | 'RemovePreset'): string => reply(operation);

/** True when a PTZ reply is the empty success of `operation` (a fault becomes the error). */
export function parsePtzAck(input: string | Uint8Array, operation: 'ContinuousMove' | 'Stop' | 'GotoPreset' | 'RemovePreset'): Result<true> {
  const node = parseResponse(input, `${operation}Response`);
  return node.ok ? ok(true) : node;
}

import { fail, ok, type Result } from '../result.js';
import { Ns } from './namespaces.js';
import { buildEnvelope, parseResponse } from './soap.js';
import { childNode, childText, element, textElement, type XmlNode } from './xml.js';

/** SOAP actions of the device service operations handled here (sent in the Content-Type `action` parameter). */
export const DeviceAction = {
  getDeviceInformation: `${Ns.tds}/GetDeviceInformation`,
  getSystemDateAndTime: `${Ns.tds}/GetSystemDateAndTime`,
} as const;

/** The path ONVIF devices serve the device service on. */
export const DEVICE_SERVICE_PATH = '/onvif/device_service';

/** A request to the device service: an empty operation element, with an optional WS-Security header block. */
function buildRequest(operation: string, securityHeader?: string): string {
  return buildEnvelope({
    ...(securityHeader === undefined ? {} : { header: securityHeader }),
    body: element(`tds:${operation}`),
    namespaces: ['tds', 'tt'],
  });
}

/** `GetDeviceInformation`; pass the header from `usernameTokenHeader()`, since devices require it. */
export const buildGetDeviceInformation = (securityHeader?: string): string => buildRequest('GetDeviceInformation', securityHeader);

/** `GetSystemDateAndTime`, which devices answer without authentication so that clients can learn their clock. */
export const buildGetSystemDateAndTime = (securityHeader?: string): string => buildRequest('GetSystemDateAndTime', securityHeader);

export interface DeviceInformation {
  manufacturer: string;
  model: string;
  firmwareVersion: string;
  serialNumber: string;
  hardwareId: string;
}

const INFO_FIELDS = [
  ['manufacturer', 'Manufacturer'],
  ['model', 'Model'],
  ['firmwareVersion', 'FirmwareVersion'],
  ['serialNumber', 'SerialNumber'],
  ['hardwareId', 'HardwareId'],
] as const;

export function buildGetDeviceInformationResponse(info: DeviceInformation): string {
  const body = element(
    'tds:GetDeviceInformationResponse',
    INFO_FIELDS.map(([key, tag]) => textElement(`tds:${tag}`, info[key])),
  );
  return buildEnvelope({ body, namespaces: ['tds', 'tt'] });
}

const MAX_INFO_FIELD = 256;

/** Parses a GetDeviceInformation reply; a SOAP fault becomes the error. All five fields are mandatory in ONVIF. */
export function parseGetDeviceInformationResponse(input: string | Uint8Array): Result<DeviceInformation> {
  const node = parseResponse(input, 'GetDeviceInformationResponse');
  if (!node.ok) return node;
  const out: Partial<Record<keyof DeviceInformation, string>> = {};
  for (const [key, tag] of INFO_FIELDS) {
    const v = childText(node.value, tag);
    if (v === undefined) return fail(`GetDeviceInformationResponse lacks ${tag}`);
    if (v.length > MAX_INFO_FIELD) return fail(`GetDeviceInformationResponse ${tag} is too long`);
    out[key] = v;
  }
  return ok(out as DeviceInformation);
}

export interface SystemDateAndTime {
  /** The device's clock, UTC, to the second. */
  utc: Date;
  dateTimeType: 'Manual' | 'NTP';
  daylightSavings: boolean;
  /** POSIX 1003.1 time zone, when the device reports one. */
  timeZone?: string;
}

const dateTimeElement = (name: string, d: Date): string =>
  element(name, [
    element('tt:Time', [
      textElement('tt:Hour', d.getUTCHours()),
      textElement('tt:Minute', d.getUTCMinutes()),
      textElement('tt:Second', d.getUTCSeconds()),
    ]),
    element('tt:Date', [
      textElement('tt:Year', d.getUTCFullYear()),
      textElement('tt:Month', d.getUTCMonth() + 1),
      textElement('tt:Day', d.getUTCDate()),
    ]),
  ]);

/** The reply to GetSystemDateAndTime. The local time is written equal to UTC (time zone `UTC0` unless given). */
export function buildGetSystemDateAndTimeResponse(opts: { now: Date; dateTimeType?: 'Manual' | 'NTP'; timeZone?: string }): string {
  const body = element(
    'tds:GetSystemDateAndTimeResponse',
    element('tds:SystemDateAndTime', [
      textElement('tt:DateTimeType', opts.dateTimeType ?? 'NTP'),
      textElement('tt:DaylightSavings', 'false'),
      element('tt:TimeZone', textElement('tt:TZ', opts.timeZone ?? 'UTC0')),
      dateTimeElement('tt:UTCDateTime', opts.now),
      dateTimeElement('tt:LocalDateTime', opts.now),
    ]),
  );
  return buildEnvelope({ body, namespaces: ['tds', 'tt'] });
}

function intField(node: XmlNode | undefined, name: string, min: number, max: number): number | undefined {
  const t = childText(node, name)?.trim();
  if (t === undefined || !/^\d{1,4}$/.test(t)) return undefined;
  const n = Number(t);
  return n >= min && n <= max ? n : undefined;
}

/** Parses a GetSystemDateAndTime reply. Requires UTCDateTime (ONVIF makes it mandatory unless the clock is unset). */
export function parseGetSystemDateAndTimeResponse(input: string | Uint8Array): Result<SystemDateAndTime> {
  const node = parseResponse(input, 'GetSystemDateAndTimeResponse');
  if (!node.ok) return node;
  const sdt = childNode(node.value, 'SystemDateAndTime');
  if (!sdt) return fail('GetSystemDateAndTimeResponse lacks SystemDateAndTime');
  const utc = childNode(sdt, 'UTCDateTime');
  const date = childNode(utc, 'Date');
  const time = childNode(utc, 'Time');
  const y = intField(date, 'Year', 1970, 9999);
  const mo = intField(date, 'Month', 1, 12);
  const d = intField(date, 'Day', 1, 31);
  const h = intField(time, 'Hour', 0, 23);
  const mi = intField(time, 'Minute', 0, 59);
  const s = intField(time, 'Second', 0, 60);
  if (y === undefined || mo === undefined || d === undefined || h === undefined || mi === undefined || s === undefined) {
    return fail('SystemDateAndTime lacks a valid UTCDateTime');
  }
  const type = childText(sdt, 'DateTimeType')?.trim();
  if (type !== 'Manual' && type !== 'NTP') return fail(`DateTimeType must be Manual or NTP, got ${type ?? 'nothing'}`);
  const dst = childText(sdt, 'DaylightSavings')?.trim();
  if (dst !== 'true' && dst !== 'false' && dst !== '1' && dst !== '0') return fail('DaylightSavings must be a boolean');
  const tz = childText(childNode(sdt, 'TimeZone'), 'TZ')?.trim();
  return ok({
    utc: new Date(Date.UTC(y, mo - 1, d, h, mi, s)),
    dateTimeType: type,
    daylightSavings: dst === 'true' || dst === '1',
    ...(tz ? { timeZone: tz } : {}),
  });
}

import { describe, expect, it } from 'vitest';
import {
  buildGetDeviceInformation,
  buildGetDeviceInformationResponse,
  buildGetSystemDateAndTime,
  buildGetSystemDateAndTimeResponse,
  parseGetDeviceInformationResponse,
  parseGetSystemDateAndTimeResponse,
} from './device.js';
import { buildFault, FaultCode, FaultSubcode, parseEnvelope } from './soap.js';
import { UsernameTokenVerifier, usernameTokenHeader } from './username-token.js';

// Replies laid out as cameras send them: every namespace on the root, numbers-looking strings in the fields.
const CAMERA_INFO = `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">
<env:Body><tds:GetDeviceInformationResponse><tds:Manufacturer>HIKVISION</tds:Manufacturer><tds:Model>DS-2CD2143G0-I</tds:Model><tds:FirmwareVersion>V5.70 build 220127</tds:FirmwareVersion><tds:SerialNumber>0012345678</tds:SerialNumber><tds:HardwareId>88</tds:HardwareId></tds:GetDeviceInformationResponse></env:Body></env:Envelope>`;

const CAMERA_TIME = `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">
<env:Body><tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>CST-8:00:00</tt:TZ></tt:TimeZone><tt:UTCDateTime><tt:Time><tt:Hour>7</tt:Hour><tt:Minute>5</tt:Minute><tt:Second>9</tt:Second></tt:Time><tt:Date><tt:Year>2026</tt:Year><tt:Month>11</tt:Month><tt:Day>2</tt:Day></tt:Date></tt:UTCDateTime><tt:LocalDateTime><tt:Time><tt:Hour>15</tt:Hour><tt:Minute>5</tt:Minute><tt:Second>9</tt:Second></tt:Time><tt:Date><tt:Year>2026</tt:Year><tt:Month>11</tt:Month><tt:Day>2</tt:Day></tt:Date></tt:LocalDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></env:Body></env:Envelope>`;

describe('GetDeviceInformation', () => {
  it('reads a camera reply, keeping leading zeros and versions as written', () => {
    expect(parseGetDeviceInformationResponse(CAMERA_INFO)).toEqual({
      ok: true,
      value: {
        manufacturer: 'HIKVISION',
        model: 'DS-2CD2143G0-I',
        firmwareVersion: 'V5.70 build 220127',
        serialNumber: '0012345678',
        hardwareId: '88',
      },
    });
  });

  it('round-trips what it builds, escaping text', () => {
    const info = { manufacturer: 'Vigil & Co', model: 'VC<1>', firmwareVersion: '1.0', serialNumber: 'S1', hardwareId: '' };
    const xml = buildGetDeviceInformationResponse(info);
    expect(xml).toContain('<tds:Manufacturer>Vigil &amp; Co</tds:Manufacturer>');
    expect(parseGetDeviceInformationResponse(xml)).toEqual({ ok: true, value: info });
  });

  it('reports a fault or a missing field as an error', () => {
    const fault = buildFault({ code: FaultCode.sender, subcodes: [FaultSubcode.notAuthorized], reason: 'Sender not Authorized' });
    expect(parseGetDeviceInformationResponse(fault)).toEqual({ ok: false, error: expect.stringContaining('NotAuthorized') });
    expect(parseGetDeviceInformationResponse(CAMERA_INFO.replace(/<tds:Model>[^<]*<\/tds:Model>/, ''))).toEqual({
      ok: false,
      error: 'GetDeviceInformationResponse lacks Model',
    });
    expect(parseGetDeviceInformationResponse('<html>401</html>').ok).toBe(false);
  });

  it('builds a request that carries a verifiable token', () => {
    const now = new Date();
    const xml = buildGetDeviceInformation(usernameTokenHeader({ username: 'admin', password: 'secret', now }));
    const env = parseEnvelope(xml);
    expect(env.ok && env.value.operation).toBe('GetDeviceInformation');
    const v = new UsernameTokenVerifier({ users: { admin: 'secret' } });
    expect(env.ok && v.verify(env.value.header).ok).toBe(true);
  });
});

describe('GetSystemDateAndTime', () => {
  it('reads the UTC time of a camera reply', () => {
    expect(parseGetSystemDateAndTimeResponse(CAMERA_TIME)).toEqual({
      ok: true,
      value: { utc: new Date('2026-11-02T07:05:09Z'), dateTimeType: 'Manual', daylightSavings: false, timeZone: 'CST-8:00:00' },
    });
  });

  it('round-trips what it builds, to the second', () => {
    const now = new Date('2026-02-28T23:59:58.750Z');
    const r = parseGetSystemDateAndTimeResponse(buildGetSystemDateAndTimeResponse({ now }));
    expect(r).toEqual({ ok: true, value: { utc: new Date('2026-02-28T23:59:58Z'), dateTimeType: 'NTP', daylightSavings: false, timeZone: 'UTC0' } });
  });

  it('refuses impossible values', () => {
    expect(parseGetSystemDateAndTimeResponse(CAMERA_TIME.replace('<tt:Month>11</tt:Month>', '<tt:Month>13</tt:Month>')).ok).toBe(false);
    expect(parseGetSystemDateAndTimeResponse(CAMERA_TIME.replace('<tt:Hour>7</tt:Hour>', '<tt:Hour>x</tt:Hour>')).ok).toBe(false);
    expect(parseGetSystemDateAndTimeResponse(CAMERA_TIME.replace('Manual', 'Sundial')).ok).toBe(false);
  });

  it('builds an unauthenticated request', () => {
    const env = parseEnvelope(buildGetSystemDateAndTime());
    expect(env.ok && env.value.operation).toBe('GetSystemDateAndTime');
    expect(env.ok && env.value.header).toBeUndefined();
  });
});

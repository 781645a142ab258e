import { describe, expect, it } from 'vitest';
import { FaultCode, FaultSubcode, buildEnvelope, buildFault, faultHas, faultHttpStatus, parseEnvelope, parseFault, parseResponse } from './soap.js';
import { childText } from './xml.js';

// A fault as an Axis camera sends it for a bad WS-Security token (prefixes and layout of the device's own).
const AXIS_FAULT = `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:ter="http://www.onvif.org/ver10/error">
  <SOAP-ENV:Header></SOAP-ENV:Header>
  <SOAP-ENV:Body>
    <SOAP-ENV:Fault>
      <SOAP-ENV:Code>
        <SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>
        <SOAP-ENV:Subcode><SOAP-ENV:Value>ter:NotAuthorized</SOAP-ENV:Value></SOAP-ENV:Subcode>
      </SOAP-ENV:Code>
      <SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">Sender not Authorized</SOAP-ENV:Text></SOAP-ENV:Reason>
      <SOAP-ENV:Detail><SOAP-ENV:Text>The action requested requires authorization and the sender is not authorized</SOAP-ENV:Text></SOAP-ENV:Detail>
    </SOAP-ENV:Fault>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>`;

describe('SOAP 1.2 envelope', () => {
  it('builds an envelope that parses back, with header and operation', () => {
    const xml = buildEnvelope({ header: '<wsa:Action>x</wsa:Action>', body: '<tds:GetScopes/>', namespaces: ['wsa', 'tds'] });
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ' +
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">' +
        '<s:Header><wsa:Action>x</wsa:Action></s:Header><s:Body><tds:GetScopes/></s:Body></s:Envelope>',
    );
    const env = parseEnvelope(xml);
    expect(env.ok && env.value.operation).toBe('GetScopes');
    expect(env.ok && childText(env.value.header, 'Action')).toBe('x');
  });

  it('refuses what is not a SOAP envelope, without throwing', () => {
    for (const bad of ['', 'not xml', '<a><b></a>', '<Envelope/>', '<s:Envelope xmlns:s="x"><s:Header/></s:Envelope>', '<x/><y/>']) {
      const r = parseEnvelope(bad);
      expect(r.ok, bad).toBe(false);
    }
    const dtd = parseEnvelope('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><s:Envelope><s:Body/></s:Envelope>');
    expect(dtd.ok).toBe(false);
    expect(parseEnvelope(new Uint8Array([0xff, 0xfe, 0x00, 0x3c])).ok).toBe(false);
  });

  it('parses an empty Body as no operation', () => {
    const r = parseEnvelope('<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>');
    expect(r.ok).toBe(true);
    expect(r.ok && r.value.operation).toBeUndefined();
  });
});

describe('SOAP faults', () => {
  it('reads a device fault written with other prefixes', () => {
    const env = parseEnvelope(AXIS_FAULT);
    expect(env.ok).toBe(true);
    if (!env.ok) return;
    const f = parseFault(env.value);
    expect(f).toEqual({
      code: 'Sender',
      subcodes: ['ter:NotAuthorized'],
      reason: 'Sender not Authorized',
      detail: 'The action requested requires authorization and the sender is not authorized',
    });
    expect(f && faultHas(f, FaultSubcode.notAuthorized)).toBe(true);
    expect(f && faultHas(f, FaultSubcode.actionNotSupported)).toBe(false);
  });

  it('builds nested subcodes that round-trip', () => {
    const xml = buildFault({ code: FaultCode.receiver, subcodes: ['ter:ActionNotSupported', 'ter:NoSuchService'], reason: 'a < b & c' });
    expect(xml).toContain('<s:Value>s:Receiver</s:Value><s:Subcode><s:Value>ter:ActionNotSupported</s:Value><s:Subcode>');
    expect(xml).toContain('a &lt; b &amp; c');
    const env = parseEnvelope(xml);
    const f = env.ok ? parseFault(env.value) : undefined;
    expect(f).toEqual({ code: 'Receiver', subcodes: ['ter:ActionNotSupported', 'ter:NoSuchService'], reason: 'a < b & c' });
  });

  it('maps Sender faults to HTTP 400 and others to 500', () => {
    expect(faultHttpStatus(FaultCode.sender)).toBe(400);
    expect(faultHttpStatus(FaultCode.receiver)).toBe(500);
  });

  it('turns a fault into an error when a response is expected', () => {
    const r = parseResponse(AXIS_FAULT, 'GetDeviceInformationResponse');
    expect(r).toEqual({ ok: false, error: expect.stringContaining('Sender/ter:NotAuthorized') });
    const wrong = parseResponse(buildEnvelope({ body: '<x:Other xmlns:x="u"/>' }), 'GetDeviceInformationResponse');
    expect(wrong).toEqual({ ok: false, error: expect.stringContaining('found Other') });
  });
});

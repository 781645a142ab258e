import { describe, expect, it } from 'vitest';
import {
  NETWORK_VIDEO_TRANSMITTER,
  OnvifScope,
  buildProbe,
  buildProbeMatches,
  hasType,
  newMessageId,
  parseProbe,
  parseProbeMatches,
  probeMatches,
  scope,
  scopeValue,
} from './discovery.js';

// A Probe as ONVIF Device Manager sends it: default namespace on Probe, attributes on the addressing headers.
const ODM_PROBE = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action><a:MessageID>uuid:8e9bc2f4-2ab5-4f0e-9b36-5c2f0a6e2f11</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header><s:Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><d:Types xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dp0="http://www.onvif.org/ver10/network/wsdl">dp0:NetworkVideoTransmitter</d:Types></Probe></s:Body></s:Envelope>`;

// The Probe of the `onvif` npm client: no prefixes at all, an empty Scopes element.
const NODE_ONVIF_PROBE = '<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><Header><wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:uuid:0d4e1e5c-3f43-4a43-9f6b-0a8c2c1b7d90</wsa:MessageID><wsa:To xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action></Header><Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Types>dn:NetworkVideoTransmitter</Types><Scopes /></Probe></Body></Envelope>';

// ProbeMatches laid out as a Hikvision camera answers (prefixes env/wsadis/d, AppSequence, two XAddrs).
const HIK_MATCHES = `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:wsadis="http://schemas.xmlsoap.org/ws/2004/08/addressing">
<env:Header><wsadis:MessageID>urn:uuid:f3f2c5a0-1dd2-11b2-a105-C056E3A1B2C3</wsadis:MessageID><wsadis:RelatesTo>uuid:8e9bc2f4-2ab5-4f0e-9b36-5c2f0a6e2f11</wsadis:RelatesTo><wsadis:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsadis:To><wsadis:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsadis:Action><d:AppSequence InstanceId="1700000000" MessageNumber="5"/></env:Header>
<env:Body><d:ProbeMatches><d:ProbeMatch><wsadis:EndpointReference><wsadis:Address>urn:uuid:f3f2c5a0-1dd2-11b2-a105-C056E3A1B2C3</wsadis:Address></wsadis:EndpointReference><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/hardware/DS-2CD2143G0-I onvif://www.onvif.org/name/HIKVISION%20DS-2CD2143G0-I onvif://www.onvif.org/location/city/hangzhou</d:Scopes><d:XAddrs>http://192.168.1.64/onvif/device_service http://[fe80::c256:e3ff:fea1:b2c3]/onvif/device_service</d:XAddrs><d:MetadataVersion>10</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></env:Body></env:Envelope>`;

describe('WS-Discovery Probe', () => {
  it('reads the Probes of real clients', () => {
    expect(parseProbe(ODM_PROBE)).toEqual({
      ok: true,
      value: { messageId: 'uuid:8e9bc2f4-2ab5-4f0e-9b36-5c2f0a6e2f11', types: ['dp0:NetworkVideoTransmitter'], scopes: [] },
    });
    expect(parseProbe(Buffer.from(NODE_ONVIF_PROBE))).toEqual({
      ok: true,
      value: { messageId: 'urn:uuid:0d4e1e5c-3f43-4a43-9f6b-0a8c2c1b7d90', types: ['dn:NetworkVideoTransmitter'], scopes: [] },
    });
  });

  it('builds a Probe that round-trips', () => {
    const id = newMessageId();
    expect(id).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const xml = buildProbe({ messageId: id, scopes: [scope(OnvifScope.location, 'hall 1')] });
    expect(xml).toContain('<wsd:Types>dn:NetworkVideoTransmitter</wsd:Types>');
    expect(xml).toContain('<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>');
    expect(parseProbe(xml)).toEqual({
      ok: true,
      value: { messageId: id, types: [NETWORK_VIDEO_TRANSMITTER], scopes: ['onvif://www.onvif.org/location/hall%201'] },
    });
  });

  it('refuses other messages and garbage', () => {
    expect(parseProbe(HIK_MATCHES).ok).toBe(false);
    expect(parseProbe(ODM_PROBE.replace(/<a:MessageID>[^<]*<\/a:MessageID>/, '')).ok).toBe(false);
    expect(parseProbe('\u0000\u0001garbage').ok).toBe(false);
    expect(parseProbe('x'.repeat(70_000)).ok).toBe(false);
  });

  it('matches types by local name and scopes by path prefix', () => {
    const types = ['dn:NetworkVideoTransmitter', 'tds:Device'];
    const scopes = ['onvif://www.onvif.org/location/city/hangzhou', 'onvif://www.onvif.org/type/video_encoder'];
    expect(probeMatches({ types: ['dp0:NetworkVideoTransmitter'], scopes: [] }, types, scopes)).toBe(true);
    expect(probeMatches({ types: [], scopes: [] }, types, scopes)).toBe(true);
    expect(probeMatches({ types: ['dn:NetworkVideoDisplay'], scopes: [] }, types, scopes)).toBe(false);
    expect(probeMatches({ types: [], scopes: ['onvif://www.onvif.org/location/city'] }, types, scopes)).toBe(true);
    expect(probeMatches({ types: [], scopes: ['onvif://www.onvif.org/location/cit'] }, types, scopes)).toBe(false);
  });
});

describe('WS-Discovery ProbeMatches', () => {
  it('reads a camera answer', () => {
    const r = parseProbeMatches(HIK_MATCHES);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.relatesTo).toBe('uuid:8e9bc2f4-2ab5-4f0e-9b36-5c2f0a6e2f11');
    expect(r.value.messageId).toBe('urn:uuid:f3f2c5a0-1dd2-11b2-a105-C056E3A1B2C3');
    expect(r.value.matches).toHaveLength(1);
    const m = r.value.matches[0]!;
    expect(m.xAddrs).toEqual(['http://192.168.1.64/onvif/device_service', 'http://[fe80::c256:e3ff:fea1:b2c3]/onvif/device_service']);
    expect(m.metadataVersion).toBe(10);
    expect(hasType(m.types, NETWORK_VIDEO_TRANSMITTER)).toBe(true);
    expect(scopeValue(m.scopes, OnvifScope.name)).toBe('HIKVISION DS-2CD2143G0-I');
    expect(scopeValue(m.scopes, OnvifScope.hardware)).toBe('DS-2CD2143G0-I');
    expect(scopeValue(m.scopes, 'onvif://www.onvif.org/nothing/')).toBeUndefined();
  });

  it('builds an answer that round-trips', () => {
    const match = {
      endpointReference: 'urn:uuid:11111111-2222-4333-8444-555555555555',
      types: ['dn:NetworkVideoTransmitter', 'tds:Device'],
      scopes: [scope(OnvifScope.name, 'Gate & Yard'), scope(OnvifScope.hardware, 'VC-2000')],
      xAddrs: ['http://127.0.0.1:8080/onvif/device_service'],
      metadataVersion: 1,
    };
    const xml = buildProbeMatches({ messageId: 'urn:uuid:a', relatesTo: 'urn:uuid:b', matches: [match] });
    expect(xml).toContain('<wsa:RelatesTo>urn:uuid:b</wsa:RelatesTo>');
    expect(parseProbeMatches(xml)).toEqual({ ok: true, value: { messageId: 'urn:uuid:a', relatesTo: 'urn:uuid:b', matches: [match] } });
  });

  it('refuses answers without RelatesTo, skips matches without an address', () => {
    expect(parseProbeMatches(HIK_MATCHES.replace(/<wsadis:RelatesTo>[^<]*<\/wsadis:RelatesTo>/, '')).ok).toBe(false);
    const noAddr = parseProbeMatches(HIK_MATCHES.replace(/<wsadis:Address>[^<]*<\/wsadis:Address>/, ''));
    expect(noAddr.ok && noAddr.value.matches).toEqual([]);
    expect(parseProbeMatches(ODM_PROBE).ok).toBe(false);
  });
});

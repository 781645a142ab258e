import { describe, expect, it } from 'vitest';
import {
  DigestServer,
  buildActivateInfo,
  buildChannelOrder,
  buildDigestAuthorization,
  buildDigestChallenge,
  buildInputProxyChannelList,
  buildIpAddress,
  buildMotionDetection,
  buildNewInputProxyChannel,
  buildResponseStatus,
  buildStorage,
  buildStreamingChannel,
  devicePasswordProblem,
  digestResponse,
  parseActivateInfo,
  parseChannelOrder,
  parseDigestAuthorization,
  parseDigestChallenge,
  parseInputProxyChannelList,
  parseIpAddress,
  parseMotionDetection,
  parseNewInputProxyChannel,
  parseResponseStatus,
  parseStorage,
  parseStreamingChannel,
  parseTime,
  responseStatus,
  IsapiStatusCode,
  type InputProxyChannelList,
} from './index.js';

// RFC 7616 section 3.9.1, MD5.
const RFC = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  qop: 'auth',
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
};

describe('digest', () => {
  it('computes the RFC 7616 MD5 example', () => {
    expect(digestResponse(RFC)).toBe('8ca523f5e9506fed4657c9700eebdbec');
    const header = buildDigestAuthorization({
      challenge: { realm: RFC.realm, nonce: RFC.nonce, opaque: RFC.opaque, qop: ['auth', 'auth-int'], algorithm: 'MD5', stale: false },
      username: RFC.username,
      password: RFC.password,
      method: 'GET',
      uri: RFC.uri,
      nc: 1,
      cnonce: RFC.cnonce,
    });
    expect(header).toBe(
      'Digest username="Mufasa", realm="http-auth@example.org", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="/dir/index.html", algorithm=MD5, response="8ca523f5e9506fed4657c9700eebdbec", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", qop=auth, nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"',
    );
    expect(parseDigestAuthorization(header)).toMatchObject({ ok: true, value: { username: 'Mufasa', nc: '00000001', qop: 'auth' } });
  });

  it('parses challenges, quoted commas included', () => {
    const c = parseDigestChallenge('Digest realm="a, \\"b\\"", qop="auth,auth-int", nonce="n1", algorithm=MD5, stale=TRUE');
    expect(c).toEqual({ ok: true, value: { realm: 'a, "b"', nonce: 'n1', qop: ['auth', 'auth-int'], algorithm: 'MD5', stale: true } });
    expect(parseDigestChallenge(buildDigestChallenge({ realm: 'r', nonce: 'n', opaque: 'o' }))).toMatchObject({ ok: true, value: { opaque: 'o' } });
    expect(parseDigestChallenge('Basic realm="x"').ok).toBe(false);
    expect(parseDigestChallenge('Digest realm="x"').ok).toBe(false);
    expect(parseDigestChallenge('Digest realm="x, nonce=').ok).toBe(false);
  });

  it('verifies on the server side and refuses replays and wrong passwords', () => {
    const server = new DigestServer({ realm: 'IP Camera', users: (u) => (u === 'admin' ? 'Abcd1234' : undefined) });
    expect(server.verify(undefined, 'GET')).toMatchObject({ ok: false, reason: 'missing' });
    const challenge = parseDigestChallenge(server.challenge());
    if (!challenge.ok) throw new Error(challenge.error);
    const auth = (password: string, nc: number) =>
      buildDigestAuthorization({ challenge: challenge.value, username: 'admin', password, method: 'GET', uri: '/ISAPI/System/deviceInfo', nc });
    expect(server.verify(auth('wrong', 1), 'GET')).toMatchObject({ ok: false, reason: 'badResponse' });
    const good = auth('Abcd1234', 1);
    expect(server.verify(good, 'GET')).toEqual({ ok: true, username: 'admin' });
    expect(server.verify(good, 'GET')).toMatchObject({ ok: false, reason: 'replay' });
    expect(server.verify(auth('Abcd1234', 2), 'GET')).toEqual({ ok: true, username: 'admin' });
    expect(server.verify(auth('Abcd1234', 3), 'PUT')).toMatchObject({ ok: false, reason: 'badResponse' });
    server.reset();
    expect(server.verify(auth('Abcd1234', 4), 'GET')).toMatchObject({ ok: false, reason: 'staleNonce' });
  });
});

describe('device password policy', () => {
  it('wants 8 to 16 characters mixing two kinds', () => {
    for (const good of ['Abcdefgh', 'abcd1234', '1234!!!!', 'Abcd1234!xyzXYZ9']) expect(devicePasswordProblem(good), good).toBeNull();
    for (const bad of ['Ab1!', 'abcdefgh', '12345678', 'ABCDEFGHIJ', '!!!!!!!!', 'Abcd1234!xyzXYZ99', 'abcd1234é']) {
      expect(devicePasswordProblem(bad), bad).toEqual(expect.any(String));
    }
  });
});

describe('ISAPI bodies', () => {
  it('builds and reads ResponseStatus', () => {
    const xml = buildResponseStatus(responseStatus('/ISAPI/System/activate', IsapiStatusCode.invalidOperation, 'alreadyActivated'));
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><requestURL>/ISAPI/System/activate</requestURL><statusCode>4</statusCode><statusString>Invalid Operation</statusString><subStatusCode>alreadyActivated</subStatusCode></ResponseStatus>',
    );
    expect(parseResponseStatus(xml)).toEqual({
      ok: true,
      value: { requestURL: '/ISAPI/System/activate', statusCode: 4, statusString: 'Invalid Operation', subStatusCode: 'alreadyActivated' },
    });
    // Hik devices write the created id as <ID>.
    expect(parseResponseStatus('<ResponseStatus><statusCode>1</statusCode><ID>3</ID></ResponseStatus>')).toMatchObject({ ok: true, value: { id: 3 } });
    expect(parseResponseStatus('<ResponseStatus><statusCode>x</statusCode></ResponseStatus>').ok).toBe(false);
  });

  it('activation carries password and code, escaped', () => {
    const xml = buildActivateInfo({ password: 'Ab<1 234', verificationCode: 'ABCDEF' });
    expect(xml).toContain('<password>Ab&lt;1 234</password>');
    expect(parseActivateInfo(xml)).toEqual({ ok: true, value: { password: 'Ab<1 234', verificationCode: 'ABCDEF' } });
    expect(parseActivateInfo('<ActivateInfo/>').ok).toBe(false);
  });

  it('round-trips network settings; DHCP may omit addresses', () => {
    const n = { dhcp: false, ipv4: '192.168.1.64', mask: '255.255.255.0', gateway: '192.168.1.1', dns: '' };
    expect(parseIpAddress(buildIpAddress(n))).toEqual({ ok: true, value: n });
    expect(parseIpAddress('<IPAddress><addressingType>dynamic</addressingType></IPAddress>')).toEqual({
      ok: true,
      value: { dhcp: true, ipv4: '', mask: '', gateway: '', dns: '' },
    });
    expect(parseIpAddress('<IPAddress><addressingType>static</addressingType><ipAddress>1.2.3</ipAddress><subnetMask>255.0.0.0</subnetMask></IPAddress>')).toEqual({
      ok: false,
      error: 'IPAddress.ipAddress: not an IPv4 address',
    });
  });

  it('round-trips storage, motion detection, streaming, time', () => {
    const hdds = [
      { id: 1, type: 'hdd' as const, capacityMb: 1907729, status: 'new' as const, hasData: false },
      { id: 2, type: 'hdd' as const, capacityMb: 953869, status: 'ok' as const, hasData: true },
    ];
    expect(parseStorage(buildStorage(hdds))).toEqual({ ok: true, value: hdds });
    expect(parseStorage(buildStorage([]))).toEqual({ ok: true, value: [] });
    const md = { enabled: true, version: '2.0', wholeImage: true, sensitivity: 60, notifySurveillanceCenter: true };
    expect(parseMotionDetection(buildMotionDetection(md))).toEqual({ ok: true, value: md });
    const sc = { id: 101, videoCodec: 'Smart H.265+' as const, supportedCodecs: ['H.264' as const, 'Smart H.265+' as const] };
    expect(buildStreamingChannel(sc)).toContain('<videoCodecType>Smart H.265+</videoCodecType>');
    expect(parseStreamingChannel(buildStreamingChannel(sc))).toEqual({ ok: true, value: sc });
    expect(parseTime('<Time><localTime>2026-03-01T10:00:00+01:00</localTime><timeZone>CET-1</timeZone></Time>')).toEqual({
      ok: true,
      value: { timeMode: 'manual', localTime: '2026-03-01T10:00:00+01:00', timeZone: 'CET-1' },
    });
    expect(parseTime('<Time><localTime>yesterday</localTime></Time>').ok).toBe(false);
  });

  it('round-trips NVR channels and their order', () => {
    const add = { ipAddress: '192.168.1.65', managementPort: 8000, username: 'admin', password: 'Abcd1234', name: 'Door' };
    expect(parseNewInputProxyChannel(buildNewInputProxyChannel(add))).toEqual({ ok: true, value: add });
    const list: InputProxyChannelList = {
      maxChannels: 8,
      sortedOnce: false,
      channels: [{ id: 1, name: 'Door', ipAddress: '192.168.1.65', managementPort: 8000, username: 'admin', password: 'x', order: 1, online: true, poe: false }],
    };
    const xml = buildInputProxyChannelList(list);
    expect(xml).not.toContain('<password>');
    const { password: _pw, ...ch } = list.channels[0]!;
    expect(parseInputProxyChannelList(xml)).toEqual({ ok: true, value: { ...list, channels: [{ ...ch, proxyProtocol: 'HIKVISION' }] } });
    expect(parseChannelOrder(buildChannelOrder([3, 1, 2]))).toEqual({ ok: true, value: [3, 1, 2] });
    expect(parseChannelOrder(buildChannelOrder([1, 1])).ok).toBe(false);
  });
});

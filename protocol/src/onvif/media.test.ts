import { describe, expect, it } from 'vitest';
import {
  OnvifService,
  buildGetCapabilities,
  buildGetCapabilitiesResponse,
  buildGetProfiles,
  buildGetProfilesResponse,
  buildGetServices,
  buildGetServicesResponse,
  buildGetSnapshotUri,
  buildGetSnapshotUriResponse,
  buildGetStreamUri,
  buildGetStreamUriResponse,
  buildGetVideoSources,
  buildGetVideoSourcesResponse,
  parseGetCapabilitiesResponse,
  parseGetProfilesResponse,
  parseGetServicesRequest,
  parseGetServicesResponse,
  parseGetSnapshotUriRequest,
  parseGetStreamUriRequest,
  parseGetVideoSourcesResponse,
  parseMediaUriResponse,
  type MediaProfile,
} from './media.js';
import { FaultCode, FaultSubcode, buildFault, parseEnvelope } from './soap.js';
import { usernameTokenHeader } from './username-token.js';

const profile = (over: Partial<MediaProfile['videoEncoder']> = {}): MediaProfile => ({
  token: 'Profile_1',
  name: 'mainStream',
  videoSource: { token: 'VideoSourceConfig_1', name: 'VideoSourceConfig', sourceToken: 'VideoSource_1', width: 1920, height: 1080 },
  videoEncoder: {
    token: 'VideoEncoder_1',
    name: 'VideoEncoder_1',
    encoding: 'H264',
    width: 1920,
    height: 1080,
    frameRateLimit: 25,
    bitrateLimit: 4096,
    govLength: 50,
    ...over,
  },
});

// A Media 1 reply as a camera lays it out: its own prefixes, floats for integers, extra elements and profiles.
const CAMERA_PROFILES = `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:trt="http://www.onvif.org/ver10/media/wsdl">
<env:Body><trt:GetProfilesResponse>
<trt:Profiles token="Profile_1" fixed="true"><tt:Name>mainStream</tt:Name>
<tt:VideoSourceConfiguration token="VideoSourceToken"><tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>2</tt:UseCount><tt:SourceToken>VideoSource_1</tt:SourceToken><tt:Bounds x="0" y="0" width="2560" height="1440"></tt:Bounds></tt:VideoSourceConfiguration>
<tt:AudioEncoderConfiguration token="AudioEncoderToken_1"><tt:Name>AudioEncoder_1</tt:Name><tt:Encoding>G711</tt:Encoding></tt:AudioEncoderConfiguration>
<tt:VideoEncoderConfiguration token="VideoEncoderToken_1"><tt:Name>VideoEncoder_1</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>2560</tt:Width><tt:Height>1440</tt:Height></tt:Resolution><tt:Quality>5.000000</tt:Quality><tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>6144</tt:BitrateLimit></tt:RateControl><tt:H264><tt:GovLength>50</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264></tt:VideoEncoderConfiguration>
</trt:Profiles>
<trt:Profiles token="Profile_3" fixed="true"><tt:Name>thirdStream</tt:Name></trt:Profiles>
<trt:Profiles token="Profile_2" fixed="true"><tt:Name>subStream</tt:Name>
<tt:VideoSourceConfiguration token="VideoSourceToken"><tt:Name>VideoSourceConfig</tt:Name><tt:SourceToken>VideoSource_1</tt:SourceToken></tt:VideoSourceConfiguration>
<tt:VideoEncoderConfiguration token="VideoEncoderToken_2"><tt:Name>VideoEncoder_2</tt:Name><tt:Encoding>JPEG</tt:Encoding><tt:Resolution><tt:Width>640</tt:Width><tt:Height>480</tt:Height></tt:Resolution><tt:RateControl><tt:FrameRateLimit>6.0</tt:FrameRateLimit></tt:RateControl></tt:VideoEncoderConfiguration>
</trt:Profiles>
</trt:GetProfilesResponse></env:Body></env:Envelope>`;

describe('GetProfiles', () => {
  it('round-trips main and sub profiles in H.264, H.265 and JPEG', () => {
    const sub = (encoding: 'H264' | 'H265' | 'JPEG'): MediaProfile => ({
      ...profile({ token: 'VideoEncoder_2', name: 'VideoEncoder_2', encoding, width: 640, height: 360, frameRateLimit: 15, bitrateLimit: 512 }),
      token: 'Profile_2',
      name: 'subStream',
    });
    for (const encoding of ['H264', 'H265', 'JPEG'] as const) {
      const s = sub(encoding);
      s.videoEncoder.govLength = encoding === 'JPEG' ? 1 : 15;
      const xml = buildGetProfilesResponse([profile(), s]);
      expect(parseGetProfilesResponse(xml)).toEqual({ ok: true, value: [profile(), s] });
    }
    expect(buildGetProfilesResponse([profile()])).toContain('<tt:UseCount>1</tt:UseCount><tt:SourceToken>VideoSource_1</tt:SourceToken>');
  });

  it('reads a camera reply, skipping profiles without video', () => {
    const r = parseGetProfilesResponse(CAMERA_PROFILES);
    expect(r.ok && r.value.map((p) => [p.token, p.videoEncoder.encoding, p.videoEncoder.width, p.videoEncoder.frameRateLimit])).toEqual([
      ['Profile_1', 'H264', 2560, 25],
      ['Profile_2', 'JPEG', 640, 6],
    ]);
    expect(r.ok && r.value[0]?.videoEncoder).toMatchObject({ token: 'VideoEncoderToken_1', bitrateLimit: 6144, govLength: 50 });
    expect(r.ok && r.value[1]?.videoSource).toEqual({ token: 'VideoSourceToken', name: 'VideoSourceConfig', sourceToken: 'VideoSource_1', width: 0, height: 0 });
  });

  it('refuses to build what a camera could not send', () => {
    expect(() => buildGetProfilesResponse([profile({ encoding: 'MPEG4' as 'H264' })])).toThrow(RangeError);
    expect(() => buildGetProfilesResponse([profile({ width: 0 })])).toThrow(RangeError);
    expect(() => buildGetProfilesResponse([profile({ frameRateLimit: 2.5 })])).toThrow(RangeError);
    expect(() => buildGetProfilesResponse([{ ...profile(), token: 'x'.repeat(65) }])).toThrow(RangeError);
    expect(() => buildGetProfilesResponse([{ ...profile(), name: '' }])).toThrow(RangeError);
  });

  it('never throws on bad input', () => {
    for (const bad of ['', '<a/>', '<s:Envelope xmlns:s="x"><s:Body></s:Body></s:Envelope>', CAMERA_PROFILES.slice(0, 400), '\u0000\uffff']) {
      expect(parseGetProfilesResponse(bad).ok).toBe(false);
    }
    const fault = buildFault({ code: FaultCode.sender, subcodes: [FaultSubcode.notAuthorized], reason: 'Sender not Authorized' });
    expect(parseGetProfilesResponse(fault)).toEqual({ ok: false, error: expect.stringContaining('Sender not Authorized') as unknown });
  });

  it('builds a request the envelope parser reads', () => {
    const env = parseEnvelope(buildGetProfiles(usernameTokenHeader({ username: 'admin', password: 'p' })));
    expect(env.ok && env.value.operation).toBe('GetProfiles');
    expect(env.ok && env.value.header).toBeDefined();
  });
});

describe('GetStreamUri and GetSnapshotUri', () => {
  it('round-trips the request: profile token and stream setup', () => {
    expect(parseGetStreamUriRequest(buildGetStreamUri({ profileToken: 'Profile_2' }))).toEqual({
      ok: true,
      value: { profileToken: 'Profile_2', stream: 'RTP-Unicast', protocol: 'RTSP' },
    });
    const env = parseEnvelope(buildGetStreamUri({ profileToken: 'P<&>', stream: 'RTP-Multicast', protocol: 'UDP' }));
    expect(env.ok && parseGetStreamUriRequest(env.value)).toEqual({
      ok: true,
      value: { profileToken: 'P<&>', stream: 'RTP-Multicast', protocol: 'UDP' },
    });
    expect(parseGetSnapshotUriRequest(buildGetSnapshotUri('Profile_1'))).toEqual({ ok: true, value: { profileToken: 'Profile_1' } });
  });

  it('reads a request without StreamSetup as RTP unicast over RTSP, and refuses bad ones', () => {
    const bare = buildGetSnapshotUri('Profile_1').replace(/GetSnapshotUri/g, 'GetStreamUri');
    expect(parseGetStreamUriRequest(bare)).toMatchObject({ ok: true, value: { stream: 'RTP-Unicast', protocol: 'RTSP' } });
    expect(parseGetStreamUriRequest(bare.replace('Profile_1', ' ')).ok).toBe(false);
    expect(parseGetStreamUriRequest(buildGetStreamUri({ profileToken: 'P' }).replace('RTP-Unicast', 'RTP-Broadcast')).ok).toBe(false);
    expect(parseGetStreamUriRequest(buildGetStreamUri({ profileToken: 'P' }).replace('>RTSP<', '>SCTP<')).ok).toBe(false);
    expect(parseGetStreamUriRequest(buildGetSnapshotUri('Profile_1')).ok).toBe(false);
    expect(parseGetSnapshotUriRequest(buildGetSnapshotUri('P').replace('>P<', `>${'x'.repeat(65)}<`)).ok).toBe(false);
    for (const bad of ['', 'garbage', '<s:Envelope/>']) {
      expect(parseGetStreamUriRequest(bad).ok).toBe(false);
      expect(parseGetSnapshotUriRequest(bad).ok).toBe(false);
    }
    expect(() => buildGetStreamUri({ profileToken: '' })).toThrow(RangeError);
  });

  it('round-trips the URIs and checks their schemes', () => {
    const rtsp = 'rtsp://192.0.2.10:554/Streaming/Channels/101';
    expect(parseMediaUriResponse(buildGetStreamUriResponse(rtsp), 'GetStreamUriResponse')).toEqual({ ok: true, value: rtsp });
    const http = 'http://192.0.2.10/onvif/snapshot?profile=Profile_1&x=1';
    const snap = buildGetSnapshotUriResponse(http);
    expect(snap).toContain('profile=Profile_1&amp;x=1');
    expect(parseMediaUriResponse(snap, 'GetSnapshotUriResponse')).toEqual({ ok: true, value: http });
    expect(parseMediaUriResponse(snap, 'GetStreamUriResponse').ok).toBe(false);
    expect(parseMediaUriResponse(snap.replace(/<tt:Uri>.*<\/tt:Uri>/, ''), 'GetSnapshotUriResponse').ok).toBe(false);
    expect(() => buildGetStreamUriResponse(http)).toThrow(RangeError);
    expect(() => buildGetSnapshotUriResponse(rtsp)).toThrow(RangeError);
    expect(() => buildGetSnapshotUriResponse('not a uri')).toThrow(RangeError);
  });
});

describe('GetCapabilities, GetServices and GetVideoSources', () => {
  it('round-trips the service addresses', () => {
    const x = { device: 'http://192.0.2.10/onvif/device_service', media: 'http://192.0.2.10/onvif/media_service', ptz: 'http://192.0.2.10/onvif/ptz' };
    expect(parseGetCapabilitiesResponse(buildGetCapabilitiesResponse(x))).toEqual({ ok: true, value: x });
    const all = { ...x, events: 'http://192.0.2.10/onvif/events' };
    expect(parseGetCapabilitiesResponse(buildGetCapabilitiesResponse(all))).toEqual({ ok: true, value: all });
    expect(() => buildGetCapabilitiesResponse({ device: 'ftp://x/' })).toThrow(RangeError);
    const noDevice = buildGetCapabilitiesResponse(x).replace('<tt:XAddr>http://192.0.2.10/onvif/device_service</tt:XAddr>', '');
    expect(parseGetCapabilitiesResponse(noDevice).ok).toBe(false);
    expect(parseEnvelope(buildGetCapabilities()).ok).toBe(true);
  });

  it('round-trips the services with their versions, capabilities on request', () => {
    const services = [
      { service: 'device', xaddr: 'http://h/onvif/device_service', version: { major: 2, minor: 60 } },
      { service: 'media', xaddr: 'http://h/onvif/media_service', version: { major: 2, minor: 60 } },
    ] as const;
    const bare = buildGetServicesResponse({ services, includeCapability: false });
    expect(bare).not.toContain('Capabilities');
    const full = buildGetServicesResponse({ services, includeCapability: true, maxProfiles: 2 });
    expect(full).toContain('MaximumNumberOfProfiles="2"');
    for (const xml of [bare, full]) {
      expect(parseGetServicesResponse(xml)).toEqual({
        ok: true,
        value: [
          { namespace: OnvifService.device, xaddr: services[0].xaddr, version: { major: 2, minor: 60 } },
          { namespace: OnvifService.media, xaddr: services[1].xaddr, version: { major: 2, minor: 60 } },
        ],
      });
    }
    expect(parseGetServicesRequest(buildGetServices(true))).toEqual({ ok: true, value: { includeCapability: true } });
    expect(parseGetServicesRequest(buildGetServices(false))).toEqual({ ok: true, value: { includeCapability: false } });
    expect(parseGetServicesRequest(buildGetProfiles()).ok).toBe(false);
    expect(() => buildGetServicesResponse({ services: [{ ...services[0], version: { major: -1, minor: 0 } }], includeCapability: false })).toThrow(
      RangeError,
    );
  });

  it('round-trips the video sources and skips broken ones', () => {
    const sources = [{ token: 'VideoSource_1', framerate: 25, width: 1920, height: 1080 }];
    const xml = buildGetVideoSourcesResponse(sources);
    expect(parseGetVideoSourcesResponse(xml)).toEqual({ ok: true, value: sources });
    expect(parseGetVideoSourcesResponse(xml.replace('<tt:Width>1920</tt:Width>', ''))).toEqual({ ok: true, value: [] });
    expect(parseEnvelope(buildGetVideoSources()).ok).toBe(true);
    expect(() => buildGetVideoSourcesResponse([{ ...sources[0]!, framerate: 0 }])).toThrow(RangeError);
  });
});

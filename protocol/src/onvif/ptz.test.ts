import { describe, expect, it } from 'vitest';
import { buildGetProfilesResponse, parseGetProfilesResponse, type MediaProfile } from './media.js';
import {
  PtzFaultSubcode,
  PtzSpace,
  buildContinuousMove,
  buildGetConfigurationsResponse,
  buildGetNodesResponse,
  buildGetPresetsResponse,
  buildProfileTokenRequest,
  buildGetStatusResponse,
  buildPresetRequest,
  buildPtzAck,
  buildSetPreset,
  buildSetPresetResponse,
  buildStop,
  parseContinuousMoveRequest,
  parseGetPresetsResponse,
  parseGetStatusResponse,
  parsePresetRequest,
  parseProfileTokenRequest,
  parsePtzAck,
  parseSetPresetRequest,
  parseSetPresetResponse,
  parseStopRequest,
} from './ptz.js';
import { FaultCode, buildFault } from './soap.js';

// What the onvif npm client sends: default namespaces, no prefixes on the operation.
const clientMove = (velocity: string, timeout = '') =>
  `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body><ContinuousMove xmlns="http://www.onvif.org/ver20/ptz/wsdl"><ProfileToken>Profile_1</ProfileToken><Velocity>${velocity}</Velocity>${timeout}</ContinuousMove></s:Body></s:Envelope>`;

describe('PTZ requests', () => {
  it('round-trips ContinuousMove, Stop, GetStatus, GetPresets, SetPreset, GotoPreset and RemovePreset', () => {
    expect(parseContinuousMoveRequest(buildContinuousMove({ profileToken: 'P', velocity: { pan: 0.5, tilt: -0.25, zoom: 1 }, timeoutMs: 1500 }))).toEqual({
      ok: true,
      value: { profileToken: 'P', velocity: { pan: 0.5, tilt: -0.25, zoom: 1 }, timeoutMs: 1500 },
    });
    expect(parseContinuousMoveRequest(buildContinuousMove({ profileToken: 'P', velocity: { zoom: -1 } }))).toEqual({ ok: true, value: { profileToken: 'P', velocity: { zoom: -1 } } });
    expect(parseStopRequest(buildStop({ profileToken: 'P' }))).toEqual({ ok: true, value: { profileToken: 'P', panTilt: true, zoom: true } });
    expect(parseStopRequest(buildStop({ profileToken: 'P', zoom: false }))).toEqual({ ok: true, value: { profileToken: 'P', panTilt: true, zoom: false } });
    expect(parseProfileTokenRequest(buildProfileTokenRequest('GetStatus', 'P'), 'GetStatus')).toEqual({ ok: true, value: { profileToken: 'P' } });
    expect(parseProfileTokenRequest(buildProfileTokenRequest('GetPresets', 'P'), 'GetPresets')).toEqual({ ok: true, value: { profileToken: 'P' } });
    expect(parseProfileTokenRequest(buildProfileTokenRequest('GetPresets', 'P'), 'GetStatus').ok).toBe(false);
    expect(parseSetPresetRequest(buildSetPreset({ profileToken: 'P', name: 'Gate & yard' }))).toEqual({ ok: true, value: { profileToken: 'P', name: 'Gate & yard' } });
    expect(parseSetPresetRequest(buildSetPreset({ profileToken: 'P', presetToken: '3' }))).toEqual({ ok: true, value: { profileToken: 'P', presetToken: '3' } });
    for (const op of ['GotoPreset', 'RemovePreset'] as const) {
      expect(parsePresetRequest(buildPresetRequest(op, { profileToken: 'P', presetToken: '7' }), op)).toEqual({ ok: true, value: { profileToken: 'P', presetToken: '7' } });
    }
    expect(() => buildContinuousMove({ profileToken: 'P', velocity: { pan: 1 } })).toThrow(RangeError);
    expect(() => buildSetPreset({ profileToken: 'P', name: 'x'.repeat(65) })).toThrow(RangeError);
  });

  it('reads what the onvif client sends and refuses bad velocities, spaces and durations', () => {
    const ns = 'xmlns="http://www.onvif.org/ver10/schema"';
    expect(parseContinuousMoveRequest(clientMove(`<PanTilt x="0.3" y="0" ${ns}/><Zoom x="0" ${ns}/>`, '<Timeout>PT0.5S</Timeout>'))).toEqual({
      ok: true,
      value: { profileToken: 'Profile_1', velocity: { pan: 0.3, tilt: 0, zoom: 0 }, timeoutMs: 500 },
    });
    const fast = parseContinuousMoveRequest(clientMove(`<PanTilt x="1.5" y="0" ${ns}/>`));
    expect(!fast.ok && fast.error.subcodes).toEqual(['ter:InvalidArgVal', PtzFaultSubcode.invalidVelocity]);
    const space = parseContinuousMoveRequest(clientMove(`<Zoom x="0.5" space="http://example/other"/>`));
    expect(!space.ok && space.error.subcodes).toEqual(['ter:InvalidArgVal', PtzFaultSubcode.spaceNotSupported]);
    expect(parseContinuousMoveRequest(clientMove(`<Zoom x="0.5" space="${PtzSpace.zoomVelocity}"/>`)).ok).toBe(true);
    expect(parseContinuousMoveRequest(clientMove(`<PanTilt x="left" y="0"/>`)).ok).toBe(false);
    expect(parseContinuousMoveRequest(clientMove('', '<Timeout>P1Y</Timeout>')).ok).toBe(false);
    expect(parseContinuousMoveRequest('<not-soap/>').ok).toBe(false);
    const missing = parsePresetRequest(buildStop({ profileToken: 'P' }).replace(/Stop/g, 'GotoPreset'), 'GotoPreset');
    expect(!missing.ok && missing.error.subcodes).toEqual(['ter:InvalidArgVal', PtzFaultSubcode.noToken]);
  });
});

describe('PTZ responses', () => {
  it('round-trips GetStatus, GetPresets and SetPreset, writing plain decimals', () => {
    const status = buildGetStatusResponse({ position: { pan: -0.1234567, tilt: 1e-9, zoom: 0.5 }, panTilt: 'MOVING', zoom: 'IDLE', utcTime: new Date('2026-12-02T10:00:00Z') });
    expect(status).toContain('x="-0.123457" y="0"');
    expect(parseGetStatusResponse(status)).toEqual({
      ok: true,
      value: { position: { pan: -0.123457, tilt: 0, zoom: 0.5 }, panTilt: 'MOVING', zoom: 'IDLE', utcTime: new Date('2026-12-02T10:00:00Z') },
    });
    const presets = [
      { token: '1', name: 'Door', position: { pan: 0.2, tilt: 0.1, zoom: 0.2 } },
      { token: '2', name: 'Yard' },
    ];
    expect(parseGetPresetsResponse(buildGetPresetsResponse(presets))).toEqual({ ok: true, value: presets });
    expect(parseSetPresetResponse(buildSetPresetResponse('4'))).toEqual({ ok: true, value: '4' });
    expect(parsePtzAck(buildPtzAck('GotoPreset'), 'GotoPreset')).toEqual({ ok: true, value: true });
    const fault = parsePtzAck(buildFault({ code: FaultCode.sender, subcodes: ['ter:InvalidArgVal', 'ter:NoToken'], reason: 'no preset 9' }), 'GotoPreset');
    expect(!fault.ok && fault.error).toMatch(/NoToken: no preset 9/);
  });

  it('reads a camera’s GetStatus that has no zoom, and presets without names', () => {
    const camera = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><env:Body>
      <tptz:GetStatusResponse><tptz:PTZStatus><tt:Position><tt:PanTilt x="0.5" y="-1.0"/></tt:Position><tt:MoveStatus><tt:PanTilt>MOVING</tt:PanTilt></tt:MoveStatus><tt:UtcTime>2026-12-02T10:00:00Z</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>
      </env:Body></env:Envelope>`;
    expect(parseGetStatusResponse(camera)).toMatchObject({ ok: true, value: { position: { pan: 0.5, tilt: -1, zoom: 0 }, panTilt: 'MOVING', zoom: 'IDLE' } });
    const presets = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"><env:Body><tptz:GetPresetsResponse><tptz:Preset token="5"/><tptz:Preset><tt:Name xmlns:tt="x">no token</tt:Name></tptz:Preset></tptz:GetPresetsResponse></env:Body></env:Envelope>`;
    expect(parseGetPresetsResponse(presets)).toEqual({ ok: true, value: [{ token: '5', name: '5' }] });
  });

  it('describes nodes and configurations, and puts the PTZ configuration on profiles', () => {
    const nodes = buildGetNodesResponse([{ token: 'PTZNode_1', name: 'PTZ', maxPresets: 256 }]);
    expect(nodes).toContain(`<tt:URI>${PtzSpace.panTiltVelocity}</tt:URI>`);
    expect(nodes).toContain('<tt:MaximumNumberOfPresets>256</tt:MaximumNumberOfPresets>');
    const config = { token: 'PTZConfig_1', name: 'PTZ', nodeToken: 'PTZNode_1', defaultTimeoutMs: 10_000 };
    expect(buildGetConfigurationsResponse([{ configuration: config, useCount: 2 }])).toContain(
      '<tptz:PTZConfiguration token="PTZConfig_1"><tt:Name>PTZ</tt:Name><tt:UseCount>2</tt:UseCount><tt:NodeToken>PTZNode_1</tt:NodeToken>',
    );
    const profile: MediaProfile = {
      token: 'Profile_1',
      name: 'main',
      videoSource: { token: 'VSC', name: 'VSC', sourceToken: 'VS', width: 640, height: 360 },
      videoEncoder: { token: 'VE', name: 'VE', encoding: 'H264', width: 640, height: 360, frameRateLimit: 25, bitrateLimit: 1024, govLength: 25 },
      ptz: config,
    };
    const xml = buildGetProfilesResponse([profile]);
    expect(xml).toContain('<tt:PTZConfiguration token="PTZConfig_1">');
    expect(xml.indexOf('<tt:PTZConfiguration')).toBeGreaterThan(xml.indexOf('</tt:VideoEncoderConfiguration>'));
    // Readers of profiles are not thrown by it.
    expect(parseGetProfilesResponse(xml).ok).toBe(true);
    expect(() => buildGetNodesResponse([{ token: '', name: 'PTZ', maxPresets: 1 }])).toThrow(RangeError);
  });
});

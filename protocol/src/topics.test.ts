import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeEnvelope, envelope, type Envelope } from './envelope.js';
import { P2P_ISAPI_MAX_BODY } from './messages.js';
import { isUnderEdge, parseTopic, topics } from './topics.js';

describe('topics', () => {
  it('builds and parses every kind of topic', () => {
    const e = 'VGE2024ABC001';
    expect(parseTopic(topics.status(e))).toEqual({ ok: true, value: { kind: 'status', edgeId: e } });
    expect(parseTopic(topics.heartbeat(e))).toEqual({ ok: true, value: { kind: 'heartbeat', edgeId: e } });
    expect(parseTopic(topics.inventory(e))).toEqual({ ok: true, value: { kind: 'inventory', edgeId: e } });
    expect(parseTopic(topics.deviceState(e, 'DS-2CD2143G2-I.001'))).toEqual({
      ok: true,
      value: { kind: 'deviceState', edgeId: e, deviceId: 'DS-2CD2143G2-I.001' },
    });
    expect(parseTopic(topics.event(e, 'motion'))).toEqual({ ok: true, value: { kind: 'event', edgeId: e, eventKind: 'motion' } });
    expect(parseTopic(topics.command(e, 'edge.info'))).toEqual({ ok: true, value: { kind: 'command', edgeId: e, method: 'edge.info' } });
    expect(parseTopic(topics.reply(e, 'req-12345678'))).toEqual({
      ok: true,
      value: { kind: 'reply', edgeId: e, requestId: 'req-12345678' },
    });
    expect(parseTopic(topics.claimCredentials(e, 'nonce-abcdef'))).toEqual({
      ok: true,
      value: { kind: 'claimCredentials', serial: e, nonce: 'nonce-abcdef' },
    });
  });

  it('refuses ids that would break the topic tree', () => {
    expect(() => topics.status('a/b')).toThrow(/edge id/);
    expect(() => topics.status('+')).toThrow();
    expect(() => topics.deviceState('VGE1', '#')).toThrow(/device id/);
  });

  it('rejects unknown or malformed topics without throwing', () => {
    for (const t of ['', 'v2/edge/VGE1/status', 'v1/edge/VGE1', 'v1/edge/VGE1/status/x', 'v1/edge/+/status', 'v1/other', 'v1/edge/VGE1/cmd/Bad Name']) {
      const r = parseTopic(t);
      expect(r.ok, t).toBe(false);
    }
  });

  it("builds and parses a P2P device's topics: its info, ISAPI requests to it and its answers", () => {
    expect(parseTopic(topics.p2pInfo('E23456789'))).toEqual({ ok: true, value: { kind: 'p2pInfo', serial: 'E23456789' } });
    expect(topics.p2pIsapi('E23456789')).toBe('v1/device/E23456789/isapi');
    expect(parseTopic(topics.p2pIsapi('E23456789'))).toEqual({ ok: true, value: { kind: 'p2pIsapi', serial: 'E23456789' } });
    expect(topics.p2pIsapiReply('E23456789', 'req-12345678')).toBe('v1/device/E23456789/isapi/req-12345678');
    expect(parseTopic(topics.p2pIsapiReply('E23456789', 'req-12345678'))).toEqual({
      ok: true,
      value: { kind: 'p2pIsapiReply', serial: 'E23456789', requestId: 'req-12345678' },
    });
    expect(() => topics.p2pIsapi('E2345678')).toThrow(/short serial/);
    expect(() => topics.p2pIsapi('+')).toThrow(/short serial/);
    expect(() => topics.p2pIsapiReply('E23456789', '#')).toThrow(/request id/);
    for (const t of ['v1/device/E23456789/isapi/', 'v1/device/E23456789/isapi/short', 'v1/device/E23456789/isapi/req-12345678/x', 'v1/device/+/isapi', 'v1/device/E23456789/isapi/#']) {
      expect(parseTopic(t).ok, t).toBe(false);
    }
  });

  it('checks ISAPI requests and answers against their schemas and size limits', () => {
    const decode = (topic: string, env: Envelope) => decodeMessage(topic, encodeEnvelope(env));
    const request = topics.p2pIsapi('E23456789');
    const reply = topics.p2pIsapiReply('E23456789', 'req-12345678');
    const deadline = Date.now() + 1000;
    expect(decode(request, envelope('p2pIsapi', { method: 'PUT', path: '/ISAPI/SecurityCP/control/arm/1?ways=away', body: '', deadline })).ok).toBe(true);
    expect(decode(reply, envelope('p2pIsapiReply', { status: 200, contentType: 'application/xml', body: '<ok/>' })).ok).toBe(true);
    const bad: [string, Envelope][] = [
      [request, envelope('p2pIsapi', { method: 'PATCH' as 'PUT', path: '/ISAPI/System/deviceInfo', deadline })],
      [request, envelope('p2pIsapi', { method: 'GET', path: '/__sim/state', deadline })],
      [request, envelope('p2pIsapi', { method: 'GET', path: '/ISAPI/with space', deadline })],
      [request, envelope('p2pIsapi', { method: 'PUT', path: '/ISAPI/x', body: 'x'.repeat(P2P_ISAPI_MAX_BODY + 1), deadline })],
      [reply, envelope('p2pIsapiReply', { status: 99, body: '' })],
      [reply, envelope('p2pIsapiReply', { status: 200, body: 'x'.repeat(P2P_ISAPI_MAX_BODY + 1) })],
      // An answer on a request topic, and a request on an answer topic.
      [request, envelope('p2pIsapiReply', { status: 200, body: '' })],
      [reply, envelope('p2pIsapi', { method: 'GET', path: '/ISAPI/System/deviceInfo', deadline })],
    ];
    for (const [topic, env] of bad) expect(decode(topic, env).ok, JSON.stringify(env.data).slice(0, 80)).toBe(false);
  });

  it('knows what lies under an edge prefix', () => {
    expect(isUnderEdge('v1/edge/VGE1/status', 'VGE1')).toBe(true);
    expect(isUnderEdge('v1/edge/VGE10/status', 'VGE1')).toBe(false);
    expect(isUnderEdge('v1/edge/VGE2/status', 'VGE1')).toBe(false);
  });
});

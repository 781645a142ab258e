import { describe, expect, it } from 'vitest';
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

  it('knows what lies under an edge prefix', () => {
    expect(isUnderEdge('v1/edge/VGE1/status', 'VGE1')).toBe(true);
    expect(isUnderEdge('v1/edge/VGE10/status', 'VGE1')).toBe(false);
    expect(isUnderEdge('v1/edge/VGE2/status', 'VGE1')).toBe(false);
  });
});

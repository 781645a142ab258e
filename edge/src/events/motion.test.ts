import { MotionTopic, buildPullMessagesResponse, parsePullMessagesResponse, type NotificationMessage } from '@vigil/protocol/onvif';
import { describe, expect, it } from 'vitest';
import { MotionState, readMotion } from './motion.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** Messages as a camera writes them and the box reads them back. */
function pulled(messages: NotificationMessage[]): NotificationMessage[] {
  const xml = buildPullMessagesResponse({ currentTime: new Date(T0), terminationTime: new Date(T0 + 60_000), messages });
  const r = parsePullMessagesResponse(xml);
  if (!r.ok) throw new Error(r.error);
  return r.value.messages;
}

const cell = (isMotion: string, atMs: number, op?: 'Initialized' | 'Changed' | 'Deleted'): NotificationMessage => ({
  topic: MotionTopic.cellMotion,
  utcTime: new Date(atMs),
  ...(op ? { propertyOperation: op } : {}),
  source: [
    { name: 'VideoSourceConfigurationToken', value: 'VSC_1' },
    { name: 'Rule', value: 'Rule_1' },
  ],
  data: [{ name: 'IsMotion', value: isMotion }],
});

const alarm = (state: string, atMs: number, op?: 'Initialized' | 'Changed'): NotificationMessage => ({
  topic: MotionTopic.motionAlarm,
  utcTime: new Date(atMs),
  ...(op ? { propertyOperation: op } : {}),
  source: [{ name: 'Source', value: 'VS_1' }],
  data: [{ name: 'State', value: state }],
});

describe('readMotion', () => {
  it('reads both motion topics and nothing else', () => {
    const [c, a, other, bad] = pulled([
      cell('true', T0),
      alarm('false', T0),
      { topic: 'tns1:Device/Trigger/DigitalInput', utcTime: new Date(T0), source: [], data: [{ name: 'LogicalState', value: 'true' }] },
      cell('maybe', T0),
    ]);
    expect(readMotion(c!)).toEqual({ active: true, source: 'VSC_1', rule: 'Rule_1' });
    expect(readMotion(a!)).toEqual({ active: false, source: 'VS_1' });
    expect(readMotion(other!)).toBeUndefined();
    expect(readMotion(bad!)).toBeUndefined();
  });
});

describe('MotionState', () => {
  it('gives one event per change, with the camera time corrected by the offset', () => {
    const state = new MotionState();
    const offset = 5_000;
    const messages = pulled([
      cell('false', T0, 'Initialized'),
      alarm('false', T0, 'Initialized'),
      cell('true', T0 + 1000, 'Changed'),
      alarm('true', T0 + 1000, 'Changed'),
      cell('false', T0 + 3000),
      alarm('false', T0 + 3000),
    ]);
    const events = messages
      .map((m) => state.take(m, offset))
      .filter((e) => e !== undefined);
    expect(events).toEqual([
      { kind: 'motion', active: true, at: T0 + 1000 - offset, cameraAt: new Date(T0 + 1000).toISOString(), source: 'VSC_1', rule: 'Rule_1' },
      { kind: 'motion', active: false, at: T0 + 3000 - offset, cameraAt: new Date(T0 + 3000).toISOString(), source: 'VSC_1', rule: 'Rule_1' },
    ]);
    expect(state.current).toBe(false);
  });

  it('reports a state found on resubscription only when it differs from the one known, and ignores Deleted', () => {
    const state = new MotionState();
    const take = (m: NotificationMessage) => state.take(pulled([m])[0]!, 0);
    expect(take(alarm('true', T0, 'Initialized'))).toMatchObject({ active: true, initial: true, source: 'VS_1' });
    expect(take(alarm('true', T0 + 10_000, 'Initialized'))).toBeUndefined();
    expect(take(cell('false', T0 + 20_000, 'Deleted'))).toBeUndefined();
    expect(take(cell('false', T0 + 30_000, 'Initialized'))).toMatchObject({ active: false, initial: true, at: T0 + 30_000 });
  });
});

import { AnalyticsTopic, MotionTopic, buildPullMessagesResponse, parsePullMessagesResponse, type NotificationMessage } from '@vigil/protocol/onvif';
import { describe, expect, it } from 'vitest';
import { DetectionState, readDetection } from './detections.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** Messages as a camera writes them and the box reads them back. */
function pulled(messages: NotificationMessage[]): NotificationMessage[] {
  const xml = buildPullMessagesResponse({ currentTime: new Date(T0), terminationTime: new Date(T0 + 60_000), messages });
  const r = parsePullMessagesResponse(xml);
  if (!r.ok) throw new Error(r.error);
  return r.value.messages;
}

type Op = 'Initialized' | 'Changed' | 'Deleted';
const ruleSource = (rule: string) => [
  { name: 'VideoSourceConfigurationToken', value: 'VSC_1' },
  { name: 'VideoAnalyticsConfigurationToken', value: 'VAC_1' },
  { name: 'Rule', value: rule },
];

const cell = (isMotion: string, atMs: number, op?: Op): NotificationMessage => ({
  topic: MotionTopic.cellMotion,
  utcTime: new Date(atMs),
  ...(op ? { propertyOperation: op } : {}),
  source: [
    { name: 'VideoSourceConfigurationToken', value: 'VSC_1' },
    { name: 'Rule', value: 'Rule_1' },
  ],
  data: [{ name: 'IsMotion', value: isMotion }],
});

const alarm = (state: string, atMs: number, op?: Op): NotificationMessage => ({
  topic: MotionTopic.motionAlarm,
  utcTime: new Date(atMs),
  ...(op ? { propertyOperation: op } : {}),
  source: [{ name: 'Source', value: 'VS_1' }],
  data: [{ name: 'State', value: state }],
});

const field = (isInside: string, atMs: number, op?: Op, rule = 'Field_1'): NotificationMessage => ({
  topic: AnalyticsTopic.fieldDetector,
  utcTime: new Date(atMs),
  ...(op ? { propertyOperation: op } : {}),
  source: ruleSource(rule),
  data: [{ name: 'IsInside', value: isInside }],
});

const line = (objectId: number, atMs: number, op?: Op): NotificationMessage => ({
  topic: AnalyticsTopic.lineDetector,
  utcTime: new Date(atMs),
  ...(op ? { propertyOperation: op } : {}),
  source: ruleSource('Line_1'),
  data: [{ name: 'ObjectId', value: String(objectId) }],
});

describe('readDetection', () => {
  it('reads the motion, intrusion and line crossing topics and nothing else', () => {
    const [c, a, f, l, other, bad, badField] = pulled([
      cell('true', T0),
      alarm('false', T0),
      field('1', T0),
      line(7, T0),
      { topic: 'tns1:Device/Trigger/DigitalInput', utcTime: new Date(T0), source: [], data: [{ name: 'LogicalState', value: 'true' }] },
      cell('maybe', T0),
      field('', T0),
    ]);
    expect(readDetection(c!)).toEqual({ type: 'motion', active: true, source: 'VSC_1', rule: 'Rule_1' });
    expect(readDetection(a!)).toEqual({ type: 'motion', active: false, source: 'VS_1' });
    expect(readDetection(f!)).toEqual({ type: 'intrusion', active: true, source: 'VSC_1', rule: 'Field_1' });
    expect(readDetection(l!)).toEqual({ type: 'lineCrossing', active: true, source: 'VSC_1', rule: 'Line_1' });
    expect(readDetection(other!)).toBeUndefined();
    expect(readDetection(bad!)).toBeUndefined();
    expect(readDetection(badField!)).toBeUndefined();
  });
});

describe('DetectionState', () => {
  it('gives one motion event per change, with the camera time corrected by the offset', () => {
    const state = new DetectionState();
    const offset = 5_000;
    const messages = pulled([
      cell('false', T0, 'Initialized'),
      alarm('false', T0, 'Initialized'),
      cell('true', T0 + 1000, 'Changed'),
      alarm('true', T0 + 1000, 'Changed'),
      cell('false', T0 + 3000),
      alarm('false', T0 + 3000),
    ]);
    const events = messages.map((m) => state.take(m, offset)).filter((e) => e !== undefined);
    expect(events).toEqual([
      { type: 'motion', active: true, at: T0 + 1000 - offset, cameraAt: T0 + 1000, source: 'VSC_1', rule: 'Rule_1' },
      { type: 'motion', active: false, at: T0 + 3000 - offset, cameraAt: T0 + 3000, source: 'VSC_1', rule: 'Rule_1' },
    ]);
    expect(state.isActive('motion')).toBe(false);
  });

  it('follows intrusion per rule beside motion, and gives every line crossing as an active pulse', () => {
    const state = new DetectionState();
    const take = (m: NotificationMessage) => state.take(pulled([m])[0]!, 0);
    expect(take(field('false', T0, 'Initialized'))).toBeUndefined();
    expect(take(line(1, T0, 'Initialized'))).toBeUndefined();
    expect(take(field('true', T0 + 1000, 'Changed'))).toMatchObject({ type: 'intrusion', active: true, at: T0 + 1000, rule: 'Field_1' });
    expect(take(cell('true', T0 + 1500, 'Changed'))).toMatchObject({ type: 'motion', active: true });
    expect(state.isActive('intrusion')).toBe(true);
    // Another rule's field is another intrusion; the same state again is none.
    expect(take(field('true', T0 + 1600, 'Changed', 'Field_2'))).toMatchObject({ type: 'intrusion', active: true, rule: 'Field_2' });
    expect(take(field('true', T0 + 1700, 'Changed'))).toBeUndefined();
    expect(take(field('false', T0 + 2000, 'Changed'))).toMatchObject({ type: 'intrusion', active: false, rule: 'Field_1' });
    expect(state.isActive('intrusion')).toBe(true);
    expect(take(field('false', T0 + 2100, 'Changed', 'Field_2'))).toMatchObject({ type: 'intrusion', active: false });
    expect(state.isActive('intrusion')).toBe(false);
    expect(state.isActive('motion')).toBe(true);

    const crossings = [line(1, T0 + 3000), line(2, T0 + 3100)].map(take);
    expect(crossings).toEqual([
      { type: 'lineCrossing', active: true, at: T0 + 3000, cameraAt: T0 + 3000, source: 'VSC_1', rule: 'Line_1' },
      { type: 'lineCrossing', active: true, at: T0 + 3100, cameraAt: T0 + 3100, source: 'VSC_1', rule: 'Line_1' },
    ]);
    expect(state.isActive('lineCrossing')).toBe(false);
  });

  it('reports a state found on resubscription only when it differs from the one known, and ignores Deleted', () => {
    const state = new DetectionState();
    const take = (m: NotificationMessage) => state.take(pulled([m])[0]!, 0);
    expect(take(alarm('true', T0, 'Initialized'))).toMatchObject({ type: 'motion', active: true, initial: true, source: 'VS_1' });
    expect(take(alarm('true', T0 + 10_000, 'Initialized'))).toBeUndefined();
    expect(take(cell('false', T0 + 20_000, 'Deleted'))).toBeUndefined();
    expect(take(cell('false', T0 + 30_000, 'Initialized'))).toMatchObject({ active: false, initial: true, at: T0 + 30_000 });
    expect(take(field('true', T0 + 40_000, 'Initialized'))).toMatchObject({ type: 'intrusion', active: true, initial: true });
  });
});

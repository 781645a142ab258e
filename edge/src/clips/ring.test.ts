import { describe, expect, it } from 'vitest';
import { gapsIn, offsetInClip } from './assemble.js';
import { checkClipRange } from './recorder.js';
import { parseSegmentLine, SegmentRing, type TimedSegment } from './ring.js';

const seg = (file: string, run: number, streamStart: number, streamEnd: number) => ({ file, run, streamStart, streamEnd });

describe('the segment ring', () => {
  it('reads csv segment list lines and refuses others', () => {
    expect(parseSegmentLine('r1-000003.ts,3.200000,4.200000')).toEqual({ name: 'r1-000003.ts', start: 3.2, end: 4.2 });
    expect(parseSegmentLine('"r1-000003.ts",3.2,4.2\r')).toEqual({ name: 'r1-000003.ts', start: 3.2, end: 4.2 });
    expect(parseSegmentLine('r1.ts,4.2,3.2')).toBeNull();
    expect(parseSegmentLine('garbage')).toBeNull();
  });

  it('places a run on the wall clock with the smallest delay seen, and prunes old segments unless held', () => {
    const ring = new SegmentRing();
    ring.add(seg('a', 1, 10, 11), 100_400); // arrived 400 ms late
    ring.add(seg('b', 1, 11, 12), 101_050); // 50 ms late: the better offset
    expect(ring.all.map((s) => [s.startAt, s.endAt])).toEqual([
      [99_050, 100_050],
      [100_050, 101_050],
    ]);
    ring.add(seg('c', 2, 0, 1), 110_000);
    expect(ring.newestAt).toBe(110_000);
    expect(ring.covering(100_500, 109_500).map((s) => s.file)).toEqual(['b', 'c']);
    expect(ring.prune(105_000, new Set(['a'])).map((s) => s.file)).toEqual(['b']);
    expect(ring.all.map((s) => s.file)).toEqual(['a', 'c']);
  });
});

describe('clip ranges', () => {
  const timed = (startAt: number, endAt: number): TimedSegment => ({ file: 'x', run: 1, streamStart: startAt / 1000, streamEnd: endAt / 1000, startAt, endAt });

  it('finds the gaps of a range and where an event falls in the joined footage', () => {
    const segs = [timed(1_000, 2_000), timed(2_000, 3_000), timed(6_000, 7_000)];
    expect(gapsIn(1_200, 6_800, segs)).toEqual([{ from: 3_000, to: 6_000 }]);
    expect(gapsIn(0, 9_000, segs)).toEqual([
      { from: 0, to: 1_000 },
      { from: 3_000, to: 6_000 },
      { from: 7_000, to: 9_000 },
    ]);
    expect(gapsIn(1_100, 2_900, segs)).toEqual([]);
    expect(offsetInClip(2_500, segs)).toBe(1.5);
    expect(offsetInClip(4_000, segs)).toBe(2); // in the gap: the first frame after it
  });

  it('refuses pre and post seconds out of range', () => {
    expect(() => checkClipRange(5, 10)).not.toThrow();
    expect(() => checkClipRange(-1, 10)).toThrow(/preSeconds must be a number from 0 to 60/);
    expect(() => checkClipRange(5, 61)).toThrow(RangeError);
    expect(() => checkClipRange(30, 31)).toThrow(/at most 60/);
    expect(() => checkClipRange(Number.NaN, 1)).toThrow(RangeError);
    expect(() => checkClipRange(0, 0)).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { Recordings, SEGMENT_MS, recordingOptionsProblem } from './recordings.js';

const NOW = Date.UTC(2026, 5, 1, 12, 34, 56, 789);
const clock = () => NOW;
const HOUR = 3_600_000;

describe('recordings', () => {
  it('cover the window in 10-minute segments on the clock grid, the last one up to now', () => {
    const r = new Recordings({ hours: 2, gaps: [] }, clock);
    const all = r.segments(1, 0, Infinity);
    expect(all[0]!.from).toBe(Date.UTC(2026, 5, 1, 10, 34, 56));
    expect(all.at(-1)!.to).toBe(Date.UTC(2026, 5, 1, 12, 34, 56));
    expect(all.slice(1).every((s, i) => s.from === all[i]!.to)).toBe(true);
    expect(all.slice(1, -1).every((s) => s.from % SEGMENT_MS === 0 && s.to - s.from === SEGMENT_MS)).toBe(true);
    expect(all).toHaveLength(13);
  });

  it('mark the same segments as motion every time, and not the same ones on every channel', () => {
    const a = new Recordings({ gaps: [] }, clock);
    const b = new Recordings({ gaps: [] }, clock);
    const types = (r: Recordings, ch: number) => r.segments(ch, NOW - 24 * HOUR, NOW).map((s) => s.type);
    expect(types(a, 1)).toEqual(types(b, 1));
    expect(types(a, 1)).not.toEqual(types(a, 2));
    const motion = types(a, 1).filter((t) => t === 'motion').length;
    expect(motion).toBeGreaterThan(10);
    expect(motion).toBeLessThan(100);
  });

  it('leave gaps out, relative to the start or absolute, for all or some channels', () => {
    const r = new Recordings(
      { gaps: [{ from: -125, to: -95 }, { from: new Date(NOW - 5 * HOUR).toISOString(), to: new Date(NOW - 4 * HOUR).toISOString(), channels: [2] }] },
      clock,
    );
    const gapFrom = Math.floor((NOW - 125 * 60_000) / 1000) * 1000;
    const gapTo = Math.floor((NOW - 95 * 60_000) / 1000) * 1000;
    const around = r.segments(1, gapFrom - SEGMENT_MS, gapTo + SEGMENT_MS);
    expect(around.some((s) => s.to === gapFrom)).toBe(true);
    expect(around.some((s) => s.from === gapTo)).toBe(true);
    expect(around.every((s) => s.to <= gapFrom || s.from >= gapTo)).toBe(true);
    expect(r.recordingAt(1, gapFrom + 1000)).toBeUndefined();
    expect(r.recordingAt(1, gapFrom - 5000)).toEqual({ from: NOW - 24 * HOUR - 789, to: gapFrom });
    expect(r.recordingAt(1, gapTo)).toEqual({ from: gapTo, to: NOW - 789 });
    expect(r.segments(2, NOW - 4.5 * HOUR, NOW - 4.2 * HOUR)).toEqual([]);
    expect(r.segments(1, NOW - 4.5 * HOUR, NOW - 4.2 * HOUR).length).toBeGreaterThan(0);
  });

  it('hold nothing before the window or after now', () => {
    const r = new Recordings({ hours: 1, gaps: [] }, clock);
    expect(r.segments(1, NOW - 3 * HOUR, NOW - 2 * HOUR)).toEqual([]);
    expect(r.recordingAt(1, NOW - 2 * HOUR)).toBeUndefined();
    expect(r.recordingAt(1, NOW + 1000)).toBeUndefined();
  });

  it.each([
    [{ hours: 0 }, 'recordingHours'],
    [{ gaps: [{ from: -10, to: -20 }] }, 'after'],
    [{ gaps: [{ from: 'yesterday', to: -20 }] }, 'ISO'],
    [{ gaps: [{ from: '2026-01-01T00:00:00Z', to: -20 }] }, 'both'],
    [{ gaps: [{ from: -30, to: -20, channels: [0] }] }, 'channels'],
    [{ gaps: [{ from: -30, to: -20, when: 1 }] }, 'unknown'],
  ])('refuse bad options (%#)', (opts, why) => {
    expect(recordingOptionsProblem(opts as never)).toContain(why);
    expect(() => new Recordings(opts as never, clock)).toThrow(why);
  });
});

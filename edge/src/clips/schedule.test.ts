import { describe, expect, it } from 'vitest';
import { inSchedule, scheduleProblem, siteTime } from './schedule.js';

const at = (iso: string): number => Date.parse(iso);

describe('arming schedules', () => {
  it('reads the site wall clock of the time zone, across the spring and autumn daylight saving changes', () => {
    // Europe/Berlin, Sunday 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    expect(siteTime(at('2026-03-29T00:30:00Z'), 'Europe/Berlin')).toEqual({ day: 7, minute: 90 });
    expect(siteTime(at('2026-03-29T01:30:00Z'), 'Europe/Berlin')).toEqual({ day: 7, minute: 3 * 60 + 30 });
    const earlySunday = { timeZone: 'Europe/Berlin', periods: [{ days: [7], start: 3 * 60, end: 4 * 60 }] };
    expect(inSchedule(earlySunday, at('2026-03-29T00:30:00Z'))).toBe(false);
    expect(inSchedule(earlySunday, at('2026-03-29T01:30:00Z'))).toBe(true);
    // Sunday 25 October 2026: 03:00 CEST goes back to 02:00 CET (01:00 UTC): 02:30 happens twice.
    const halfPastTwo = { timeZone: 'Europe/Berlin', periods: [{ days: [7], start: 2 * 60 + 15, end: 2 * 60 + 45 }] };
    expect(inSchedule(halfPastTwo, at('2026-10-25T00:30:00Z'))).toBe(true);
    expect(inSchedule(halfPastTwo, at('2026-10-25T01:30:00Z'))).toBe(true);
    expect(inSchedule(halfPastTwo, at('2026-10-25T02:30:00Z'))).toBe(false);
    // The same instant is another day and time elsewhere.
    expect(siteTime(at('2026-03-29T01:30:00Z'), 'America/New_York')).toEqual({ day: 6, minute: 21 * 60 + 30 });
  });

  it('takes a period up to midnight and one from midnight on the next day, with the end left out', () => {
    // Monday night into Tuesday morning in Tokyo (UTC+9, no daylight saving).
    const night = { timeZone: 'Asia/Tokyo', periods: [{ days: [1], start: 22 * 60, end: 1440 }, { days: [2], start: 0, end: 6 * 60 }] };
    expect(inSchedule(night, at('2026-12-07T12:59:00Z'))).toBe(false); // Monday 21:59
    expect(inSchedule(night, at('2026-12-07T13:00:00Z'))).toBe(true); // Monday 22:00
    expect(inSchedule(night, at('2026-12-07T14:59:59Z'))).toBe(true); // Monday 23:59:59
    expect(inSchedule(night, at('2026-12-07T15:00:00Z'))).toBe(true); // Tuesday 00:00
    expect(inSchedule(night, at('2026-12-07T20:59:00Z'))).toBe(true); // Tuesday 05:59
    expect(inSchedule(night, at('2026-12-07T21:00:00Z'))).toBe(false); // Tuesday 06:00
    // Sunday just before midnight is day 7, not Monday's period.
    expect(inSchedule(night, at('2026-12-06T14:59:00Z'))).toBe(false);
    const sundayLate = { timeZone: 'Asia/Tokyo', periods: [{ days: [7], start: 23 * 60, end: 1440 }] };
    expect(inSchedule(sundayLate, at('2026-12-06T14:59:00Z'))).toBe(true);
  });

  it('is always on without a schedule and never with no periods; refuses unknown zones and empty periods', () => {
    expect(inSchedule(null, at('2026-12-07T12:00:00Z'))).toBe(true);
    expect(inSchedule({ timeZone: 'UTC', periods: [] }, at('2026-12-07T12:00:00Z'))).toBe(false);
    expect(scheduleProblem(null)).toBeUndefined();
    expect(scheduleProblem({ timeZone: 'Europe/Berlin', periods: [{ days: [1], start: 0, end: 1440 }] })).toBeUndefined();
    expect(scheduleProblem({ timeZone: 'Mars/Olympus', periods: [] })).toMatch(/unknown time zone "Mars\/Olympus"/);
    expect(scheduleProblem({ timeZone: 'UTC', periods: [{ days: [1], start: 0, end: 60 }, { days: [2], start: 600, end: 600 }] })).toBe('periods/1: end must be after start');
    expect(() => inSchedule({ timeZone: 'Mars/Olympus', periods: [] }, Date.now())).toThrow(RangeError);
  });
});

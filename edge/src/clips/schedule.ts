import type { ArmingSchedule } from '@vigil/protocol';

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    } catch {
      throw new RangeError(`unknown time zone ${JSON.stringify(timeZone)}`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** The day of the week (1 = Monday … 7 = Sunday) and the minute of the day at `t` in the time zone. */
export function siteTime(t: number, timeZone: string): { day: number; minute: number } {
  const parts = formatterFor(timeZone).formatToParts(new Date(t));
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  const day = WEEKDAYS[part('weekday')];
  if (day === undefined) throw new RangeError(`no weekday for ${new Date(t).toISOString()} in ${timeZone}`);
  return { day, minute: Number(part('hour')) * 60 + Number(part('minute')) };
}

/** What is wrong with a schedule beyond its schema (an unknown time zone, a period ending before it starts), or undefined. */
export function scheduleProblem(schedule: ArmingSchedule | null): string | undefined {
  if (schedule === null) return undefined;
  try {
    formatterFor(schedule.timeZone);
  } catch (err) {
    return (err as Error).message;
  }
  const bad = schedule.periods.findIndex((p) => p.end <= p.start);
  return bad < 0 ? undefined : `periods/${bad}: end must be after start`;
}

/**
 * Whether epoch time `t` is inside the schedule: the site's wall clock (its time zone, daylight saving included)
 * falls in one of the periods of that weekday. A null schedule is always on; one without periods never.
 */
export function inSchedule(schedule: ArmingSchedule | null, t: number): boolean {
  if (schedule === null) return true;
  const { day, minute } = siteTime(t, schedule.timeZone);
  return schedule.periods.some((p) => p.days.includes(day) && minute >= p.start && minute < p.end);
}

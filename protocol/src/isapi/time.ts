/**
 * Epoch ms of a calendar date and time at a UTC offset (minutes east), or undefined when no such time exists
 * (Date.UTC rolls 2024-02-30 over to March; a real calendar date survives the round trip).
 */
export function zonedTimeMs(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, offsetMinutes: number): number | undefined {
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return t - offsetMinutes * 60_000;
}

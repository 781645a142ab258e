/** A filter's date range: calendar days in the user's time zone, from the start of `from` to the end of `to`. */

export function dateRangeProblem(from: string, to: string): string | null {
  return from && to && from > to ? 'The start date must not be after the end date.' : null;
}

export function startOfDay(date: string): string | undefined {
  return date ? new Date(`${date}T00:00:00`).toISOString() : undefined;
}

export function endOfDay(date: string): string | undefined {
  return date ? new Date(`${date}T23:59:59.999`).toISOString() : undefined;
}

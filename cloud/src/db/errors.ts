/** True when `err` (or what it wraps) is PostgreSQL's unique violation on the named constraint. */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const pg = e as { code?: string; constraint?: string; message?: string };
    if (pg.code === '23505') return pg.constraint === constraint || (pg.message ?? '').includes(constraint);
  }
  return false;
}

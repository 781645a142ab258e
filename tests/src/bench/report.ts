/** Nearest-rank percentile of unsorted samples; NaN when there are none. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (samples: number[]): number => percentile(samples, 50);

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-GB', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');

/** A titled table of left-aligned label columns and right-aligned figures. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ').trimEnd();
  const out = [title, `  ${line(header)}`, `  ${widths.map((w) => '-'.repeat(w)).join('   ')}`, ...rows.map((r) => `  ${line(r)}`)];
  process.stdout.write(`${out.join('\n')}\n\n`);
}

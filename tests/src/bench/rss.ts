import { readFileSync } from 'node:fs';

/** Resident set size of a process in bytes, from /proc/{pid}/status (VmRSS is in KiB). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** User plus system CPU time a process has used so far, in milliseconds. */
export function cpuMs(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSec = 100; // USER_HZ on Linux
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSec;
}

/** Samples RSS on an interval; `stop()` returns the peak seen. */
export function sampleRss(pid: number, everyMs: number): { stop(): number } {
  let peak = rssBytes(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssBytes(pid));
    },
  };
}

export const mib = (bytes: number): number => bytes / (1024 * 1024);

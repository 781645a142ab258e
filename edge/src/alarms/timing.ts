import type { AlarmTimingConfig, AlarmTimingStatus } from '@vigil/protocol';

/** One delivery: the panel's message reached the box, then the receiver acknowledged it. */
export interface TimingSample {
  receivedAt: number;
  ackedAt: number;
}

/**
 * Mean, 95th percentile (nearest rank) and maximum of the transmission times, and the strictest configured
 * class whose mean and 95th percentile thresholds both hold.
 */
export function transmissionTiming(samples: readonly TimingSample[], config: AlarmTimingConfig): AlarmTimingStatus {
  const times = samples.map((s) => s.ackedAt - s.receivedAt).sort((a, b) => a - b);
  if (times.length === 0) return { windowMs: config.windowMs, count: 0, meanMs: null, p95Ms: null, maxMs: null, class: null };
  const meanMs = times.reduce((sum, t) => sum + t, 0) / times.length;
  const p95Ms = times[Math.ceil(0.95 * times.length) - 1] ?? 0;
  const met = config.classes.find((c) => meanMs <= c.meanMs && p95Ms <= c.p95Ms);
  return { windowMs: config.windowMs, count: times.length, meanMs, p95Ms, maxMs: times.at(-1) ?? 0, class: met?.name ?? null };
}

export { sadpRound, type SadpAnswer, type SadpEndpoint, type SadpRoundOptions, type SadpRoundResult } from './round.js';
export { LAN_MAX_DEVICES, LanTracker, type LanTrackerOptions } from './tracker.js';
export { LanReport, lanChanges, PING_LEVEL_MARGIN_MS } from './changes.js';

/** How long a round waits for answers, given the round period: long enough for a red (> 200 ms) device. */
export function lanWindowMs(intervalMs: number): number {
  return Math.min(2_000, Math.max(400, Math.floor(intervalMs * 0.6)));
}

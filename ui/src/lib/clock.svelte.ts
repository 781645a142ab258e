/** A shared clock that ticks every 20 s, so "5 minutes ago" stays true without reloads. */
export const clock = $state({ now: Date.now() });
setInterval(() => {
  clock.now = Date.now();
}, 20_000);

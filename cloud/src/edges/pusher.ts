import type { Tunnel } from './tunnel.js';

/** Changes close together (a site's devices decided one after another) make one push. */
const DEBOUNCE_MS = 100;
/** A push the box failed or did not answer is retried, waiting twice as long each time. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;

interface PushState {
  timer: NodeJS.Timeout | null;
  running: boolean;
  /** Something changed while a push was on its way: push again once it ends. */
  again: boolean;
  failures: number;
}

/**
 * Pushes a configuration to edge boxes in the background: `schedule(serial)` returns at once; pushes are debounced,
 * run one at a time per box, always build the configuration as it is then, and are retried with backoff while the
 * box stays connected. An offline box is skipped, as it is pushed to when it connects.
 */
export class BoxPusher {
  private readonly states = new Map<string, PushState>();
  private closed = false;

  constructor(
    private readonly tunnel: Tunnel,
    /** What to push: builds the configuration and calls the box. */
    private readonly push: (serial: string) => Promise<void>,
    private readonly what: string,
    private readonly log: { warn(o: object, m: string): void },
  ) {}

  schedule(serial: string): void {
    let state = this.states.get(serial);
    if (!state) this.states.set(serial, (state = { timer: null, running: false, again: false, failures: 0 }));
    state.failures = 0;
    this.arm(serial, state, DEBOUNCE_MS);
  }

  close(): void {
    this.closed = true;
    for (const state of this.states.values()) if (state.timer) clearTimeout(state.timer);
    this.states.clear();
  }

  private arm(serial: string, state: PushState, delayMs: number): void {
    if (this.closed) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = setTimeout(() => void this.run(serial, state), delayMs);
    state.timer.unref();
  }

  private async run(serial: string, state: PushState): Promise<void> {
    state.timer = null;
    if (state.running) {
      state.again = true;
      return;
    }
    if (this.tunnel.isConnected(serial)) {
      state.running = true;
      try {
        await this.push(serial);
        state.failures = 0;
      } catch (err) {
        // A box that went away gets the configuration when it connects again.
        if (this.tunnel.isConnected(serial) && !state.again) {
          state.failures += 1;
          const delayMs = Math.min(RETRY_FIRST_MS * 2 ** (state.failures - 1), RETRY_MAX_MS);
          this.log.warn({ err, serial, retryInMs: delayMs }, `${this.what} failed`);
          this.arm(serial, state, delayMs);
        }
      } finally {
        state.running = false;
      }
    }
    if (state.again) {
      state.again = false;
      this.arm(serial, state, 0);
    } else if (!state.timer && this.states.get(serial) === state) {
      this.states.delete(serial);
    }
  }
}

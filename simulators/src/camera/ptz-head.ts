import type { PtzMoveStatus, PtzPreset, PtzVector } from '@vigil/protocol/onvif';

/** How far full velocity (1.0) carries an axis in a second: pan/tilt cross −1..1 in 4 s, zoom 0..1 in 4 s. */
export const PAN_TILT_PER_SECOND = 0.5;
export const ZOOM_PER_SECOND = 0.25;
export const MAX_PRESETS = 256;

const AXES = ['pan', 'tilt', 'zoom'] as const;
type Axis = (typeof AXES)[number];
const LIMITS: Record<Axis, [number, number]> = { pan: [-1, 1], tilt: [-1, 1], zoom: [0, 1] };
const RATE: Record<Axis, number> = { pan: PAN_TILT_PER_SECOND, tilt: PAN_TILT_PER_SECOND, zoom: ZOOM_PER_SECOND };

const clamp = (axis: Axis, v: number): number => Math.min(LIMITS[axis][1], Math.max(LIMITS[axis][0], v));

/** Why a preset operation was refused. */
export type PresetRefusal = 'noToken' | 'nameTaken' | 'full';

/**
 * The pan/tilt/zoom head of a camera: continuous moves that run until stopped or until their timeout, on the
 * camera's clock (so the position is a function of time, not of timers), and presets that jump to a position.
 */
export class PtzHead {
  private origin: PtzVector = { pan: 0, tilt: 0, zoom: 0 };
  private velocity: PtzVector = { pan: 0, tilt: 0, zoom: 0 };
  /** When the current move started and when it ends, in camera clock ms. */
  private since = 0;
  private until = 0;
  private readonly presetsByToken = new Map<string, PtzPreset>();
  private nextToken = 1;

  constructor(private readonly clock: () => number) {}

  get position(): PtzVector {
    const elapsed = Math.max(0, Math.min(this.clock(), this.until) - this.since) / 1000;
    const at = (axis: Axis) => clamp(axis, this.origin[axis] + this.velocity[axis] * RATE[axis] * elapsed);
    return { pan: at('pan'), tilt: at('tilt'), zoom: at('zoom') };
  }

  /** Whether pan/tilt and zoom are moving now (a move pinned at its limit has stopped). */
  get moving(): { panTilt: PtzMoveStatus; zoom: PtzMoveStatus } {
    const now = this.clock();
    const pos = this.position;
    const axisMoves = (axis: Axis): boolean => {
      const v = this.velocity[axis];
      if (v === 0 || now >= this.until) return false;
      return v > 0 ? pos[axis] < LIMITS[axis][1] : pos[axis] > LIMITS[axis][0];
    };
    return { panTilt: axisMoves('pan') || axisMoves('tilt') ? 'MOVING' : 'IDLE', zoom: axisMoves('zoom') ? 'MOVING' : 'IDLE' };
  }

  /** Starts moving the given axes at these velocities (−1..1) for `timeoutMs`; axes left out keep their motion. */
  move(velocity: Partial<PtzVector>, timeoutMs: number): void {
    this.settle();
    for (const axis of AXES) {
      const v = velocity[axis];
      if (v !== undefined) this.velocity[axis] = v;
    }
    this.until = this.since + timeoutMs;
  }

  stop(panTilt: boolean, zoom: boolean): void {
    this.settle();
    if (panTilt) this.velocity.pan = this.velocity.tilt = 0;
    if (zoom) this.velocity.zoom = 0;
  }

  get presets(): PtzPreset[] {
    return [...this.presetsByToken.values()].map((p) => ({ ...p, ...(p.position ? { position: { ...p.position } } : {}) }));
  }

  /** Saves the current position: as a new preset, or over the preset `token`. Returns the preset's token. */
  setPreset(name: string | undefined, token: string | undefined): { token: string } | { refused: PresetRefusal } {
    const existing = token === undefined ? undefined : this.presetsByToken.get(token);
    if (token !== undefined && !existing) return { refused: 'noToken' };
    if (name !== undefined && [...this.presetsByToken.values()].some((p) => p.name === name && p.token !== token)) return { refused: 'nameTaken' };
    if (!existing && this.presetsByToken.size >= MAX_PRESETS) return { refused: 'full' };
    const t = existing?.token ?? this.newToken();
    this.presetsByToken.set(t, { token: t, name: name ?? existing?.name ?? `Preset ${t}`, position: this.position });
    return { token: t };
  }

  /** Goes to a preset at once; false when there is no such preset. */
  gotoPreset(token: string): boolean {
    const preset = this.presetsByToken.get(token);
    if (!preset?.position) return false;
    this.origin = { ...preset.position };
    this.velocity = { pan: 0, tilt: 0, zoom: 0 };
    this.since = this.until = this.clock();
    return true;
  }

  removePreset(token: string): boolean {
    return this.presetsByToken.delete(token);
  }

  /** Fixes the position reached so far as the origin of what comes next. */
  private settle(): void {
    this.origin = this.position;
    const now = this.clock();
    if (now >= this.until) this.velocity = { pan: 0, tilt: 0, zoom: 0 };
    this.since = now;
    this.until = Math.max(this.until, now);
  }

  private newToken(): string {
    while (this.presetsByToken.has(String(this.nextToken))) this.nextToken++;
    return String(this.nextToken++);
  }
}

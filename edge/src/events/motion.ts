import { MotionTopic, topicMatches, type NotificationMessage, type SimpleItem } from '@vigil/protocol/onvif';

/** The topic expression selecting a camera's motion notifications. */
export const MOTION_TOPICS = `${MotionTopic.cellMotion}|${MotionTopic.motionAlarm}`;

/** A change of a camera's motion state. */
export interface MotionEvent {
  kind: 'motion';
  active: boolean;
  /** When it happened, in ms on the box's clock: the camera's time corrected by the measured clock offset. */
  at: number;
  /** The camera's own UtcTime of the notification. */
  cameraAt: string;
  /** The VideoSourceConfigurationToken of the motion rule, or the video source of the motion alarm. */
  source: string;
  /** The motion detector rule, when the camera names it. */
  rule?: string;
  /**
   * The state the camera reported when subscribed (motion already going on, or changed while the box was not
   * subscribed): `at` is then the subscription's time, not when the motion began.
   */
  initial?: true;
}

const item = (items: readonly SimpleItem[], name: string): string | undefined => items.find((i) => i.name === name)?.value;

function booleanOf(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return undefined;
}

/** What a motion notification says, or undefined for any other notification. */
export function readMotion(message: NotificationMessage): { active: boolean; source: string; rule?: string } | undefined {
  if (topicMatches(MotionTopic.cellMotion, message.topic)) {
    const active = booleanOf(item(message.data, 'IsMotion'));
    if (active === undefined) return undefined;
    const rule = item(message.source, 'Rule');
    return { active, source: item(message.source, 'VideoSourceConfigurationToken') ?? '', ...(rule ? { rule } : {}) };
  }
  if (topicMatches(MotionTopic.motionAlarm, message.topic)) {
    const active = booleanOf(item(message.data, 'State'));
    if (active === undefined) return undefined;
    return { active, source: item(message.source, 'Source') ?? item(message.source, 'VideoSourceToken') ?? '' };
  }
  return undefined;
}

/**
 * A camera's motion state, fed with its notifications in order. Both motion topics describe the same state,
 * so the second report of a change is not a change. Initialized messages only tell the state at subscription
 * time: they give an event (flagged `initial`) when that state is motion the box did not know of, or differs
 * from what the box knew before a resubscription.
 */
export class MotionState {
  private active: boolean | undefined;

  get current(): boolean {
    return this.active ?? false;
  }

  /** The event a notification makes, if any; `clockOffsetMs` is the camera's clock minus the box's. */
  take(message: NotificationMessage, clockOffsetMs: number): MotionEvent | undefined {
    const motion = readMotion(message);
    if (!motion || message.propertyOperation === 'Deleted') return undefined;
    const initialized = message.propertyOperation === 'Initialized';
    const known = this.active;
    this.active = motion.active;
    if (initialized ? (known === undefined ? !motion.active : known === motion.active) : known === motion.active) return undefined;
    return {
      kind: 'motion',
      active: motion.active,
      at: Math.round(message.utcTime.getTime() - clockOffsetMs),
      cameraAt: message.utcTime.toISOString(),
      source: motion.source,
      ...(motion.rule ? { rule: motion.rule } : {}),
      ...(initialized ? { initial: true as const } : {}),
    };
  }
}

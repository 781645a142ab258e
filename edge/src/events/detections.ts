import { ClipEventType } from '@vigil/protocol';
import { AnalyticsTopic, MotionTopic, topicMatches, type NotificationMessage, type SimpleItem } from '@vigil/protocol/onvif';

/** The topic expression selecting a camera's detections: both motion topics, the intrusion field, the line. */
export const DETECTION_TOPICS = [MotionTopic.cellMotion, MotionTopic.motionAlarm, AnalyticsTopic.fieldDetector, AnalyticsTopic.lineDetector].join('|');

/** A detection by a camera: motion or intrusion starting or ending, or a line crossed (a pulse: always active). */
export interface DetectionEvent {
  type: ClipEventType;
  active: boolean;
  /** When it happened, in ms on the box's clock: the camera's time corrected by the measured clock offset. */
  at: number;
  /** The camera's own time of the notification, in ms since the epoch on the camera's clock. */
  cameraAt: number;
  /** The video source (configuration) token the camera names. */
  source?: string;
  /** The detector rule, when the camera names it. */
  rule?: string;
  /**
   * The state the camera reported when subscribed (a detection already going on, or changed while the box was
   * not subscribed): `at` is then the subscription's time, not when the detection began.
   */
  initial?: true;
}

/** What one notification says about a detection. */
export interface Detection {
  type: ClipEventType;
  active: boolean;
  source?: string;
  rule?: string;
}

const item = (items: readonly SimpleItem[], name: string): string | undefined => items.find((i) => i.name === name)?.value;

function booleanOf(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return undefined;
}

const named = (source: string | undefined, rule: string | undefined) => ({ ...(source ? { source } : {}), ...(rule ? { rule } : {}) });

/** What a detection notification says, or undefined for any other notification (or one without its data). */
export function readDetection(message: NotificationMessage): Detection | undefined {
  const ruleSource = () => named(item(message.source, 'VideoSourceConfigurationToken'), item(message.source, 'Rule'));
  if (topicMatches(MotionTopic.cellMotion, message.topic)) {
    const active = booleanOf(item(message.data, 'IsMotion'));
    return active === undefined ? undefined : { type: ClipEventType.motion, active, ...ruleSource() };
  }
  if (topicMatches(MotionTopic.motionAlarm, message.topic)) {
    const active = booleanOf(item(message.data, 'State'));
    const source = item(message.source, 'Source') ?? item(message.source, 'VideoSourceToken');
    return active === undefined ? undefined : { type: ClipEventType.motion, active, ...named(source, undefined) };
  }
  if (topicMatches(AnalyticsTopic.fieldDetector, message.topic)) {
    const active = booleanOf(item(message.data, 'IsInside'));
    return active === undefined ? undefined : { type: ClipEventType.intrusion, active, ...ruleSource() };
  }
  if (topicMatches(AnalyticsTopic.lineDetector, message.topic)) return { type: ClipEventType.lineCrossing, active: true, ...ruleSource() };
  return undefined;
}

/**
 * A camera's detection states, fed with its notifications in order. Both motion topics describe the same
 * state, so the second report of a change is not a change; each intrusion rule has its own state. Initialized
 * messages only tell the state at subscription time: they give an event (flagged `initial`) when that state is
 * a detection the box did not know of, or differs from what the box knew before a resubscription. A line
 * crossing has no state: each crossing is an event, an Initialized one none.
 */
export class DetectionState {
  private readonly states = new Map<string, { type: ClipEventType; active: boolean }>();

  /** Whether a detection of this type is going on. */
  isActive(type: ClipEventType): boolean {
    for (const s of this.states.values()) if (s.type === type && s.active) return true;
    return false;
  }

  /** The event a notification makes, if any; `clockOffsetMs` is the camera's clock minus the box's. */
  take(message: NotificationMessage, clockOffsetMs: number): DetectionEvent | undefined {
    const detection = readDetection(message);
    if (!detection || message.propertyOperation === 'Deleted') return undefined;
    const initialized = message.propertyOperation === 'Initialized';
    if (detection.type === ClipEventType.lineCrossing) return initialized ? undefined : this.event(detection, message, clockOffsetMs, false);
    const key = detection.type === ClipEventType.intrusion ? `intrusion\n${detection.source ?? ''}\n${detection.rule ?? ''}` : detection.type;
    const known = this.states.get(key)?.active;
    this.states.set(key, { type: detection.type, active: detection.active });
    if (initialized ? (known === undefined ? !detection.active : known === detection.active) : known === detection.active) return undefined;
    return this.event(detection, message, clockOffsetMs, initialized);
  }

  private event(d: Detection, message: NotificationMessage, clockOffsetMs: number, initial: boolean): DetectionEvent {
    const cameraAt = message.utcTime.getTime();
    return {
      type: d.type,
      active: d.active,
      at: Math.round(cameraAt - clockOffsetMs),
      cameraAt,
      ...named(d.source, d.rule),
      ...(initial ? { initial: true as const } : {}),
    };
  }
}

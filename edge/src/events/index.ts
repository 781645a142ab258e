export { CameraEventSubscriber, type CameraEventSubscriberEvents, type CameraEventSubscriberOptions, type CameraEventSubscriberStatus } from './pullpoint.js';
export { DETECTION_TOPICS, DetectionState, readDetection, type Detection, type DetectionEvent } from './detections.js';
export {
  RecorderEventSubscriber,
  type RecorderDetectionEvent,
  type RecorderEventSubscriberEvents,
  type RecorderEventSubscriberOptions,
  type RecorderEventSubscriberStatus,
} from './isapi-alerts.js';

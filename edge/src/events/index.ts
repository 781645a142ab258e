export { CameraEventSubscriber, type CameraEventSubscriberEvents, type CameraEventSubscriberOptions, type CameraEventSubscriberStatus } from './pullpoint.js';
export { MOTION_TOPICS, MotionState, readMotion, type MotionEvent } from './motion.js';

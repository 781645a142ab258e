export {
  CameraFeatureError,
  DEFAULT_CAMERA_STREAMS,
  IpCameraSimulator,
  SNAPSHOT_PATH,
  SOLAR_CAMERA_MODEL,
  endpointReferenceFor,
  verificationCodeFor,
  type CameraEndpoints,
  type CameraIdentity,
  type CameraStream,
  type CameraStreamName,
  type IpCameraCounters,
  type IpCameraEvents,
  type IpCameraOptions,
  type IpCameraState,
} from './camera/ip-camera.js';
export { CameraFleet, fleetSerial, type CameraFleetOptions } from './camera/fleet.js';
export { parseCliArgs, parseLanArgs, runCli, runLan, USAGE, type CliCommand, type ReadyLine, type RunningCli } from './cli-core.js';
export * from './devices/index.js';
export * from './receiver/index.js';
export * from './idp/index.js';
export * from './panels/index.js';
export * from './rtsp/index.js';
export * from './mail/index.js';

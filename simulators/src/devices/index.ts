export {
  SimDevice,
  longSerialFor,
  macFor,
  zoneOffsetMinutes,
  type SimAccessPoint,
  type SimChannelSpec,
  type SimDeviceEndpoints,
  type SimDeviceEvents,
  type SimDeviceFlags,
  type SimDeviceOptions,
  type SimHddSpec,
  type SimHubs,
} from './sim-device.js';
export { DeviceHost, parseLanSpec, type LanReadyLine, type LanSpec } from './host.js';
export { UdpHub, type UdpHandler } from './udp-hub.js';

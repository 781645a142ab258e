export { DeviceClient, DeviceRefused, DeviceUnreachable, type DeviceClientOptions } from './device-client.js';
export { ADMIN_USER, STEPS, dhcpPolicy, isEiSeries, runInitJob, type DeviceLocator, type InitJobOptions, type ProgressSink } from './job.js';
export { OnsiteJobs, type OnsiteJobsOptions } from './jobs.js';
export { ianaOffsetMinutes, posixZone } from './time-zone.js';
export { runLanOperation, type OperateOptions } from './operate.js';
export { NvrChannels, type ChannelOptions } from './channels.js';

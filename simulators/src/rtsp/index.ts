/** A simulated device's RTSP server with live test streams from ffmpeg. */
export { RtspServer, type DynamicResolver, type DynamicStream, type RtspAccount, type RtspCounters, type RtspServerOptions, type RtspStreamInfo } from './server.js';
export { RTSP_CODECS, TEST_PATTERNS, resolveStreamSpec, type PlaybackClock, type ResolvedStreamSpec, type RtspCodec, type RtspStreamSpec, type TestPattern } from './source.js';
export { parseRtspSpec, runRtsp, type RtspReadyLine, type RtspSpec } from './cli.js';

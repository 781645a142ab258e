import { BusTopic } from '../bus.js';
import { BusClient, busOptionsFromEnv, releaseProcess } from '../bus-client.js';
import { ConfigError, EXIT_CONFIG, loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { MediaService, type MediaRequest } from '../media/index.js';

/**
 * The media worker: opens video sessions (ffmpeg pulling RTSP, pushing to the cloud's ingest), takes snapshots,
 * moves PTZ cameras and searches recordings, on the agent's requests over the bus. Its ffmpeg children never
 * outlive it: they are asked to quit when it stops, killed when it exits, and write into a pipe that breaks if
 * it is killed outright.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, { proc: 'media', pid: process.pid });
  const service = new MediaService({ log, maxPipelines: config.mediaMaxStreams, ffmpegPath: config.ffmpegPath });
  process.on('exit', () => service.sessions.killAll());
  const bus = await BusClient.connect({ ...busOptionsFromEnv(), subscriptions: [BusTopic.mediaCommandPrefix] });
  log.info('media worker ready');

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    bus.close();
    service.sessions.closeAll().then(
      () => releaseProcess(stop),
      () => releaseProcess(stop),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);

  bus.on('message', (topic, payload) => {
    if (topic !== BusTopic.mediaRequest || stopping) return;
    const req = payload as MediaRequest;
    if (typeof req.id !== 'string' || typeof req.method !== 'string') {
      log.warn('bus: dropped invalid media request');
      return;
    }
    void service.handle(req).then((result) =>
      bus.publish(BusTopic.mediaReply, { id: req.id, result }).catch((err: unknown) => log.error('media reply not sent', { id: req.id, err })),
    );
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'media worker failed', err: String(err) })}\n`);
  process.exit(err instanceof ConfigError ? EXIT_CONFIG : 1);
});

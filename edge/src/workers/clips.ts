import { RpcMethod } from '@vigil/protocol';
import { BusTopic } from '../bus.js';
import { BusClient, busOptionsFromEnv, releaseProcess } from '../bus-client.js';
import { runBandwidthTest } from '../clips/bandwidth.js';
import { ClipService, type ClipServiceConfig, type ClipsRequest } from '../clips/index.js';
import { ConfigError, EXIT_CONFIG, loadConfig } from '../config.js';
import { createLogger } from '../log.js';

/**
 * The clips worker: keeps a pre-event ring buffer of each channel with cloud storage, subscribes to its devices'
 * events, cuts clips around the events the cloud asked for, and uploads them through the durable queue. It gets
 * its settings from the agent (again each time it starts) and hands the clips it had to give up back to the agent,
 * again until acknowledged, to be reported as `clip.dropped`.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, { proc: 'clips', pid: process.pid });
  const service = await ClipService.open({ dataDir: config.dataDir, quotaBytes: config.clipQuotaBytes, log, ffmpegPath: config.ffmpegPath });
  const bus = await BusClient.connect({ ...busOptionsFromEnv(), subscriptions: [BusTopic.clipsCommandPrefix] });
  log.info('clips worker ready');

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    bus.close();
    service.stop().then(
      () => releaseProcess(stop),
      (err: unknown) => {
        log.error('the clips worker did not stop cleanly', { err });
        releaseProcess(stop);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);

  const publish = (topic: string, payload: unknown): void => {
    if (!stopping) bus.publish(topic, payload).catch((err: unknown) => log.error('bus publish failed', { topic, err }));
  };
  const publishPendingReports = (): void => {
    if (stopping) return;
    service.queue.pendingReports().then(
      (pending) => {
        for (const p of pending) publish(BusTopic.clipsDropped, p);
      },
      (err: unknown) => log.error('reading dropped clip reports failed', { err }),
    );
  };
  // A report is sent with its id: after a drop, every report not yet acknowledged goes again (the agent queues each once).
  service.queue.on('dropped', publishPendingReports);

  const answer = async (req: ClipsRequest): Promise<unknown> => {
    if (req.method === RpcMethod.clipsStatus) return service.status();
    if (req.method === RpcMethod.clipsBandwidthTest) {
      const { uploadUrl, seconds, serial, secret } = req.params;
      return runBandwidthTest({ uploadUrl, seconds, serial, secret });
    }
    throw new Error(`unknown clips request ${String((req as { method?: unknown }).method)}`);
  };
  bus.on('message', (topic, payload) => {
    if (stopping) return;
    if (topic === BusTopic.clipsConfig) {
      const p = payload as { revision?: unknown; config?: Partial<ClipServiceConfig> };
      if (typeof p.revision !== 'number' || !p.config || !Array.isArray(p.config.channels) || p.config.upload === undefined) {
        log.warn('bus: dropped invalid clips configuration');
        return;
      }
      const revision = p.revision;
      service.apply(p.config as ClipServiceConfig).then(
        () => publish(BusTopic.clipsApplied, { revision }),
        (err: unknown) => log.error('applying the clips configuration failed', { revision, err }),
      );
    } else if (topic === BusTopic.clipsRequest) {
      const req = payload as ClipsRequest;
      if (typeof req.id !== 'string') return;
      answer(req).then(
        (result) => publish(BusTopic.clipsReply, { id: req.id, result }),
        (err: unknown) => log.error('clips request failed', { method: req.method, err }),
      );
    } else if (topic === BusTopic.clipsDroppedAck) {
      const id = (payload as { id?: unknown }).id;
      if (typeof id === 'number') service.queue.ackReport(id).catch((err: unknown) => log.error('forgetting a dropped clip report failed', { id, err }));
    }
  });

  publishPendingReports();
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'clips worker failed', err: String(err) })}\n`);
  process.exit(err instanceof ConfigError ? EXIT_CONFIG : 1);
});

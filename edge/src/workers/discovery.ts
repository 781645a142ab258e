import { BusTopic } from '../bus.js';
import { BusClient, busOptionsFromEnv, releaseProcess } from '../bus-client.js';
import { ConfigError, EXIT_CONFIG, loadConfig } from '../config.js';
import { discoverDevices } from '../discovery/index.js';
import { createLogger } from '../log.js';

/** The discovery worker: probes the configured targets every interval and publishes what answered. */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, { proc: 'discovery', pid: process.pid });
  const bus = await BusClient.connect(busOptionsFromEnv());
  log.info('discovery worker ready', { targets: config.probeTargets.length });

  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
    bus.close();
    releaseProcess(stop);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // The agent is gone (the IPC channel closed): nobody would read our results.
  process.once('disconnect', stop);

  const round = async (): Promise<void> => {
    const startedAt = Date.now();
    try {
      const devices = await discoverDevices({
        targets: config.probeTargets,
        username: config.deviceUser,
        password: config.devicePassword,
        timeoutMs: Math.max(200, Math.min(5_000, Math.floor(config.discoveryIntervalMs * 0.8))),
      });
      if (!stopping) await bus.publish(BusTopic.discoveryResult, { at: startedAt, devices });
    } catch (err) {
      // A failed round says nothing about the devices: publish nothing rather than an empty list.
      log.error('discovery round failed', { err });
    }
    if (!stopping) timer = setTimeout(() => void round(), Math.max(0, config.discoveryIntervalMs - (Date.now() - startedAt)));
  };
  await round();
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'discovery worker failed', err: String(err) })}\n`);
  process.exit(err instanceof ConfigError ? EXIT_CONFIG : 1);
});

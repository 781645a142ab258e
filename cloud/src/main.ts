#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { startCloud } from './server.js';

/** Exit codes: 78 bad configuration (EX_CONFIG), 1 anything else at start-up. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigil-cloud: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const cloud = await startCloud(config);
  // One line for whoever started us (the harness, `npm start`, an init system): where we listen.
  process.stdout.write(`${JSON.stringify({ ready: true, http: cloud.httpPort, mqtt: cloud.mqttTcpPort, url: cloud.url })}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    cloud.ctx.log.info({ signal }, 'shutting down');
    cloud.close().then(
      () => process.exit(0),
      (err: unknown) => {
        cloud.ctx.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`vigil-cloud: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

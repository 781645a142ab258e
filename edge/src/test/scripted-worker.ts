import { BusTopic } from '../bus.js';
import { BusClient, busOptionsFromEnv, releaseProcess } from '../bus-client.js';

/**
 * A stand-in worker: publishes the rounds given in VIGIL_TEST_ROUNDS, then idles. By default each round is a
 * discovery result's device list; with VIGIL_TEST_TOPIC each one is published as it is on that topic.
 */
const rounds = JSON.parse(process.env.VIGIL_TEST_ROUNDS ?? '[]') as unknown[];
const topic = process.env.VIGIL_TEST_TOPIC;
const bus = await BusClient.connect(busOptionsFromEnv());
let at = Date.now();
for (const round of rounds) {
  if (topic) await bus.publish(topic, round);
  else await bus.publish(BusTopic.discoveryResult, { at: at++, devices: round });
}
const stop = (): void => {
  bus.close();
  releaseProcess(stop);
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);

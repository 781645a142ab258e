import type { MqttClient } from 'mqtt';

/**
 * With reconnection off, MQTT.js keeps unacknowledged QoS 1 publishes after the broker goes away and
 * never calls them back; ending the client on close fails them, so a dead broker fails the bench
 * instead of hanging it.
 */
export function failPendingOnClose(client: MqttClient): MqttClient {
  client.once('close', () => client.end(true));
  return client;
}

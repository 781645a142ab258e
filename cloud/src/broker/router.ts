import type { AuthResult, BrokerPolicy, Client, PublishPacket, Subscription } from './broker.js';

/** One policy and the usernames it answers for. */
export interface PolicyRoute {
  /** Whether this policy decides for a client logging in with `username`. */
  accepts(username: string | undefined): boolean;
  policy: BrokerPolicy;
}

/**
 * One broker serves several kinds of client (edge boxes, P2P devices): the username picks the policy at login, and
 * that policy alone decides everything the client does afterwards. A client no route accepts is refused.
 */
export function routePolicies(routes: readonly PolicyRoute[]): BrokerPolicy {
  const owner = new WeakMap<Client, BrokerPolicy>();
  return {
    async authenticate(client, username, password): Promise<AuthResult> {
      const route = routes.find((r) => r.accepts(username));
      if (!route) return { ok: false, returnCode: 4 };
      const r = await route.policy.authenticate(client, username, password);
      if (r.ok) owner.set(client, route.policy);
      return r;
    },
    authorizeSubscribe(client: Client, sub: Subscription) {
      return owner.get(client)?.authorizeSubscribe(client, sub) ?? null;
    },
    async authorizePublish(client: Client, packet: PublishPacket) {
      const policy = owner.get(client);
      if (!policy) throw new Error(`not allowed to publish on ${packet.topic}`);
      await policy.authorizePublish(client, packet);
    },
    clientReady: (client) => owner.get(client)?.clientReady(client),
    clientGone: (client) => owner.get(client)?.clientGone(client),
    subscribed: (client, subs) => owner.get(client)?.subscribed(client, subs),
  };
}

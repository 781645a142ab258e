import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeEnvelope, envelope, RpcMethod, type RpcReplyData } from '@vigil/protocol';
import { FIXTURE_EDGE_ID, wireFixtures } from '@vigil/protocol/fixtures';
import { createLogger } from './log.js';
import { RpcServer } from './rpc.js';
import type { CommandMessage } from './uplink.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('the shared wire fixtures, read by the edge', () => {
  it('decodes what the cloud sends and what the edge itself sends, byte for byte', () => {
    for (const f of wireFixtures) {
      const r = decodeMessage(f.topic, bytes(f.payload));
      expect(r.ok, f.name).toBe(f.valid);
      if (r.ok) expect(new TextDecoder().decode(encodeEnvelope(r.value.envelope))).toBe(f.payload);
    }
  });

  it("answers the fixture's expired edge.info request with RPC_DEADLINE_PASSED, without running it", async () => {
    const fixture = wireFixtures.find((f) => f.from === 'cloud' && f.topic.endsWith('/cmd/edge.info'))!;
    const decoded = decodeMessage(fixture.topic, bytes(fixture.payload));
    if (!decoded.ok || decoded.value.topic.kind !== 'command') throw new Error('fixture is not a command');
    const replies: { id: string; reply: RpcReplyData }[] = [];
    let ran = false;
    const rpc = new RpcServer(createLogger('error', {}), async (id, reply) => {
      replies.push({ id, reply });
    });
    rpc.register(RpcMethod.edgeInfo, async () => {
      ran = true;
      throw new Error('must not run');
    });
    await rpc.handle(decoded.value as CommandMessage);
    expect(ran).toBe(false);
    expect(replies).toEqual([{ id: decoded.value.envelope.id, reply: { ok: false, error: { code: 'RPC_DEADLINE_PASSED', message: expect.any(String) } } }]);
    // The reply the edge would send decodes on the cloud's side as a reply to that request.
    const out = envelope('reply', replies[0]!.reply, { id: decoded.value.envelope.id });
    const back = decodeMessage(`v1/edge/${FIXTURE_EDGE_ID}/reply/${decoded.value.envelope.id}`, encodeEnvelope(out));
    expect(back.ok).toBe(true);
  });
});

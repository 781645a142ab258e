/**
 * Byte-exact messages of the tunnel, as both ends must read them. Each end's tests decode these same
 * bytes, so a change that breaks compatibility shows on both sides at once.
 */
export interface WireFixture {
  name: string;
  topic: string;
  /** The exact payload, UTF-8 JSON unless said otherwise. */
  payload: string;
  /** Who sends it. */
  from: 'edge' | 'cloud';
  /** Whether a receiver must accept it; a rejected one is dropped and counted. */
  valid: boolean;
}

const E = 'VGE0123456789';

export const wireFixtures: readonly WireFixture[] = [
  {
    name: 'status online (retained)',
    from: 'edge',
    valid: true,
    topic: `v1/edge/${E}/status`,
    payload: '{"v":1,"id":"0b9a4a3e-6c1e-4a4f-9d55-3a3f0f7c2e11","ts":1764662400000,"type":"edge.status","data":{"state":"online","agentVersion":"0.1.0","startedAt":1764662399000}}',
  },
  {
    name: 'status offline (last will)',
    from: 'edge',
    valid: true,
    topic: `v1/edge/${E}/status`,
    payload: '{"v":1,"id":"4c0d2f7e-8a61-4a7c-b1f4-5f8d7d0e9a22","ts":1764662400000,"type":"edge.status","data":{"state":"offline","reason":"will"}}',
  },
  {
    name: 'heartbeat',
    from: 'edge',
    valid: true,
    topic: `v1/edge/${E}/heartbeat`,
    payload: '{"v":1,"id":"hb-000000001","ts":1764662430000,"type":"edge.heartbeat","data":{"uptimeSec":30,"rssBytes":52428800,"outboxDepth":0,"devicesOnline":2,"devicesTotal":2}}',
  },
  {
    name: 'inventory with one camera',
    from: 'edge',
    valid: true,
    topic: `v1/edge/${E}/inventory`,
    payload:
      '{"v":1,"id":"inv-00000001","ts":1764662401000,"type":"edge.inventory","data":{"devices":[{"deviceId":"DS-2CD2143G2-I20240101AACHE12345678","kind":"camera","protocol":"onvif","manufacturer":"HIKVISION","model":"DS-2CD2143G2-I","serial":"DS-2CD2143G2-I20240101AACHE12345678","firmware":"V5.7.3 build 220112","name":"Front door","host":"192.168.1.64","port":80,"online":true,"lastSeenAt":1764662400500}]}}',
  },
  {
    name: 'device went offline',
    from: 'edge',
    valid: true,
    topic: `v1/edge/${E}/device/DS-2CD2143G2-I20240101AACHE12345678/state`,
    payload: '{"v":1,"id":"st-000000001","ts":1764662500000,"type":"device.state","data":{"deviceId":"DS-2CD2143G2-I20240101AACHE12345678","online":false,"at":1764662499000,"reason":"no answer to probe"}}',
  },
  {
    name: 'RPC request edge.info',
    from: 'cloud',
    valid: true,
    topic: `v1/edge/${E}/cmd/edge.info`,
    payload: '{"v":1,"id":"9f1c7a52-2b7e-4f0c-a1d3-7e5b9c4d2f10","ts":1764662600000,"type":"rpc.request","data":{"deadline":1764662610000,"params":{}}}',
  },
  {
    name: 'RPC reply (error)',
    from: 'edge',
    valid: true,
    topic: `v1/edge/${E}/reply/9f1c7a52-2b7e-4f0c-a1d3-7e5b9c4d2f10`,
    payload: '{"v":1,"id":"9f1c7a52-2b7e-4f0c-a1d3-7e5b9c4d2f10","ts":1764662600100,"type":"rpc.reply","data":{"ok":false,"error":{"code":"RPC_DEADLINE_PASSED","message":"the deadline passed before the request arrived"}}}',
  },
  {
    name: 'truncated JSON',
    from: 'edge',
    valid: false,
    topic: `v1/edge/${E}/inventory`,
    payload: '{"v":1,"id":"inv-00000002","ts":1764662401000,"type":"edge.inventory","data":{"devices":[',
  },
  {
    name: 'unknown envelope version',
    from: 'edge',
    valid: false,
    topic: `v1/edge/${E}/heartbeat`,
    payload: '{"v":2,"id":"hb-000000002","ts":1764662430000,"type":"edge.heartbeat","data":{"uptimeSec":30,"rssBytes":1,"outboxDepth":0,"devicesOnline":0,"devicesTotal":0}}',
  },
  {
    name: 'type does not match the topic',
    from: 'edge',
    valid: false,
    topic: `v1/edge/${E}/inventory`,
    payload: '{"v":1,"id":"hb-000000003","ts":1764662430000,"type":"edge.heartbeat","data":{"uptimeSec":30,"rssBytes":1,"outboxDepth":0,"devicesOnline":0,"devicesTotal":0}}',
  },
  {
    name: 'data with a field the schema does not know',
    from: 'edge',
    valid: false,
    topic: `v1/edge/${E}/status`,
    payload: '{"v":1,"id":"st-000000002","ts":1764662400000,"type":"edge.status","data":{"state":"online","cpu":99}}',
  },
  {
    name: 'device id in the topic breaks its pattern',
    from: 'edge',
    valid: false,
    topic: `v1/edge/${E}/device/bad id/state`,
    payload: '{"v":1,"id":"st-000000003","ts":1764662500000,"type":"device.state","data":{"deviceId":"bad id","online":false,"at":1764662499000}}',
  },
];

export const FIXTURE_EDGE_ID = E;

import { describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_LIMIT,
  MAX_PULL_TIMEOUT_MS,
  MotionTopic,
  buildCreatePullPointSubscription,
  buildCreatePullPointSubscriptionResponse,
  buildGetEventPropertiesResponse,
  buildPullMessages,
  buildPullMessagesResponse,
  buildRenew,
  buildRenewResponse,
  buildUnsubscribe,
  formatXsDuration,
  parseCreatePullPointSubscriptionRequest,
  parseCreatePullPointSubscriptionResponse,
  parseGetEventPropertiesResponse,
  parsePullMessagesRequest,
  parsePullMessagesResponse,
  parseRenewRequest,
  parseRenewResponse,
  parseXsDuration,
  topicMatches,
  type NotificationMessage,
} from './events.js';
import { requestOperation } from './soap.js';

const at = new Date('2026-12-02T10:00:00.250Z');
const pullPoint = 'http://10.0.0.5:80/onvif/pullpoint/ab12';

describe('xs:duration', () => {
  it('reads days, hours, minutes and fractional seconds, and refuses the rest', () => {
    expect(parseXsDuration('PT1M')).toEqual({ ok: true, value: 60_000 });
    expect(parseXsDuration(' PT0.5S ')).toEqual({ ok: true, value: 500 });
    expect(parseXsDuration('P1DT2H3M4S')).toEqual({ ok: true, value: 93_784_000 });
    for (const bad of ['P1Y', 'P2M', 'PT', 'P', '-PT1S', 'PT1.S', '60', '']) expect(parseXsDuration(bad).ok).toBe(false);
    expect(formatXsDuration(1500)).toBe('PT1.5S');
    expect(formatXsDuration(60_000)).toBe('PT60S');
    expect(() => formatXsDuration(-1)).toThrow(RangeError);
  });
});

describe('topic expressions', () => {
  it('matches concrete topics, alternatives and subtrees whatever the prefix', () => {
    expect(topicMatches('tns1:RuleEngine/CellMotionDetector/Motion', MotionTopic.cellMotion)).toBe(true);
    expect(topicMatches('tns1:RuleEngine//.', MotionTopic.cellMotion)).toBe(true);
    expect(topicMatches('tns1:RuleEngine//.', MotionTopic.motionAlarm)).toBe(false);
    expect(topicMatches('tns1:Device//.|onvif:VideoSource/MotionAlarm', MotionTopic.motionAlarm)).toBe(true);
    expect(topicMatches('tns1:RuleEngine/CellMotionDetector', MotionTopic.cellMotion)).toBe(false);
  });
});

describe('pull point requests', () => {
  it('round-trips CreatePullPointSubscription, PullMessages and Renew', () => {
    const create = buildCreatePullPointSubscription({ topicFilter: 'tns1:RuleEngine//.', initialTerminationTime: { inMs: 120_000 } });
    expect(parseCreatePullPointSubscriptionRequest(create)).toEqual({ ok: true, value: { topicFilter: 'tns1:RuleEngine//.', initialTerminationTime: { inMs: 120_000 } } });
    expect(parseCreatePullPointSubscriptionRequest(buildCreatePullPointSubscription({ initialTerminationTime: { at } }))).toEqual({
      ok: true,
      value: { initialTerminationTime: { at } },
    });
    expect(parseCreatePullPointSubscriptionRequest(buildCreatePullPointSubscription())).toEqual({ ok: true, value: {} });
    const pull = buildPullMessages({ to: pullPoint, timeoutMs: 5000, messageLimit: 3 });
    expect(pull).toContain(`<wsa:To xmlns:wsa="http://www.w3.org/2005/08/addressing">${pullPoint}</wsa:To>`);
    expect(parsePullMessagesRequest(pull)).toEqual({ ok: true, value: { timeoutMs: 5000, messageLimit: 3 } });
    expect(parseRenewRequest(buildRenew({ to: pullPoint, terminationTime: { inMs: 60_000 } }))).toEqual({ ok: true, value: { terminationTime: { inMs: 60_000 } } });
    expect(requestOperation(buildUnsubscribe(pullPoint), 'Unsubscribe').ok).toBe(true);
    expect(() => buildCreatePullPointSubscription({ topicFilter: 'tns1:A[@x]' })).toThrow(RangeError);
    expect(() => buildPullMessages({ to: 'ftp://x', timeoutMs: 1, messageLimit: 1 })).toThrow(RangeError);
  });

  it('reads the onvif client’s requests, caps long waits and refuses what it cannot honour', () => {
    const client = (body: string) =>
      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:To>${pullPoint}</a:To></s:Header><s:Body>${body}</s:Body></s:Envelope>`;
    expect(
      parsePullMessagesRequest(client('<PullMessages xmlns="http://www.onvif.org/ver10/events/wsdl"><Timeout>PT10M</Timeout><MessageLimit>5000</MessageLimit></PullMessages>')),
    ).toEqual({ ok: true, value: { timeoutMs: MAX_PULL_TIMEOUT_MS, messageLimit: MAX_MESSAGE_LIMIT } });
    expect(parsePullMessagesRequest(client('<PullMessages xmlns="http://www.onvif.org/ver10/events/wsdl"><Timeout>PT1M</Timeout></PullMessages>')).ok).toBe(false);
    expect(
      parseCreatePullPointSubscriptionRequest(
        client('<CreatePullPointSubscription xmlns="http://www.onvif.org/ver10/events/wsdl"><InitialTerminationTime>PT2M</InitialTerminationTime></CreatePullPointSubscription>'),
      ),
    ).toEqual({ ok: true, value: { initialTerminationTime: { inMs: 120_000 } } });
    expect(parseRenewRequest(client('<Renew xmlns="http://docs.oasis-open.org/wsn/b-2"><TerminationTime>PT2M</TerminationTime></Renew>'))).toEqual({
      ok: true,
      value: { terminationTime: { inMs: 120_000 } },
    });
    const content = client(
      '<CreatePullPointSubscription xmlns="http://www.onvif.org/ver10/events/wsdl"><Filter><MessageContent xmlns="http://docs.oasis-open.org/wsn/b-2" Dialect="http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter">boolean(//x)</MessageContent></Filter></CreatePullPointSubscription>',
    );
    expect(parseCreatePullPointSubscriptionRequest(content)).toEqual({ ok: false, error: 'message content filters are not supported' });
    expect(parseRenewRequest(client('<Renew xmlns="http://docs.oasis-open.org/wsn/b-2"><TerminationTime>soon</TerminationTime></Renew>')).ok).toBe(false);
  });
});

describe('event service responses', () => {
  const motion: NotificationMessage = {
    topic: MotionTopic.cellMotion,
    utcTime: at,
    propertyOperation: 'Changed',
    source: [
      { name: 'VideoSourceConfigurationToken', value: 'VideoSourceConfig_1' },
      { name: 'Rule', value: 'MyMotionDetectorRule' },
    ],
    data: [{ name: 'IsMotion', value: 'true' }],
  };

  it('round-trips subscriptions, messages and renewals', () => {
    const times = { currentTime: at, terminationTime: new Date(at.getTime() + 60_000) };
    expect(parseCreatePullPointSubscriptionResponse(buildCreatePullPointSubscriptionResponse({ address: pullPoint, ...times }))).toEqual({
      ok: true,
      value: { address: pullPoint, ...times },
    });
    const pulled = buildPullMessagesResponse({ ...times, messages: [motion], subscriptionAddress: pullPoint });
    expect(pulled).toContain('<tt:Message UtcTime="2026-12-02T10:00:00.250Z" PropertyOperation="Changed">');
    expect(parsePullMessagesResponse(pulled)).toEqual({ ok: true, value: { ...times, messages: [motion] } });
    expect(parsePullMessagesResponse(buildPullMessagesResponse({ ...times, messages: [] }))).toEqual({ ok: true, value: { ...times, messages: [] } });
    expect(parseRenewResponse(buildRenewResponse(times))).toEqual({ ok: true, value: times });
    expect(() => buildPullMessagesResponse({ ...times, messages: [{ ...motion, topic: 'RuleEngine' }] })).toThrow(RangeError);
  });

  it('reads a camera’s notifications with its own prefixes, skipping those it cannot date', () => {
    const xml = `<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tev="http://www.onvif.org/ver10/events/wsdl" xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tns1="http://www.onvif.org/ver10/topics"><env:Body><tev:PullMessagesResponse>
      <tev:CurrentTime>2026-12-02T10:00:01Z</tev:CurrentTime><tev:TerminationTime>2026-12-02T10:01:01Z</tev:TerminationTime>
      <wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">tns1:VideoSource/MotionAlarm</wsnt:Topic>
        <wsnt:Message><tt:Message UtcTime="2026-12-02T10:00:00Z" PropertyOperation="Changed"><tt:Source><tt:SimpleItem Name="Source" Value="VideoSource_1"/></tt:Source><tt:Data><tt:SimpleItem Name="State" Value="true"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>
      <wsnt:NotificationMessage><wsnt:Topic>tns1:Device/Trigger</wsnt:Topic><wsnt:Message><tt:Message><tt:Data/></tt:Message></wsnt:Message></wsnt:NotificationMessage>
    </tev:PullMessagesResponse></env:Body></env:Envelope>`;
    const parsed = parsePullMessagesResponse(xml);
    expect(parsed.ok && parsed.value.messages).toEqual([
      { topic: MotionTopic.motionAlarm, utcTime: new Date('2026-12-02T10:00:00Z'), propertyOperation: 'Changed', source: [{ name: 'Source', value: 'VideoSource_1' }], data: [{ name: 'State', value: 'true' }] },
    ]);
  });

  it('writes the topic set as nested topics and reads it back', () => {
    const xml = buildGetEventPropertiesResponse([
      { topic: MotionTopic.cellMotion, isProperty: true, source: [{ name: 'Rule', type: 'xs:string' }], data: [{ name: 'IsMotion', type: 'xs:boolean' }] },
      { topic: MotionTopic.motionAlarm, isProperty: true, source: [], data: [{ name: 'State', type: 'xs:boolean' }] },
    ]);
    expect(xml).toContain('<tns1:RuleEngine><CellMotionDetector><Motion wstop:topic="true"><tt:MessageDescription IsProperty="true">');
    expect(parseGetEventPropertiesResponse(xml)).toEqual({ ok: true, value: [MotionTopic.cellMotion, MotionTopic.motionAlarm] });
    expect(() => buildGetEventPropertiesResponse([{ topic: 'RuleEngine/X', isProperty: false, source: [], data: [] }])).toThrow(RangeError);
  });
});

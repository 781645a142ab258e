import { describe, expect, it } from 'vitest';
import {
  AccessProtocol,
  MAX_SEARCH_RESULTS,
  buildAdminAccesses,
  buildContentSearch,
  buildContentSearchResult,
  channelOfTrack,
  parseAdminAccesses,
  parseContentSearch,
  parseContentSearchResult,
  parsePlaybackQuery,
  parsePlaybackTime,
  parseSearchTime,
  playbackTime,
  playbackUri,
  rtspPortOf,
  searchPage,
  searchTime,
  trackIdFor,
  type ContentSearch,
  type ContentSearchResult,
} from './index.js';

const T0 = Date.UTC(2026, 0, 31, 23, 50, 0);

describe('content search documents', () => {
  it('round-trips a search with Hikvision spelling and record type filters', () => {
    const s: ContentSearch = {
      searchId: 'C7E1B9C5-0D1A-4F3B-9E55-2B8E0A3C1D11',
      trackIds: [101, 201],
      timeSpans: [{ start: T0, end: T0 + 3_600_000 }],
      maxResults: 40,
      searchResultPosition: 40,
      recordTypes: ['motion'],
    };
    const xml = buildContentSearch(s);
    expect(xml).toContain('<searchResultPostion>40</searchResultPostion>');
    expect(xml).toContain('<startTime>2026-01-31T23:50:00Z</startTime>');
    expect(xml).toContain('<metadataDescriptor>//recordType.meta.std-cgi.com/MOTION</metadataDescriptor>');
    expect(parseContentSearch(xml)).toEqual({ ok: true, value: s });
    const { recordTypes: _all, ...unfiltered } = s;
    expect(parseContentSearch(buildContentSearch(unfiltered))).toEqual({ ok: true, value: unfiltered });
  });

  it('reads what Hikvision clients send: no namespace, a bare record type, defaults for paging', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?><CMSearchDescription><searchID>LAST</searchID><trackIDList><trackID>101</trackID></trackIDList>
      <timeSpanList><timeSpan><startTime>2026-02-01T08:00:00+08:00</startTime><endTime>2026-02-01T01:00:00Z</endTime></timeSpan></timeSpanList>
      <metadataList><metadataDescriptor>//recordType.meta.std-cgi.com/</metadataDescriptor></metadataList></CMSearchDescription>`;
    expect(parseContentSearch(xml)).toEqual({
      ok: true,
      value: { searchId: 'LAST', trackIds: [101], timeSpans: [{ start: Date.UTC(2026, 1, 1, 0), end: Date.UTC(2026, 1, 1, 1) }], maxResults: MAX_SEARCH_RESULTS, searchResultPosition: 0 },
    });
  });

  it.each([
    ['<CMSearchDescription><searchID>x</searchID><timeSpanList><timeSpan><startTime>2026-01-01T00:00:00Z</startTime><endTime>2026-01-01T01:00:00Z</endTime></timeSpan></timeSpanList></CMSearchDescription>', 'trackIDList'],
    ['<CMSearchDescription><searchID>x</searchID><trackIDList><trackID>105</trackID></trackIDList></CMSearchDescription>', 'trackID'],
    ['<CMSearchDescription><searchID>x</searchID><trackIDList><trackID>101</trackID></trackIDList><timeSpanList><timeSpan><startTime>2026-02-30T00:00:00Z</startTime><endTime>2026-03-01T00:00:00Z</endTime></timeSpan></timeSpanList></CMSearchDescription>', 'YYYY-MM-DD'],
    ['<CMSearchDescription><searchID>x</searchID><trackIDList><trackID>101</trackID></trackIDList><timeSpanList><timeSpan><startTime>2026-01-02T00:00:00Z</startTime><endTime>2026-01-01T00:00:00Z</endTime></timeSpan></timeSpanList></CMSearchDescription>', 'before'],
    ['<CMSearchDescription><searchID>x</searchID><trackIDList><trackID>101</trackID></trackIDList><timeSpanList><timeSpan><startTime>2026-01-01T00:00:00Z</startTime><endTime>2026-01-02T00:00:00Z</endTime></timeSpan></timeSpanList><maxResults>0</maxResults></CMSearchDescription>', 'maxResults'],
    ['<CMSearchDescription><searchID>x</searchID><trackIDList><trackID>101</trackID></trackIDList><timeSpanList><timeSpan><startTime>2026-01-01T00:00:00Z</startTime><endTime>2026-01-02T00:00:00Z</endTime></timeSpan></timeSpanList><metadataList><metadataDescriptor>//nonsense</metadataDescriptor></metadataList></CMSearchDescription>', 'record type'],
    ['<CMSearchResult/>', 'expected CMSearchDescription'],
  ])('refuses a bad search (%#)', (xml, why) => {
    const r = parseContentSearch(xml);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(why);
  });

  it('round-trips a result page and checks its count', () => {
    const uri = playbackUri('rtsp://10.0.0.5:554', 101, T0, T0 + 600_000);
    expect(uri).toBe('rtsp://10.0.0.5:554/Streaming/tracks/101/?starttime=20260131T235000Z&endtime=20260201T000000Z');
    const r: ContentSearchResult = {
      searchId: 'abc',
      status: 'MORE',
      matches: [
        { trackId: 101, start: T0, end: T0 + 600_000, recordType: 'continuous', playbackUri: uri },
        { trackId: 101, start: T0 + 600_000, end: T0 + 900_000, recordType: 'motion', playbackUri: uri },
      ],
    };
    const xml = buildContentSearchResult(r);
    expect(xml).toContain('<responseStatusStrg>MORE</responseStatusStrg><numOfMatches>2</numOfMatches>');
    expect(xml).toContain('&amp;endtime=');
    expect(parseContentSearchResult(xml)).toEqual({ ok: true, value: r });
    expect(parseContentSearchResult(buildContentSearchResult({ searchId: 'abc', status: 'NO MATCHES', matches: [] }))).toEqual({
      ok: true,
      value: { searchId: 'abc', status: 'NO MATCHES', matches: [] },
    });
    const miscounted = parseContentSearchResult(xml.replace('<numOfMatches>2<', '<numOfMatches>3<'));
    expect(miscounted.ok).toBe(false);
  });

  it('pages matches: MORE while more are left, OK on the last page, NO MATCHES past the end', () => {
    const all = Array.from({ length: 7 }, (_, i) => i);
    expect(searchPage(all, 0, 3)).toEqual({ status: 'MORE', page: [0, 1, 2] });
    expect(searchPage(all, 6, 3)).toEqual({ status: 'OK', page: [6] });
    expect(searchPage(all, 0, 7)).toEqual({ status: 'OK', page: all });
    expect(searchPage(all, 7, 3)).toEqual({ status: 'NO MATCHES', page: [] });
    expect(searchPage(Array.from({ length: 60 }, (_, i) => i), 0, 1000).page).toHaveLength(MAX_SEARCH_RESULTS);
  });
});

describe('times and tracks', () => {
  it('formats and reads search and playback times', () => {
    expect(searchTime(T0 + 999)).toBe('2026-01-31T23:50:00Z');
    expect(playbackTime(T0)).toBe('20260131T235000Z');
    expect(parsePlaybackTime('20260131T235000Z')).toBe(T0);
    expect(parsePlaybackTime('2026-01-31T23:50:00Z')).toBe(T0);
    expect(parsePlaybackTime('20260131T245000Z')).toBeUndefined();
    expect(parseSearchTime('2026-01-31T23:50:00.500Z')).toBe(T0);
    expect(parseSearchTime('2026-01-31 23:50:00')).toBeUndefined();
  });

  it('reads a playback query', () => {
    expect(parsePlaybackQuery(new URLSearchParams('starttime=20260131T235000Z&endtime=20260131T235500Z'))).toEqual({ ok: true, value: { start: T0, end: T0 + 300_000 } });
    expect(parsePlaybackQuery(new URLSearchParams('starttime=20260131T235000Z'))).toEqual({ ok: true, value: { start: T0, end: undefined } });
    expect(parsePlaybackQuery(new URLSearchParams('endtime=20260131T235000Z')).ok).toBe(false);
    expect(parsePlaybackQuery(new URLSearchParams('starttime=20260131T235000Z&endtime=20260131T235000Z')).ok).toBe(false);
  });

  it('maps channels and tracks', () => {
    expect(trackIdFor(3)).toBe(301);
    expect(trackIdFor(12, 'sub')).toBe(1202);
    expect(channelOfTrack(1202)).toEqual({ channel: 12, stream: 'sub' });
    expect(channelOfTrack(103)).toBeUndefined();
    expect(channelOfTrack(1)).toBeUndefined();
  });
});

describe('admin accesses', () => {
  it('round-trips the protocol ports and finds the RTSP port', () => {
    const list = [
      { protocol: AccessProtocol.http, port: 80, enabled: true },
      { protocol: AccessProtocol.rtsp, port: 554, enabled: true },
    ];
    const xml = buildAdminAccesses(list);
    expect(xml).toContain('<protocol>RTSP</protocol><portNo>554</portNo>');
    const parsed = parseAdminAccesses(xml);
    expect(parsed).toEqual({ ok: true, value: list });
    expect(rtspPortOf(list)).toBe(554);
    expect(rtspPortOf([{ protocol: AccessProtocol.rtsp, port: 554, enabled: false }])).toBeUndefined();
    expect(parseAdminAccesses(xml.replace('<portNo>554<', '<portNo>0<')).ok).toBe(false);
  });
});

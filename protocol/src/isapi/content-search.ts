/**
 * A recorder's recordings (ISAPI content management): the search the edge posts (CMSearchDescription), the page
 * of matches the recorder answers (CMSearchResult), and the RTSP playback URLs of its tracks. A track is a
 * channel's recorded stream: track `N01` is channel N's main stream. Search times are UTC
 * `YYYY-MM-DDTHH:MM:SSZ`; playback URLs carry `starttime`/`endtime` as `YYYYMMDDTHHMMSSZ`.
 */
import { children, childNode, isNode, type XmlNode } from '../onvif/xml.js';
import { fail, ok, type Result } from '../result.js';
import { isapiDoc as doc, IsapiReader as Reader, isapiRoot as root, isapiTag as tag } from './messages.js';
import { zonedTimeMs } from './time.js';

/** POST a CMSearchDescription here; the answer is a CMSearchResult. */
export const CONTENT_SEARCH_PATH = '/ISAPI/ContentMgmt/search';
/** The most matches one search answer holds; ask again from `searchResultPosition` for the rest. */
export const MAX_SEARCH_RESULTS = 50;

/** The record types a recorder tags its segments with, and their ISAPI metadata descriptors. */
export const RecordType = { continuous: 'continuous', motion: 'motion', alarm: 'alarm' } as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];
const RECORD_TYPE_META = 'recordType.meta.std-cgi.com';
const META_BY_TYPE: Record<RecordType, string> = { continuous: 'CMR', motion: 'MOTION', alarm: 'ALARM' };

/** The track of a channel's main (`N01`) or sub (`N02`) stream. */
export const trackIdFor = (channel: number, stream: 'main' | 'sub' = 'main'): number => channel * 100 + (stream === 'main' ? 1 : 2);
/** The channel and stream of a track id, or undefined for a malformed one. */
export function channelOfTrack(trackId: number): { channel: number; stream: 'main' | 'sub' } | undefined {
  const channel = Math.floor(trackId / 100);
  const n = trackId % 100;
  if (!Number.isInteger(trackId) || channel < 1 || (n !== 1 && n !== 2)) return undefined;
  return { channel, stream: n === 1 ? 'main' : 'sub' };
}

// ------------------------------------------------------------------------------------------------- times

const SEARCH_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const PLAYBACK_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `YYYY-MM-DDTHH:MM:SSZ` of a time in ms (whole seconds, rounded down). */
export function searchTime(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** `YYYYMMDDTHHMMSSZ` of a time in ms, as in playback URLs. */
export function playbackTime(ms: number): string {
  return searchTime(ms).replace(/[-:]/g, '');
}

function checkedTime(parts: RegExpExecArray, zone: string): number | undefined {
  const [y, mo, d, h, mi, s] = parts.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offset = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  return zonedTimeMs(y, mo, d, h, mi, s, 0, offset);
}

/** A search time (`YYYY-MM-DDTHH:MM:SSZ`, or with an offset) in ms, or undefined. */
export function parseSearchTime(text: string): number | undefined {
  const m = SEARCH_TIME.exec(text.trim());
  return m ? checkedTime(m, m[7]!) : undefined;
}

/** A playback URL time (`YYYYMMDDTHHMMSSZ`, or the ISO form) in ms, or undefined. */
export function parsePlaybackTime(text: string): number | undefined {
  const m = PLAYBACK_TIME.exec(text.trim());
  return m ? checkedTime(m, 'Z') : parseSearchTime(text);
}

/** The RTSP playback URL of a track from `from` (until `to` or the end of that recording). */
export function playbackUri(base: string, trackId: number, from: number, to?: number): string {
  const query = `starttime=${playbackTime(from)}${to === undefined ? '' : `&endtime=${playbackTime(to)}`}`;
  return `${base.replace(/\/+$/, '')}/Streaming/tracks/${trackId}/?${query}`;
}

// ------------------------------------------------------------------------------------------------ search

export interface TimeSpan {
  /** ms since the epoch */
  start: number;
  end: number;
}

export interface ContentSearch {
  /** The client's id of the search, echoed back (a UUID for Hikvision clients). */
  searchId: string;
  trackIds: number[];
  timeSpans: TimeSpan[];
  maxResults: number;
  /** How many matches to skip: 0 first, then the count already received. */
  searchResultPosition: number;
  /** Only these record types; all when absent. */
  recordTypes?: RecordType[];
}

export function buildContentSearch(s: ContentSearch): string {
  const meta = s.recordTypes?.length ? s.recordTypes.map((t) => `//${RECORD_TYPE_META}/${META_BY_TYPE[t]}`) : [`//${RECORD_TYPE_META}`];
  return doc('CMSearchDescription', [
    tag('searchID', s.searchId),
    `<trackIDList>${s.trackIds.map((t) => tag('trackID', t)).join('')}</trackIDList>`,
    `<timeSpanList>${s.timeSpans.map((t) => `<timeSpan>${tag('startTime', searchTime(t.start))}${tag('endTime', searchTime(t.end))}</timeSpan>`).join('')}</timeSpanList>`,
    tag('maxResults', s.maxResults),
    // Hikvision's spelling.
    tag('searchResultPostion', s.searchResultPosition),
    `<metadataList>${meta.map((m) => tag('metadataDescriptor', m)).join('')}</metadataList>`,
  ]);
}

function recordTypeOf(descriptor: string): RecordType | 'all' | undefined {
  const d = descriptor.trim().replace(/^\/\//, '').replace(/\/$/, '');
  const [scope, kind] = d.split('/');
  if (!scope?.startsWith('recordType.meta.')) return undefined;
  if (kind === undefined || kind === '' || kind.toLowerCase() === 'all') return 'all';
  const k = kind.toLowerCase();
  if (k === 'cmr' || k === 'timing' || k === 'continuous') return 'continuous';
  if (k === 'motion' || k === 'videomotion') return 'motion';
  if (k === 'alarm' || k === 'alarminput') return 'alarm';
  return undefined;
}

function timeSpanOf(x: Reader, node: XmlNode): TimeSpan {
  const start = parseSearchTime(x.text('startTime', node, 40));
  const end = parseSearchTime(x.text('endTime', node, 40));
  if (start === undefined || end === undefined) {
    x.problem ??= 'timeSpan: times must be YYYY-MM-DDTHH:MM:SSZ';
    return { start: 0, end: 0 };
  }
  if (end < start) x.problem ??= 'timeSpan: endTime is before startTime';
  return { start, end };
}

export function parseContentSearch(input: string | Uint8Array): Result<ContentSearch> {
  const r = root(input, 'CMSearchDescription');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'CMSearchDescription');
  const searchId = x.text('searchID', undefined, 64);
  const trackIds = children(childNode(r.value, 'trackIDList'), 'trackID').map((v) => {
    const t = typeof v === 'string' ? v.trim() : '';
    const id = /^\d{3,6}$/.test(t) ? Number(t) : NaN;
    if (!channelOfTrack(id)) x.problem ??= `CMSearchDescription.trackID: not a track id: ${t}`;
    return id;
  });
  if (trackIds.length === 0) x.problem ??= 'CMSearchDescription.trackIDList: no trackID';
  if (trackIds.length > 64) x.problem ??= 'CMSearchDescription.trackIDList: more than 64 tracks';
  const spans = children(childNode(r.value, 'timeSpanList'), 'timeSpan').map((n) => timeSpanOf(x, isNode(n) ? n : {}));
  if (spans.length === 0) x.problem ??= 'CMSearchDescription.timeSpanList: no timeSpan';
  if (spans.length > 16) x.problem ??= 'CMSearchDescription.timeSpanList: more than 16 time spans';
  const maxResults = x.optInt('maxResults', undefined, 1, 10_000) ?? MAX_SEARCH_RESULTS;
  // Some clients spell it right.
  const position = x.optInt('searchResultPostion', undefined, 0, 1_000_000) ?? x.optInt('searchResultPosition', undefined, 0, 1_000_000) ?? 0;
  const out: ContentSearch = { searchId, trackIds, timeSpans: spans, maxResults, searchResultPosition: position };
  const descriptors = children(childNode(r.value, 'metadataList'), 'metadataDescriptor').map((v) => (typeof v === 'string' ? v : ''));
  const types = descriptors.map(recordTypeOf);
  if (types.includes(undefined)) x.problem ??= `CMSearchDescription.metadataDescriptor: unknown record type ${descriptors[types.indexOf(undefined)]}`;
  if (types.length > 0 && !types.includes('all')) out.recordTypes = [...new Set(types as RecordType[])];
  return x.done(out);
}

export const SearchStatus = { ok: 'OK', more: 'MORE', noMatches: 'NO MATCHES' } as const;
export type SearchStatus = (typeof SearchStatus)[keyof typeof SearchStatus];
const STATUSES = Object.values(SearchStatus);

export interface SearchMatch {
  trackId: number;
  start: number;
  end: number;
  recordType: RecordType;
  /** `rtsp://host:port/Streaming/tracks/101/?starttime=...&endtime=...` */
  playbackUri: string;
}

export interface ContentSearchResult {
  searchId: string;
  /** OK: this page holds the last match; MORE: ask again from position + matches.length; NO MATCHES: none. */
  status: SearchStatus;
  matches: SearchMatch[];
}

export function buildContentSearchResult(r: ContentSearchResult): string {
  return doc('CMSearchResult', [
    tag('searchID', r.searchId),
    tag('responseStatus', r.status !== SearchStatus.noMatches),
    tag('responseStatusStrg', r.status),
    tag('numOfMatches', r.matches.length),
    `<matchList>${r.matches
      .map(
        (m) =>
          `<searchMatchItem>${[
            tag('sourceID', `{${r.searchId}}`),
            tag('trackID', m.trackId),
            `<timeSpan>${tag('startTime', searchTime(m.start))}${tag('endTime', searchTime(m.end))}</timeSpan>`,
            `<mediaSegmentDescriptor>${tag('contentType', 'video')}${tag('codecType', 'H.264-BP')}${tag('playbackURI', m.playbackUri)}</mediaSegmentDescriptor>`,
            `<metadataMatches>${tag('metadataDescriptor', `${RECORD_TYPE_META}/${META_BY_TYPE[m.recordType]}`)}</metadataMatches>`,
          ].join('')}</searchMatchItem>`,
      )
      .join('')}</matchList>`,
  ]);
}

export function parseContentSearchResult(input: string | Uint8Array): Result<ContentSearchResult> {
  const r = root(input, 'CMSearchResult');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'CMSearchResult');
  const status = x.oneOf('responseStatusStrg', STATUSES);
  const matches: SearchMatch[] = [];
  for (const item of children(childNode(r.value, 'matchList'), 'searchMatchItem')) {
    const n = isNode(item) ? item : {};
    const span = timeSpanOf(x, childNode(n, 'timeSpan') ?? {});
    const descriptor = x.optText('metadataDescriptor', childNode(n, 'metadataMatches') ?? {});
    const type = descriptor === undefined ? 'continuous' : recordTypeOf(descriptor);
    matches.push({
      trackId: x.int('trackID', n, 101, 999_999),
      start: span.start,
      end: span.end,
      recordType: type === undefined || type === 'all' ? 'continuous' : type,
      playbackUri: x.text('playbackURI', childNode(n, 'mediaSegmentDescriptor') ?? {}, 2048),
    });
  }
  const count = x.optInt('numOfMatches');
  if (count !== undefined && count !== matches.length) x.problem ??= `CMSearchResult.numOfMatches: ${count}, but ${matches.length} matches listed`;
  return x.done({ searchId: x.optText('searchID') ?? '', status, matches });
}

// -------------------------------------------------------------------------------------------- paging

/** One page of `all` (already ordered) as a recorder answers a search. */
export function searchPage<T>(all: readonly T[], position: number, maxResults: number): { status: SearchStatus; page: T[] } {
  const page = all.slice(position, position + Math.min(maxResults, MAX_SEARCH_RESULTS));
  if (page.length === 0) return { status: SearchStatus.noMatches, page };
  return { status: position + page.length < all.length ? SearchStatus.more : SearchStatus.ok, page };
}

/** Why a playback URL's query is not usable, or its times. */
export function parsePlaybackQuery(query: URLSearchParams): Result<{ start: number; end: number | undefined }> {
  const startText = query.get('starttime');
  if (startText === null) return fail('starttime is missing');
  const start = parsePlaybackTime(startText);
  if (start === undefined) return fail('starttime must be YYYYMMDDTHHMMSSZ');
  const endText = query.get('endtime');
  if (endText === null) return ok({ start, end: undefined });
  const end = parsePlaybackTime(endText);
  if (end === undefined) return fail('endtime must be YYYYMMDDTHHMMSSZ');
  if (end <= start) return fail('endtime must be after starttime');
  return ok({ start, end });
}

// Search over a user's files in one Postgres statement (after at most one more for typo corrections): full text
// (weighted name > tags > path > content, English stems, accents folded), corrections of misspelt words from the
// user's own vocabulary, the last word as a prefix, trigram similarity and substrings on names and paths, tag
// matches and recency; exact filters on every hit; facet counts; highlighted snippets.
import { type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { HttpDb } from "../db/client";
import { decodeCursor, encodeCursor } from "../platform/cursor";
import { FILE_LIMITS, type SearchHit, type SearchResponse } from "./model";
import { type ItemRow, textArray, toItem } from "./store";
import { editDistance, fold, typoBudget, words } from "./words";

/** The ranking's weights (docs/files.md "Ranking"). */
const RANKING = {
  /** ts_rank over the weighted vector (A name 1.0, B tags 0.4, C path 0.2, D content 0.1), length-normalised. */
  fullText: 1,
  /** A full-text hit that needed a typo correction counts this much of an exact one. */
  correctedFactor: 0.7,
  /** 1 when the name contains the query as typed, else pg_trgm's word_similarity of query and name. */
  nameSimilarity: 0.5,
  /** The path contains the query as typed. */
  pathSubstring: 0.2,
  /** One of the query's words is one of the file's tags. */
  tagMatch: 0.3,
  /** 1 / (1 + age / 30 days): a tie-breaker between similar hits. */
  recency: 0.1,
  recencyHalfLifeDays: 30,
} as const;

/** Hits whose order trigram similarity to the name may still change. */
const RERANK_WINDOW = 200;

/** Characters of a file's text that a snippet is cut from: ts_headline re-reads the text for every hit shown. */
const SNIPPET_SOURCE_CHARS = 20_000;
const MARK_OPEN = "\uE000";
const MARK_CLOSE = "\uE001";
const HEADLINE_OPTIONS = `StartSel=${MARK_OPEN}, StopSel=${MARK_CLOSE}, MaxWords=24, MinWords=10, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "`;

interface SearchOptions {
  q?: string;
  tags?: string[];
  /** Categories or extensions; a file matches any of them. */
  types?: string[];
  after?: string;
  before?: string;
  minSize?: number;
  maxSize?: number;
  limit: number;
  cursor?: string;
  /** false: the text of files is not searched (the legacy API's includeContent). */
  includeContent?: boolean;
}

interface ParsedQuery {
  words: string[];
  /** The last word is still being typed: it also matches as a prefix. */
  prefix: boolean;
  /** The words as one string, for substring and similarity matches on names and paths. */
  key: string;
}

export function parseQuery(q: string): ParsedQuery {
  const found = words(q).slice(0, FILE_LIMITS.queryMaxWords);
  const last = found.at(-1);
  // "invo" finds "invoice" as you type; "invo " (a space after it) means the word is complete. One or two letters
  // would match a good share of every word there is, and cost as much.
  const prefix = last !== undefined && last.length >= 3 && /[\p{L}\p{N}]$/u.test(fold(q));
  return { words: found, prefix, key: found.join(" ") };
}

/** What the user's vocabulary says about the query's words. */
interface Vocabulary {
  /** Words it holds exactly. */
  known: Set<string>;
  /** Corrections for the others. */
  fixes: Map<string, string[]>;
}

/**
 * One lookup in the user's vocabulary for every query word: whether it is there as it is, and if not, the words
 * pg_trgm finds similar, kept only within the word's typo budget (1 edit from 5 letters, 2 from 9; a transposition
 * is one edit). A known word gets no corrections.
 */
async function lookUpWords(database: HttpDb, userId: string, query: ParsedQuery): Promise<Vocabulary> {
  const known = new Set<string>();
  const fixes = new Map<string, string[]>();
  const rows = await database.execute<{ word: string; term: string }>(sql`
    select w.word, t.term
    from unnest(${textArray(query.words)}) as w(word)
    cross join lateral (
      select term from file_terms
      where user_id = ${userId} and (term = w.word or (length(w.word) >= 5 and term % w.word))
      order by term = w.word desc, similarity(term, w.word) desc, term
      limit 20
    ) as t`);
  const byWord = new Map<string, string[]>();
  for (const { word, term } of rows.rows) byWord.set(word, [...(byWord.get(word) ?? []), term]);
  for (const [word, terms] of byWord) {
    if (terms.includes(word)) {
      known.add(word);
      continue;
    }
    const budget = typoBudget(word);
    const close = terms
      .map((term) => ({ term, d: editDistance(word, term, budget) }))
      .filter((x) => x.d <= budget)
      .sort((a, b) => a.d - b.d)
      .slice(0, FILE_LIMITS.correctionsPerWord)
      .map((x) => x.term);
    if (close.length > 0) fixes.set(word, close);
  }
  return { known, fixes };
}

/**
 * to_tsquery text: every word must match, each as itself or one of its corrections; the last word also as a prefix.
 * Words are letters and digits only (src/lib/files/words.ts), so nothing in them is tsquery syntax.
 */
function tsqueryText(query: ParsedQuery, fixes: Map<string, string[]>, includeContent: boolean): string {
  const weights = includeContent ? "" : "ABC";
  return query.words
    .map((word, i) => {
      const isPrefix = query.prefix && i === query.words.length - 1;
      const own = `${word}:${isPrefix ? "*" : ""}${weights}`.replace(/:$/, "");
      const alternatives = (fixes.get(word) ?? []).map((t) => (weights ? `${t}:${weights}` : t));
      return alternatives.length ? `(${[own, ...alternatives].join(" | ")})` : own;
    })
    .join(" & ");
}

/** A constant of this module's own, written into the statement (a parameter would lose its numeric type). */
const num = (n: number) => sql.raw(Number(n).toString());

const SearchCursor = z.tuple([z.number().int().min(0).max(FILE_LIMITS.searchMaxOffset), z.number().int()]);

function filters(opts: SearchOptions): SQL[] {
  const where: SQL[] = [];
  if (opts.tags?.length) where.push(sql`f.tags @> ${textArray(opts.tags)}`);
  if (opts.types?.length) {
    where.push(sql`(f.category = any(${textArray(opts.types)}) or f.extension = any(${textArray(opts.types)}))`);
  }
  if (opts.after) where.push(sql`f.updated_at >= ${opts.after}::timestamptz`);
  if (opts.before) where.push(sql`f.updated_at < ${opts.before}::timestamptz`);
  if (opts.minSize !== undefined) where.push(sql`f.size >= ${opts.minSize}`);
  if (opts.maxSize !== undefined) where.push(sql`f.size <= ${opts.maxSize}`);
  return where;
}

interface PageRow extends ItemRow {
  score: number;
  inName: boolean;
  inTags: boolean;
  inPath: boolean;
  inContent: boolean;
  exact: boolean;
  nameLike: boolean;
  pathLike: boolean;
  snippet: string | null;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch);

/** The headline as HTML: the file's text escaped, the matched words in <mark>; null when no word matched there. */
function snippetHtml(headline: string | null): string | null {
  if (!headline?.includes(MARK_OPEN)) return null;
  return escapeHtml(headline.replace(/\s+/g, " ").trim())
    .replaceAll(MARK_OPEN, "<mark>")
    .replaceAll(MARK_CLOSE, "</mark>");
}

function matchReason(row: PageRow, hasQuery: boolean): string {
  if (!hasQuery) return "filters";
  const fields: string[] = [];
  if (row.inName || row.nameLike) fields.push("name");
  if (row.inTags) fields.push("tags");
  if (row.inPath || row.pathLike) fields.push("path");
  if (row.inContent) fields.push("content");
  if (fields.length === 0) fields.push("name (similar)");
  const fullText = row.inName || row.inTags || row.inPath || row.inContent;
  return fields.join(", ") + (fullText && !row.exact && !row.nameLike && !row.pathLike ? " (typo)" : "");
}

export async function searchFiles(database: HttpDb, userId: string, opts: SearchOptions): Promise<SearchResponse> {
  const [offset, nowMs] = opts.cursor ? decodeCursor(opts.cursor, SearchCursor) : [0, Date.now()];
  const now = new Date(nowMs).toISOString();
  const query = opts.q === undefined ? undefined : parseQuery(opts.q);
  const empty: SearchResponse = { results: [], total: 0, facets: { tags: {}, types: {} }, nextCursor: null };
  // Only punctuation: nothing to look for (a missing q browses instead).
  if (query && query.words.length === 0) return empty;

  const includeContent = opts.includeContent ?? true;
  const vocabulary = query ? await lookUpWords(database, userId, query) : undefined;
  // A last word the vocabulary holds as it is is taken as complete: its prefix would add little and cost a
  // recheck of every row it matches.
  const typed =
    query && vocabulary && query.prefix && vocabulary.known.has(query.words.at(-1) as string)
      ? { ...query, prefix: false }
      : query;
  const full = typed && vocabulary ? tsqueryText(typed, vocabulary.fixes, includeContent) : "";
  const exact = typed ? tsqueryText(typed, new Map(), includeContent) : "";
  // Substring and similarity on names and paths need 3 characters: shorter patterns have no trigram to look up.
  const key = query && query.key.length >= 3 ? query.key : null;
  const like = key ? `%${key}%` : null;
  const recency = sql`1.0 / (1.0 + greatest(0, extract(epoch from (${now}::timestamptz - f.updated_at))) / ${num(RANKING.recencyHalfLifeDays * 86_400)})`;

  let match: SQL;
  let score: SQL;
  let similarity: SQL = sql`0`;
  if (!query) {
    match = sql`true`;
    score = sql`${num(RANKING.recency)} * ${recency}`;
  } else {
    // ts_rank is 0 where nothing matches, so it needs no guard; and exactness is only in doubt when a correction
    // was added. Each extra @@ re-reads every hit's vector: two of them had more than doubled the cost of a
    // common word.
    const rank = sql`ts_rank(f.search, q.full, 1)`;
    const fullText =
      full === exact
        ? rank
        : sql`${rank} * (case when f.search @@ q.exact then 1.0 else ${num(RANKING.correctedFactor)} end)`;
    const nameLike = key ? sql`(f.name_key like ${like})::int` : sql`0`;
    const path = key ? sql`(f.path_key like ${like})::int` : sql`0`;
    score = sql`${num(RANKING.fullText)} * ${fullText} + ${num(RANKING.nameSimilarity)} * ${nameLike} + ${num(RANKING.pathSubstring)} * ${path}
      + ${num(RANKING.tagMatch)} * (f.tags && ${textArray(query.words)})::int + ${num(RANKING.recency)} * ${recency}`;
    if (key) {
      similarity = sql`${num(RANKING.nameSimilarity)} * (case when f.name_key like ${like} then 0 else word_similarity(${key}, f.name_key) end)`;
    }
    // Typos are found through the vocabulary; trigram similarity to the name only ranks (as a match condition it
    // let in thousands of look-alike names).
    match = key
      ? sql`(f.search @@ to_tsquery('files_search', ${full}) or f.name_key like ${like} or f.path_key like ${like})`
      : sql`f.search @@ to_tsquery('files_search', ${full})`;
  }
  const where = sql.join([sql`f.user_id = ${userId}`, ...filters(opts), match], sql` and `);
  // Trigram similarity to the name re-ranks the best RERANK_WINDOW hits (and the page's), not every hit: computed for
  // all 15,000 hits of a common word it cost more than the full-text rank itself.
  const window = Math.max(RERANK_WINDOW, offset + opts.limit);

  const statement = sql`
    with q as (select to_tsquery('files_search', ${full}) as full, to_tsquery('files_search', ${exact}) as exact),
    hits as (
      select f.id, f.tags, f.category, f.updated_at, (${score})::float8 as score
      from files f, q
      where ${where}
    ),
    best as (
      select id, score, updated_at from hits order by score desc, updated_at desc, id limit ${window}
    ),
    page as (
      select best.id, (best.score + ${similarity})::float8 as score, best.updated_at
      from best join files f on f.id = best.id
      order by 2 desc, best.updated_at desc, best.id limit ${opts.limit} offset ${offset}
    )
    select
      (select count(*) from hits)::int as total,
      (select coalesce(json_object_agg(tag, n), '{}') from (
        select tag, count(*) as n from hits, unnest(hits.tags) as tag group by tag order by n desc, tag limit ${num(FILE_LIMITS.facetTags)}
      ) as t) as tag_facets,
      (select coalesce(json_object_agg(category, n), '{}') from (
        select category, count(*) as n from hits group by category
      ) as c) as type_facets,
      (select coalesce(json_agg(p), '[]') from (
        select f.id, f.path, f.name, f.extension, f.media_type as "mediaType", f.category, f.size, f.sha256, f.tags,
          f.rule_tags as "ruleTags", f.user_tags as "userTags", f.description, f.text_status as "textStatus",
          f.content_truncated as "contentTruncated", f.indexed_at as "indexedAt", f.created_at as "createdAt",
          f.updated_at as "updatedAt", page.score,
          ts_filter(f.search, '{a}') @@ q.full as "inName",
          ts_filter(f.search, '{b}') @@ q.full as "inTags",
          ts_filter(f.search, '{c}') @@ q.full as "inPath",
          ts_filter(f.search, '{d}') @@ q.full as "inContent",
          f.search @@ q.exact as "exact",
          coalesce(f.name_key like ${like}, false) as "nameLike",
          coalesce(f.path_key like ${like}, false) as "pathLike",
          case when ${query !== undefined && includeContent}::boolean and f.content is not null
            then ts_headline('files_search', left(f.content, ${num(SNIPPET_SOURCE_CHARS)}), q.full, ${HEADLINE_OPTIONS}) end as snippet
        from page join files f on f.id = page.id, q
        order by page.score desc, f.updated_at desc, f.id
      ) as p) as page`;

  // The planner prices a tsvector match at a fraction of what it costs and picks a sequential scan once a word is
  // in a few percent of the rows; measured at 100,000 files, the bitmap index scans it passes over are 3 to 7 times
  // faster. Every condition here has an index, so sequential scans are switched off for this one transaction.
  const [, result] = await database.batch([
    database.execute(sql`set local enable_seqscan = off`),
    database.execute<{
      total: number;
      tag_facets: Record<string, number>;
      type_facets: Record<string, number>;
      page: PageRow[];
    }>(statement),
  ]);
  const row = result.rows[0];
  if (!row) return empty;
  const results: SearchHit[] = row.page.map((r) => ({
    item: toItem(r),
    relevanceScore: Math.round(r.score * 10_000) / 10_000,
    matchReason: matchReason(r, query !== undefined),
    snippet: snippetHtml(r.snippet),
  }));
  const next = offset + opts.limit;
  const reachable = Math.min(row.total, FILE_LIMITS.searchMaxOffset);
  return {
    results,
    total: row.total,
    facets: { tags: row.tag_facets, types: row.type_facets },
    nextCursor: next < reachable ? encodeCursor([next, nowMs]) : null,
  };
}

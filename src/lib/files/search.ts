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
import { fold, typoBudget, VOCABULARY_WORD, words } from "./words";

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

/** Vocabulary words read for a prefix being typed, of which the shortest are kept (FILE_LIMITS.prefixCompletions). */
const PREFIX_SCAN = 5000;

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

/** The last word's byte-order successor bound: "invo" → "invp", so a prefix is a range of an index. */
function prefixBound(word: string): string {
  const chars = [...word];
  const last = chars.pop() as string;
  return chars.join("") + String.fromCodePoint((last.codePointAt(0) as number) + 1);
}

/** A constant of this module's own, written into the statement (a parameter would lose its numeric type). */
const num = (n: number) => sql.raw(Number(n).toString());

const SearchCursor = z.tuple([z.number().int().min(0).max(FILE_LIMITS.searchMaxOffset), z.number().int()]);

/**
 * The filters as conditions on `f`. `onRows`: for a search with words, the type, date and size filters are written
 * so that no index matches them (`f.category || ''`, `f.updated_at + interval '0'`, `f.size + 0`): they are then
 * checked on the rows of the words' capped scan as it goes, instead of being read in full from their btrees and
 * intersected with the words' bitmap (at 1,000,000 files, `type=code` alone was a 450,000-row bitmap, 260 ms, for
 * a page of 20: a cost that grew with the files that do not match the words). Tags stay indexed: their GIN lists
 * are read like a word's.
 */
function filters(opts: SearchOptions, onRows = false): SQL[] {
  const where: SQL[] = [];
  const category = onRows ? sql`(f.category || '')` : sql`f.category`;
  const extension = onRows ? sql`(f.extension || '')` : sql`f.extension`;
  const updatedAt = onRows ? sql`(f.updated_at + interval '0')` : sql`f.updated_at`;
  const size = onRows ? sql`(f.size + 0)` : sql`f.size`;
  if (opts.tags?.length) where.push(sql`f.tags @> ${textArray(opts.tags)}`);
  if (opts.types?.length) {
    where.push(sql`(${category} = any(${textArray(opts.types)}) or ${extension} = any(${textArray(opts.types)}))`);
  }
  if (opts.after) where.push(sql`${updatedAt} >= ${opts.after}::timestamptz`);
  if (opts.before) where.push(sql`${updatedAt} < ${opts.before}::timestamptz`);
  if (opts.minSize !== undefined) where.push(sql`${size} >= ${opts.minSize}`);
  if (opts.maxSize !== undefined) where.push(sql`${size} <= ${opts.maxSize}`);
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

function matchReason(row: PageRow): string {
  const fields: string[] = [];
  if (row.inName || row.nameLike) fields.push("name");
  if (row.inTags) fields.push("tags");
  if (row.inPath || row.pathLike) fields.push("path");
  if (row.inContent) fields.push("content");
  if (fields.length === 0) fields.push("name (similar)");
  const fullText = row.inName || row.inTags || row.inPath || row.inContent;
  return fields.join(", ") + (fullText && !row.exact && !row.nameLike && !row.pathLike ? " (typo)" : "");
}

const PAGE_COLUMNS = sql`f.id, f.path, f.name, f.extension, f.media_type as "mediaType", f.category, f.size, f.sha256,
  f.tags, f.rule_tags as "ruleTags", f.user_tags as "userTags", f.description, f.text_status as "textStatus",
  f.content_truncated as "contentTruncated", f.indexed_at as "indexedAt", f.created_at as "createdAt",
  f.updated_at as "updatedAt"`;

/** The block of the heap a row lives in: how far a scan in physical order had come when it found the row. */
const BLOCK = sql`(f.ctid::text::point)[0]`;

/**
 * The total and the facets of a capped scan (`counted`: its row count `n`, capped at searchExactHits + 1, and the
 * last heap block it reached; `rows`: the rows facets are counted over). Up to the cap both are exact. Past it,
 * the scan went in physical order and stopped early, so the total is extrapolated from how far into the table it
 * came (hits so far × blocks in the table / blocks read), and the facet counts are scaled to that total.
 */
function totalsAndFacets(counted: string, rows: string): SQL {
  const cte = (name: string) => sql.raw(name);
  return sql`sized as (
      select c.n > ${num(FILE_LIMITS.searchExactHits)} as estimated,
        case when c.n > ${num(FILE_LIMITS.searchExactHits)}
          then greatest((select count(*) from ${cte(rows)}), round(c.n::float8
            * (pg_relation_size('files'::regclass) / current_setting('block_size')::int) / (c.last_block + 1)))::int
          else c.n end as total,
        (select count(*) from ${cte(rows)}) as counted
      from ${cte(counted)} as c
    ),
    facets as (
      select
        (select coalesce(json_object_agg(tag, n), '{}') from (
          select tag, round(count(*) * (select total::float8 / greatest(counted, 1) from sized))::int as n
          from ${cte(rows)}, unnest(${cte(rows)}.tags) as tag
          group by tag order by count(*) desc, tag limit ${num(FILE_LIMITS.facetTags)}
        ) as t) as tag_facets,
        (select coalesce(json_object_agg(category, n), '{}') from (
          select category, round(count(*) * (select total::float8 / greatest(counted, 1) from sized))::int as n
          from ${cte(rows)} group by category
        ) as c) as type_facets
    )`;
}

type Totals = {
  total: number;
  estimated: boolean;
  tag_facets: Record<string, number>;
  type_facets: Record<string, number>;
};

/** A row type as a type literal (what execute<> takes) from an interface. */
type Row<T> = { [K in keyof T]: T[K] };

// Planner settings for the rest of a search's transaction (its batch).
const NO_SEQSCAN = sql`set local enable_seqscan = off`;
const SEQSCAN = sql`set local enable_seqscan = on`;
const NO_INDEXSCAN = sql`set local enable_indexscan = off`;
const NO_SYNC_SCANS = sql`set local synchronize_seqscans = off`;
const SETTINGS = new Set([NO_SEQSCAN, SEQSCAN, NO_INDEXSCAN, NO_SYNC_SCANS]);

/**
 * EXPLAIN (ANALYZE, BUFFERS) of each statement a search runs, with its planner settings (the first page): for the
 * bench and docs/files.md. It runs the statements.
 */
export async function explainSearch(database: HttpDb, userId: string, opts: SearchOptions): Promise<string[]> {
  const query = opts.q === undefined ? undefined : parseQuery(opts.q);
  const steps = query ? wordSteps(userId, opts, query, 0, Date.now()) : browseSteps(userId, opts);
  const runs = steps.map((step) =>
    database.execute<{ "QUERY PLAN": string }>(SETTINGS.has(step) ? step : sql`explain (analyze, buffers) ${step}`),
  );
  const results = await database.batch(runs as [(typeof runs)[number], ...typeof runs]);
  return results
    .filter((_, i) => !SETTINGS.has(steps[i] as SQL))
    .map((r) => r.rows.map((x) => x["QUERY PLAN"]).join("\n"));
}

const recencyOf = (now: string) =>
  sql`1.0 / (1.0 + greatest(0, extract(epoch from (${now}::timestamptz - f.updated_at))) / ${num(RANKING.recencyHalfLifeDays * 86_400)})`;

export async function searchFiles(database: HttpDb, userId: string, opts: SearchOptions): Promise<SearchResponse> {
  if (opts.q === undefined) return browse(database, userId, opts);
  const query = parseQuery(opts.q);
  // Only punctuation: nothing to look for (a missing q browses instead).
  if (query.words.length === 0) {
    return { results: [], total: 0, facets: { tags: {}, types: {} }, nextCursor: null, estimated: false };
  }
  return searchWords(database, userId, opts, query);
}

const BrowseCursor = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

/**
 * Filters alone, newest first: a keyset page on (user_id, updated_at, id) (or the category and extension indexes),
 * then the total and facets from a capped scan in physical order, in one round trip.
 */
function browseSteps(userId: string, opts: SearchOptions): SQL[] {
  const after = opts.cursor ? decodeCursor(opts.cursor, BrowseCursor) : undefined;
  const where = sql.join([sql`f.user_id = ${userId}`, ...filters(opts)], sql` and `);
  const keyset = after ? sql`and (f.updated_at, f.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)` : sql``;
  const now = new Date().toISOString();
  return [
    NO_SEQSCAN,
    sql`select ${PAGE_COLUMNS}, (${num(RANKING.recency)} * ${recencyOf(now)})::float8 as score
      from files f where ${where} ${keyset}
      order by f.updated_at desc, f.id desc limit ${opts.limit + 1}`,
    // The count reads rows in physical order (a sequential scan from the first block when most rows are the
    // user's, else a bitmap of an index) and stops past the cap: its extrapolation needs that order.
    SEQSCAN,
    NO_INDEXSCAN,
    NO_SYNC_SCANS,
    sql`with hits as materialized (
        select f.tags, f.category, ${BLOCK} as block from files f where ${where}
        limit ${num(FILE_LIMITS.searchExactHits + 1)}
      ),
      counted as (select count(*)::int as n, coalesce(max(block), 0) as last_block from hits),
      ${totalsAndFacets("counted", "hits")}
      select sized.total, sized.estimated, facets.tag_facets, facets.type_facets from sized, facets`,
  ];
}

async function browse(database: HttpDb, userId: string, opts: SearchOptions): Promise<SearchResponse> {
  const steps = browseSteps(userId, opts);
  const [, page, , , , totals] = await database.batch([
    database.execute(steps[0] as SQL),
    database.execute<Row<ItemRow> & { score: number }>(steps[1] as SQL),
    database.execute(steps[2] as SQL),
    database.execute(steps[3] as SQL),
    database.execute(steps[4] as SQL),
    database.execute<Totals>(steps[5] as SQL),
  ]);
  const rows = page.rows.slice(0, opts.limit);
  const last = rows.at(-1);
  const t = totals.rows[0] as Totals;
  return {
    results: rows.map((r) => ({
      item: toItem(r),
      relevanceScore: Math.round(r.score * 10_000) / 10_000,
      matchReason: "filters",
      snippet: null,
    })),
    total: t.total,
    facets: { tags: t.tag_facets, types: t.type_facets },
    nextCursor: page.rows.length > opts.limit && last ? encodeCursor([toItem(last).updatedAt, last.id]) : null,
    estimated: t.estimated,
  };
}

/**
 * Words, in one statement (and one round trip): the vocabulary says which words it holds, corrects the others
 * within their typo budget and completes a prefix being typed; two capped scans find the candidates, the files
 * that carry a word in their name or tags (their own small index) and the other hits; the candidates are ranked,
 * counted (exactly up to the cap, else estimated) and the page is returned with snippets.
 */
function wordSteps(userId: string, opts: SearchOptions, query: ParsedQuery, offset: number, nowMs: number): SQL[] {
  const now = new Date(nowMs).toISOString();
  const includeContent = opts.includeContent ?? true;
  const suffix = includeContent ? "" : ":ABC";
  const prefixSuffix = includeContent ? ":*" : ":*ABC";
  // Words too long to be in the vocabulary are not corrected: pg_trgm would have nothing close to offer.
  const budgets = query.words.map((w) => (w.length > VOCABULARY_WORD.maxLength ? 0 : typoBudget(w)));
  const last = query.words.length;
  const lastWord = query.words.at(-1) as string;
  // The prefix being typed stands for the vocabulary's shortest words that start with it (an indexed range, read
  // up to PREFIX_SCAN words), unless the vocabulary holds it as it is: then it is taken as complete. Shortest
  // first: "kalo" means "kalomin" sooner than the identifiers "kalomin123", "kalomin124"… that follow it in byte
  // order.
  const completions = query.prefix
    ? sql`union all (
      select ${last}::int, term, true, true, false from (
        select t.term from file_terms t
        where t.user_id = ${userId} and t.term ~>=~ ${lastWord}::text and t.term ~<~ ${prefixBound(lastWord)}::text
          and t.term <> ${lastWord}::text and not exists (select 1 from known where known.i = ${last})
        limit ${num(PREFIX_SCAN)}
      ) as range
      order by length(term), term limit ${num(FILE_LIMITS.prefixCompletions)})`
    : sql``;
  // Substring and similarity on names and paths need 3 characters: shorter patterns have no trigram to look up.
  const key = query.key.length >= 3 ? query.key : null;
  const like = key ? `%${key}%` : null;

  // ts_rank is 0 where nothing matches, so it needs no guard; exactness is only in doubt when a correction was
  // added (q.same is false).
  // Ranked by the words as typed, the one being typed as a prefix (`word:*`), as before completions existed:
  // ts_rank divides an OR by its number of words, so 30 completions would flatten a name hit to nothing. Only the
  // capped candidates are ranked, so the prefix costs a lookup in each row's vector, not a scan of the corpus.
  const rank = sql`ts_rank(f.search, q.rank, 1)`;
  const fullText = sql`${rank} * (case when q.same or f.search @@ q.exact then 1.0 else ${num(RANKING.correctedFactor)} end)`;
  const nameLike = key ? sql`(f.name_key like ${like})::int` : sql`0`;
  const pathLike = key ? sql`(f.path_key like ${like})::int` : sql`0`;
  const score = sql`(${num(RANKING.fullText)} * ${fullText} + ${num(RANKING.nameSimilarity)} * ${nameLike}
    + ${num(RANKING.pathSubstring)} * ${pathLike} + ${num(RANKING.tagMatch)} * (f.tags && ${textArray(query.words)})::int
    + ${num(RANKING.recency)} * ${recencyOf(now)})::float8`;
  const similarity = key
    ? sql`${num(RANKING.nameSimilarity)} * (case when f.name_key like ${like} then 0 else word_similarity(${key}, f.name_key) end)`
    : sql`0`;
  const userAndFilters = sql.join([sql`f.user_id = ${userId}`, ...filters(opts, true)], sql` and `);
  // Names and tags through their own index; the match of every word is checked on the row (a name may hold one
  // word of two).
  const named = key ? sql`(f.name_search @@ q.any or f.name_key like ${like})` : sql`f.name_search @@ q.any`;
  const namedMatches = key ? sql`(f.search @@ q.full or f.name_key like ${like})` : sql`f.search @@ q.full`;
  // A name is part of its path, so path_key covers name_key's substring matches.
  const texted = key ? sql`(f.search @@ q.full or f.path_key like ${like})` : sql`f.search @@ q.full`;
  // Trigram similarity to the name re-ranks the best RERANK_WINDOW hits (and the page's), not every hit.
  const window = Math.max(RERANK_WINDOW, offset + opts.limit);

  const statement = sql`
    with w as (
      select x.word, x.budget, x.i::int as i
      from unnest(${textArray(query.words)}, ${sql.param(budgets)}::int[]) with ordinality as x(word, budget, i)
    ),
    known as (
      select w.i from w where exists (select 1 from file_terms t where t.user_id = ${userId} and t.term = w.word)
    ),
    fixes as (
      select i, term from (
        select i, term, row_number() over (partition by i order by d, sim desc, term) as n from (
          select w.i, w.budget, c.term, c.sim, file_word_distance(w.word, c.term, w.budget) as d
          from w cross join lateral (
            select t.term, similarity(t.term, w.word) as sim from file_terms t
            where t.user_id = ${userId} and t.term % w.word and t.term !~ '[0-9]'
            order by 2 desc, t.term limit 20
          ) as c
          where w.budget > 0 and w.i not in (select i from known)
        ) as scored where d <= budget
      ) as ranked where n <= ${num(FILE_LIMITS.correctionsPerWord)}
    ),
    alts as (
      select i, word as alt, true as exact, false as completion,
        ${query.prefix}::boolean and i = ${last} and i not in (select i from known) as typing
      from w
      union all select i, term, false, false, false from fixes
      ${completions}
    ),
    per_word as (
      select i, '(' || string_agg(alt || ${suffix}::text, ' | ') || ')' as full_alt,
        '(' || string_agg(alt || ${suffix}::text, ' | ') filter (where exact) || ')' as exact_alt,
        '(' || string_agg(alt || case when typing then ${prefixSuffix}::text else ${suffix}::text end, ' | ')
          filter (where not completion) || ')' as rank_alt
      from alts group by i
    ),
    q as (
      select to_tsquery('files_search', string_agg(full_alt, ' & ' order by i)) as full,
        to_tsquery('files_search', string_agg(exact_alt, ' & ' order by i)) as exact,
        to_tsquery('files_search', string_agg(full_alt, ' | ' order by i)) as any,
        to_tsquery('files_search', string_agg(rank_alt, ' & ' order by i)) as rank,
        bool_and(full_alt = exact_alt) as same
      from per_word
    ),
    named as materialized (
      select f.id, f.tags, f.category, f.updated_at, ${score} as score, ${namedMatches} as matches
      from files f, q
      where ${userAndFilters} and ${named}
      limit ${num(FILE_LIMITS.searchExactHits)}
    ),
    texted as materialized (
      select f.id, f.tags, f.category, f.updated_at, ${score} as score, ${BLOCK} as block
      from files f, q
      where ${userAndFilters} and ${texted}
      limit ${num(FILE_LIMITS.searchExactHits + 1)}
    ),
    counted as (select count(*)::int as n, coalesce(max(block), 0) as last_block from texted),
    candidates as (
      select id, tags, category, updated_at, score from named where matches
      union
      select id, tags, category, updated_at, score from texted
    ),
    ${totalsAndFacets("counted", "candidates")},
    best as (
      select id, score, updated_at from candidates order by score desc, updated_at desc, id limit ${window}
    ),
    page as (
      select best.id, (best.score + ${similarity})::float8 as score, best.updated_at
      from best join files f on f.id = best.id
      order by 2 desc, best.updated_at desc, best.id limit ${opts.limit} offset ${offset}
    )
    select sized.total, sized.estimated, sized.counted::int as reachable, facets.tag_facets, facets.type_facets,
      (select coalesce(json_agg(p), '[]') from (
        select ${PAGE_COLUMNS}, page.score,
          ts_filter(f.search, '{a}') @@ q.full as "inName",
          ts_filter(f.search, '{b}') @@ q.full as "inTags",
          ts_filter(f.search, '{c}') @@ q.full as "inPath",
          ts_filter(f.search, '{d}') @@ q.full as "inContent",
          q.same or f.search @@ q.exact as "exact",
          coalesce(f.name_key like ${like}, false) as "nameLike",
          coalesce(f.path_key like ${like}, false) as "pathLike",
          case when ${includeContent}::boolean and f.content is not null
            then ts_headline('files_search', left(f.content, ${num(SNIPPET_SOURCE_CHARS)}), q.full, ${HEADLINE_OPTIONS}) end as snippet
        from page join files f on f.id = page.id, q
        order by page.score desc, f.updated_at desc, f.id
      ) as p) as page
    from sized, facets`;

  // The planner prices a tsvector match at a fraction of its cost: it would read a common word's rows by a
  // sequential scan or walk a btree in date order with a filter. Bitmap scans read matching rows only, in
  // physical order, which is what the capped scans and their extrapolation need; this transaction uses nothing
  // else.
  return [NO_SEQSCAN, NO_INDEXSCAN, statement];
}

async function searchWords(
  database: HttpDb,
  userId: string,
  opts: SearchOptions,
  query: ParsedQuery,
): Promise<SearchResponse> {
  const [offset, nowMs] = opts.cursor ? decodeCursor(opts.cursor, SearchCursor) : [0, Date.now()];
  const steps = wordSteps(userId, opts, query, offset, nowMs);
  const [, , result] = await database.batch([
    database.execute(steps[0] as SQL),
    database.execute(steps[1] as SQL),
    database.execute<Totals & { reachable: number; page: Row<PageRow>[] }>(steps[2] as SQL),
  ]);
  const row = result.rows[0];
  if (!row) return { results: [], total: 0, facets: { tags: {}, types: {} }, nextCursor: null, estimated: false };
  const results: SearchHit[] = row.page.map((r) => ({
    item: toItem(r),
    relevanceScore: Math.round(r.score * 10_000) / 10_000,
    matchReason: matchReason(r),
    snippet: snippetHtml(r.snippet),
  }));
  const next = offset + opts.limit;
  const reachable = Math.min(row.reachable, FILE_LIMITS.searchMaxOffset);
  return {
    results,
    total: row.total,
    facets: { tags: row.tag_facets, types: row.type_facets },
    nextCursor: next < reachable ? encodeCursor([next, nowMs]) : null,
    estimated: row.estimated,
  };
}

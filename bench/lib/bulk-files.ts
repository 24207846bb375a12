// The bench's bulk path into Postgres (docs/benchmarks.md "Files search at 1,000,000"): every row still comes from
// the indexing code the upload route uses (src/lib/files/indexing.ts indexUpload: media type, text, rule tags,
// vocabulary), but the rows travel in large batches and the per-row work Postgres would otherwise repeat is done
// once at the end:
//   - each batch is ONE statement: the rows as one JSON parameter, expanded by json_to_recordset (no per-value
//     parameters, no 65,535-parameter ceiling); two batches in flight on two connections while the next is indexed;
//   - the secondary indexes of `files` and `file_terms` (GIN and btree, all but the primary keys) are dropped for
//     the load and built again after it from their own definitions, read back from the catalog;
//   - the foreign key from files to users is dropped and added again after the load, which validates every row in
//     one scan instead of one lookup per row;
//   - the vocabulary is gathered in this process and written once, deduplicated, at the end;
//   - synchronous_commit is off for these sessions (a crash loses the bench's scratch rows, nothing else).
// The generated columns (search, name_search, tags) are still computed by Postgres for every row, as in production.
import { getTableColumns } from "drizzle-orm";
import type pg from "pg";
import { files } from "../../src/lib/db/schema";
import { type IndexSettings, indexUpload } from "../../src/lib/files/indexing";
import type { CorpusFile } from "../../tests/support/file-corpus";

/** Rows per statement: ~1 MB of JSON for the generated corpus. */
export const BULK_BATCH = 2000;

/** One file's row as indexing makes it, with its owner and timestamps (the bench's own). */
type FileRow = Record<string, unknown>;

const COLUMNS = getTableColumns(files);

/** The database column name and type of each schema key, from drizzle's table (the same source as the migrations). */
function columnOf(key: string): { name: string; type: string } {
  const column = COLUMNS[key as keyof typeof COLUMNS];
  if (!column) throw new Error(`bulk load: no column for ${key}`);
  return { name: column.name, type: column.getSQLType() };
}

async function insertRows(client: pg.PoolClient, rows: FileRow[]): Promise<void> {
  const keys = Object.keys(rows[0] ?? {});
  const cols = keys.map(columnOf);
  const names = cols.map((c) => `"${c.name}"`).join(", ");
  const record = cols.map((c) => `"${c.name}" ${c.type}`).join(", ");
  const json = JSON.stringify(rows.map((r) => Object.fromEntries(keys.map((k, i) => [cols[i]?.name, r[k]]))));
  await client.query(`insert into files (${names}) select ${names} from json_to_recordset($1::json) as x(${record})`, [
    json,
  ]);
}

interface Deferred {
  indexes: { name: string; def: string }[];
  constraints: { table: string; name: string; def: string }[];
}

/** Drops what can be rebuilt in one pass afterwards, and says how to rebuild it. */
async function deferIndexWork(pool: pg.Pool): Promise<Deferred> {
  const indexes = await pool.query<{ name: string; def: string }>(
    `select i.indexname as name, i.indexdef as def from pg_indexes i
     where i.schemaname = 'public' and i.tablename in ('files', 'file_terms')
       and not exists (select 1 from pg_constraint c where c.conindid = (quote_ident(i.indexname))::regclass)`,
  );
  const constraints = await pool.query<{ table: string; name: string; def: string }>(
    `select conrelid::regclass::text as table, conname as name, pg_get_constraintdef(oid) as def from pg_constraint
     where contype = 'f' and conrelid in ('files'::regclass, 'file_terms'::regclass)`,
  );
  for (const c of constraints.rows) await pool.query(`alter table ${c.table} drop constraint "${c.name}"`);
  for (const i of indexes.rows) await pool.query(`drop index "${i.name}"`);
  return { indexes: indexes.rows, constraints: constraints.rows };
}

/** Builds the dropped indexes (two at a time: one per core) and validates the foreign keys again. */
async function restoreIndexWork(pool: pg.Pool, deferred: Deferred): Promise<void> {
  const queue = [...deferred.indexes];
  await Promise.all(
    [0, 1].map(async () => {
      const client = await pool.connect();
      try {
        await client.query("set maintenance_work_mem = '1GB'");
        for (let index = queue.shift(); index; index = queue.shift()) await client.query(index.def);
      } finally {
        client.release();
      }
    }),
  );
  for (const c of deferred.constraints) await pool.query(`alter table ${c.table} add constraint "${c.name}" ${c.def}`);
}

export interface BulkResult {
  /** Indexing and inserting the rows. */
  loadMs: number;
  /** Writing the vocabulary, building the indexes and validating the foreign keys. */
  finishMs: number;
}

/**
 * Loads `count` generated files for `userId`: `next(n)` hands out the next n corpus files (and may record them
 * for the bench's judgements), `stamp(row, i)` adds the owner and timestamps to indexing's columns.
 */
export async function bulkLoadFiles(
  pool: pg.Pool,
  count: number,
  next: (n: number) => CorpusFile[],
  stamp: (columns: FileRow, i: number) => FileRow,
  settings: IndexSettings,
  userId: string,
): Promise<BulkResult> {
  const started = performance.now();
  const deferred = await deferIndexWork(pool);
  // Two connections, one statement in flight on each, while this process indexes the next batch.
  const idle = [await pool.connect(), await pool.connect()];
  const clients = [...idle];
  for (const client of clients) await client.query("set synchronous_commit = off");
  const terms = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  try {
    for (let done = 0; done < count; done += BULK_BATCH) {
      const batch = next(Math.min(BULK_BATCH, count - done));
      const indexed = await Promise.all(batch.map((f) => indexUpload(f.path, f.bytes, undefined, settings)));
      const rows = indexed.map((x, i) => stamp(x.columns as FileRow, done + i));
      for (const x of indexed) for (const t of x.terms) terms.add(t);
      while (idle.length === 0) await Promise.race(inFlight);
      if (failure) throw failure;
      const client = idle.pop() as pg.PoolClient;
      const p: Promise<void> = insertRows(client, rows)
        .catch((e) => {
          failure = e;
        })
        .finally(() => {
          inFlight.delete(p);
          idle.push(client);
        });
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  } catch (error) {
    // A failed load still leaves the schema whole (a kept BENCH_DB database is reused by later runs).
    await Promise.all(inFlight);
    for (const client of clients) client.release();
    await restoreIndexWork(pool, deferred).catch(() => {});
    throw error;
  }
  for (const client of clients) client.release();
  if (failure) {
    await restoreIndexWork(pool, deferred).catch(() => {});
    throw failure;
  }
  const loaded = performance.now();
  await pool.query(
    `insert into file_terms (user_id, term) select $1::uuid, t from unnest($2::text[]) as t on conflict do nothing`,
    [userId, [...terms]],
  );
  await restoreIndexWork(pool, deferred);
  return { loadMs: loaded - started, finishMs: performance.now() - loaded };
}

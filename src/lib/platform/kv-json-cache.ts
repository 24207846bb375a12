// A KV copy of objects whose home is elsewhere (Postgres), read without touching that home.
// KV is eventually consistent: a delete or an overwrite can take up to a minute to reach other locations,
// so a cached copy may be served that long after it changed. Use it only where that is acceptable.
import type { z } from "zod";

/** KV refuses an expiry sooner than this. */
const KV_MIN_TTL_SECONDS = 60;

export class KvJsonCache<S extends z.ZodType> {
  constructor(
    private readonly kv: KVNamespace,
    private readonly prefix: string,
    private readonly schema: S,
  ) {}

  /** The cached object, or undefined on a miss or on anything that no longer fits the schema. */
  async get(id: string): Promise<z.output<S> | undefined> {
    const raw = await this.kv.get(this.prefix + id, "json");
    if (raw === null) return undefined;
    const parsed = this.schema.safeParse(raw);
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * Caches for `ttlSeconds`, or until `until` when that is sooner. Something that ends within KV's
   * 60-second minimum is not cached at all: KV would keep it past its end.
   */
  async put(id: string, value: z.input<S>, ttlSeconds: number, until?: Date | null): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const end = Math.min(now + ttlSeconds, until ? Math.floor(until.getTime() / 1000) : Number.POSITIVE_INFINITY);
    if (end - now < KV_MIN_TTL_SECONDS) return;
    await this.kv.put(this.prefix + id, JSON.stringify(value), { expiration: end });
  }

  async delete(id: string): Promise<void> {
    await this.kv.delete(this.prefix + id);
  }
}

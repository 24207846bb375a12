// The GPU job board (leases, scheduling) arrives with the GPU-jobs issue; today it answers pings
// from /health with a round trip through its SQLite storage, proving the binding and storage work.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/lib/env";

export class JobBoard extends DurableObject<Env> {
  async ping(): Promise<{ sqlite: boolean }> {
    const row = this.ctx.storage.sql.exec<{ one: number }>("SELECT 1 AS one").one();
    return { sqlite: row.one === 1 };
  }
}

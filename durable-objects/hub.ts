// The WebSocket hub (rooms, presence, history) arrives with the hub issue; the class exists now so the
// binding and its SQLite migration are declared once, in the foundation.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/lib/env";

export class Hub extends DurableObject<Env> {
  async ping(): Promise<{ sqlite: boolean }> {
    const row = this.ctx.storage.sql.exec<{ one: number }>("SELECT 1 AS one").one();
    return { sqlite: row.one === 1 };
  }
}

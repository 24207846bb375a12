// The console's files as the Worker serves them (src/lib/admin/assets.generated.ts) are the ones in admin/ and
// uPlot's: a stale generated module would serve an old console.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderAdminAssets } from "../../scripts/admin-assets";

describe("admin console assets", () => {
  it("are generated from admin/ and uPlot as they are now (run `npx tsx scripts/admin-assets.ts`)", () => {
    const current = readFileSync(join(import.meta.dirname, "../../src/lib/admin/assets.generated.ts"), "utf8");
    expect(current === renderAdminAssets()).toBe(true);
  });
});

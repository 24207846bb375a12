// Reads wrangler.toml through wrangler itself and prints, as one JSON line, what Miniflare needs: the Worker's name,
// compatibility date and flags, and wrangler's translation of every binding (unstable_getMiniflareWorkerOptions).
// Run as a child process by miniflare-options.ts: importing wrangler costs a Node process about 150 MB that it never
// gives back, and the host of `npm run start` needs wrangler only for this (docs/operations.md "Memory").
// The options are plain data (checked: strings, numbers, booleans, arrays, objects; no functions), so JSON carries them.
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

export interface WranglerWorker {
  name: string;
  compatibilityDate?: string;
  compatibilityFlags: string[];
  workerOptions: Record<string, unknown>;
}

function read(configPath: string): WranglerWorker {
  const config = unstable_readConfig({ config: configPath });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  return {
    name: config.name ?? "worker",
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    workerOptions: workerOptions as Record<string, unknown>,
  };
}

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write("usage: wrangler-worker.ts <wrangler.toml>\n");
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(read(configPath))}\n`);

// `npm run start`'s entry, in plain JavaScript so that Node runs the host without a TypeScript loader. `tsx` loaded
// for the host's whole life cost about 80 MB (its module hooks, their own thread, and an esbuild service process that
// stays up; measured in docs/benchmarks.md "The self-hosted runtime's memory, third pass"). Instead dev/start.ts and
// the repository modules it imports are bundled once with esbuild (packages stay external, loaded from node_modules
// as usual), esbuild's service is stopped, and the bundle runs in this process.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
// Under node_modules so that the bundle's package imports resolve from there; rebuilt on every start, written under
// another name and renamed so that two starts at once never read half a file.
const OUT = join(ROOT, "node_modules", ".cache", "tessera", "start.mjs");

const esbuild = await import("esbuild");
await mkdir(join(OUT, ".."), { recursive: true });
try {
  const { outputFiles } = await esbuild.build({
    write: false,
    entryPoints: [join(ROOT, "dev", "start.ts")],
    outfile: OUT,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "inline",
    logLevel: "warning",
    plugins: [
      {
        // Each module finds files relative to itself (import.meta.url); in one bundle they would all get the
        // bundle's URL, so each keeps its own source file's.
        name: "import-meta-url",
        setup(build) {
          build.onLoad({ filter: /\.ts$/ }, async ({ path }) => ({
            contents: (await readFile(path, "utf8")).replaceAll(
              "import.meta.url",
              JSON.stringify(pathToFileURL(path).href),
            ),
            loader: "ts",
          }));
        },
      },
    ],
  });
  const temporary = `${OUT}.${process.pid}`;
  await writeFile(temporary, outputFiles[0].contents);
  await rename(temporary, OUT);
} finally {
  await esbuild.stop();
}
const { main } = await import(pathToFileURL(OUT).href);
await main();

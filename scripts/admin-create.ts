// `npm run admin:create -- --username NAME --email ADDRESS`: creates an admin straight in the database.
// The password comes from ADMIN_PASSWORD or is asked for on the terminal (never an argument: shells keep history).
// It reaches the database the way the Worker does, through the bridge: the running one when `npm run dev`
// is up, otherwise one started here for the moment (PGlite in .data/pglite, or DATABASE_URL's Postgres).
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { startBridge } from "../dev/db-bridge/server";
import { readBridgeSecret } from "../dev/lib/dev-secrets";
import { bridgeDatabaseUrl, ROOT } from "../dev/lib/suite";
import { db } from "../src/lib/db/client";
import { Email, Password, Username } from "../src/lib/identity/account";
import { hashPassword } from "../src/lib/identity/passwords";
import { createUser } from "../src/lib/identity/users";
import { ApiError } from "../src/lib/platform/errors";

async function readPassword(): Promise<string> {
  if (process.env.ADMIN_PASSWORD) return process.env.ADMIN_PASSWORD;
  if (!process.stdin.isTTY) {
    // Piped: the first line of standard input.
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    return "";
  }
  process.stdout.write("Password (not shown): ");
  return new Promise((resolve) => {
    const chars: string[] = [];
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on("data", (data: Buffer) => {
      for (const ch of data.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          process.stdin.setRawMode(false);
          process.stdin.pause();
          process.stdout.write("\n");
          resolve(chars.join(""));
          return;
        }
        if (ch === "\u0003") process.exit(130);
        if (ch === "\u007f") chars.pop();
        else chars.push(ch);
      }
    });
  });
}

async function bridgeAnswers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { username: { type: "string" }, email: { type: "string" } } });
  const username = Username.safeParse(values.username);
  const email = Email.safeParse(values.email);
  if (!username.success || !email.success) {
    console.error(
      "usage: npm run admin:create -- --username NAME --email ADDRESS   (password from ADMIN_PASSWORD or a prompt)",
    );
    if (!username.success) console.error(`  username: ${username.error.issues[0]?.message}`);
    if (!email.success) console.error(`  email: ${email.error.issues[0]?.message}`);
    return 2;
  }
  const password = Password.safeParse(await readPassword());
  if (!password.success) {
    console.error(`password: ${password.error.issues[0]?.message} (8 to 256 characters)`);
    return 2;
  }

  const port = Number(process.env.DB_BRIDGE_PORT ?? 5480);
  const dataDir = process.env.TESSERA_DATA_DIR ?? join(ROOT, ".data");
  const secret = process.env.DB_BRIDGE_SECRET || (await readBridgeSecret(join(dataDir, "db-bridge.json"), port));
  let url = secret ? bridgeDatabaseUrl(port, secret) : "";
  let close = async () => {};
  if (!secret || !(await bridgeAnswers(port))) {
    const bridge = await startBridge({
      port: 0,
      databaseUrl: process.env.DATABASE_URL || undefined,
      dataDir: process.env.PGLITE_DIR ?? join(ROOT, ".data/pglite"),
    });
    url = bridge.url;
    close = bridge.close;
  }
  try {
    const user = await createUser(db({ DATABASE_URL: url }), {
      username: username.data,
      email: email.data,
      passwordHash: await hashPassword(password.data),
      roles: ["user", "admin"],
    });
    console.log(`created admin ${user.username} (${user.id})`);
    return 0;
  } catch (err) {
    console.error(
      err instanceof ApiError ? err.message : `failed: ${err instanceof Error ? err.message : String(err)}`,
    );
    return 1;
  } finally {
    await close();
  }
}

process.exitCode = await main();

// The test upstream in its own process, so a bench's load generator and the upstream do not share a thread.
// Prints one line, `UPSTREAM <url>`, when listening; exits on SIGTERM.
import { startTestUpstream } from "../../tests/support/upstream";

const upstream = await startTestUpstream();
process.stdout.write(`UPSTREAM ${upstream.url}\n`);
process.on("SIGTERM", () => {
  void upstream.close().then(() => process.exit(0));
});

// A webhook scorer for the tests: checks the Standard Webhooks signature with a secret both sides know and answers
// {score} (the fraction of the answer's characters that are digits), or misbehaves on purpose by path.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { TEST_SCORER_SECRET } from "./scorer-secret";

export async function startScorerServer(): Promise<{ url: string; close(): Promise<void> }> {
  const key = Buffer.from(TEST_SCORER_SECRET.slice("whsec_".length), "base64");
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (req.url === "/redirect") {
      res.writeHead(302, { location: "/score" });
      return res.end();
    }
    if (req.url === "/out-of-range") return send(200, { score: 2 });
    const id = String(req.headers["webhook-id"] ?? "");
    const ts = String(req.headers["webhook-timestamp"] ?? "");
    const given = String(req.headers["webhook-signature"] ?? "");
    const expected = `v1,${createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64")}`;
    const ok = given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    if (!ok) return send(401, { error: "bad signature" });
    const { answer } = JSON.parse(body) as { answer: string };
    const digits = [...answer].filter((ch) => ch >= "0" && ch <= "9").length;
    return send(200, { score: answer.length ? digits / answer.length : 0 });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

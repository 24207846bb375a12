// Scoring a candidate answer by the search's declared scorer, to a number in [0, 1]. exact, regex and json-schema
// are local and binary; webhook asks the caller's URL (signed, time- and size-bounded); llm-judge and caller scores
// come from elsewhere (the router, the caller's own tell).
import { z } from "zod";
import { GuardedFetchError, guardedFetch, type NetConfig, outgoingUrlProblem } from "../net/guarded-fetch";
import { readCapped } from "../net/read-capped";
import type { Scorer } from "./spec";
import { webhookSignatureHeaders } from "./webhook-signature";

const WEBHOOK_SCORER = { timeoutMs: 10_000, maxResponseBytes: 4096 } as const;

/** A scorer refusal: what went wrong, for the caller (no secrets, no internal addresses). */
export class ScorerError extends Error {
  constructor(
    readonly kind: "invalid" | "upstream",
    message: string,
  ) {
    super(message);
    this.name = "ScorerError";
  }
}

/** Nested quantifiers such as (a+)+ can backtrack for ever; a scorer pattern may not contain one. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/;

/** Checks a scorer when the search is created; returns what is wrong, or null. */
export function scorerProblem(scorer: Scorer, allowPrivate: boolean): { path: string[]; message: string } | null {
  switch (scorer.type) {
    case "regex":
      if (NESTED_QUANTIFIER.test(scorer.pattern)) {
        return { path: ["scorer", "pattern"], message: "nested quantifiers (such as (a+)+) are not allowed" };
      }
      try {
        new RegExp(scorer.pattern, scorer.flags);
      } catch {
        return { path: ["scorer", "pattern"], message: "is not a valid regular expression" };
      }
      return null;
    case "json-schema":
      try {
        z.fromJSONSchema(scorer.schema as Parameters<typeof z.fromJSONSchema>[0]);
      } catch (err) {
        return { path: ["scorer", "schema"], message: `is not a usable JSON Schema: ${(err as Error).message}` };
      }
      return null;
    case "webhook": {
      const problem = outgoingUrlProblem(scorer.url, allowPrivate);
      return problem ? { path: ["scorer", "url"], message: `scorer.url ${problem}` } : null;
    }
    default:
      return null;
  }
}

/** Scores an answer locally; null for scorers that are not local. */
export function scoreLocally(scorer: Scorer, answer: string): number | null {
  switch (scorer.type) {
    case "exact": {
      const a = answer.trim();
      const b = scorer.expected.trim();
      return (scorer.ignoreCase ? a.toLowerCase() === b.toLowerCase() : a === b) ? 1 : 0;
    }
    case "regex":
      return new RegExp(scorer.pattern, scorer.flags).test(answer) ? 1 : 0;
    case "json-schema": {
      let value: unknown;
      try {
        value = JSON.parse(answer);
      } catch {
        return 0;
      }
      const schema = z.fromJSONSchema(scorer.schema as Parameters<typeof z.fromJSONSchema>[0]);
      return schema.safeParse(value).success ? 1 : 0;
    }
    default:
      return null;
  }
}

const WebhookAnswer = z.object({ score: z.number().min(0).max(1) });

/** Where a scorer webhook may go: the outgoing guard's resolver, and whether private addresses are allowed. */
export interface ScorerEgress {
  net: NetConfig;
  allowPrivate: boolean;
}

/**
 * POSTs `{searchId, node, task, answer}` to the scorer URL, signed, through the outgoing guard (its name resolved
 * and checked, no redirect followed), and reads back `{score}`.
 */
export async function scoreByWebhook(
  url: string,
  secret: string,
  payload: { searchId: string; node: number; task: string; answer: string },
  egress: ScorerEgress,
): Promise<number> {
  const { allowPrivate } = egress;
  // Checked again at call time: the configuration may have changed since the search was created.
  const problem = outgoingUrlProblem(url, allowPrivate);
  if (problem) throw new ScorerError("invalid", `scorer.url ${problem}`);
  const body = JSON.stringify(payload);
  const headers = await webhookSignatureHeaders(secret, `${payload.searchId}.${payload.node}`, body, Date.now());
  // One message for a refused address, a closed port, a timeout and a non-2xx answer alike: what the caller reads
  // must not map the network behind the URL (docs/security.md).
  const unusable = () => new ScorerError("upstream", "The scorer webhook could not be reached or did not answer 2xx");
  let res: Response;
  try {
    res = await guardedFetch(
      egress.net,
      url,
      { method: "POST", headers: { ...headers, "content-type": "application/json" }, body },
      { timeoutMs: WEBHOOK_SCORER.timeoutMs, maxRedirects: 0, allowPrivate },
    );
  } catch (err) {
    if (err instanceof GuardedFetchError) throw unusable();
    throw err;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw unusable();
  }
  const bytes = await readCapped(res.body, WEBHOOK_SCORER.maxResponseBytes);
  const text = bytes ? new TextDecoder().decode(bytes) : null;
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text ?? "");
  } catch {
    // left null
  }
  const result = WebhookAnswer.safeParse(parsed);
  if (!result.success) throw new ScorerError("upstream", "The scorer webhook must answer {score} with 0 ≤ score ≤ 1");
  return result.data.score;
}

// The one interface every LLM provider implements (docs/llm.md "Providers"), and the error that tells the
// router whether to fall back.
import type { ChatCompletion, ChatCompletionChunk, EmbeddingResponse, ParsedChatRequest } from "../openai-shapes";

/** What the router sends a provider: the caller's request with the target's model and merged parameters. */
export type ProviderChatRequest = Omit<ParsedChatRequest, "tessera" | "stream" | "stream_options">;

export interface EmbedRequest {
  model: string;
  input: string[];
  dimensions?: number;
}

export interface LlmProvider {
  chat(request: ProviderChatRequest, signal: AbortSignal): Promise<ChatCompletion>;
  /**
   * Resolves once the provider has accepted the request (its headers), so failures before the first byte can fall
   * back. Yields chunks in batches (whatever arrived together), so the relay writes once per batch.
   */
  stream(request: ProviderChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatCompletionChunk[]>>;
  embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbeddingResponse>;
  health(signal: AbortSignal): Promise<boolean>;
}

/**
 * - rate_limited, server, timeout, connection, context_length: fall back to the next target (retry the same one
 *   first, within bounds, for the transient ones);
 * - client: the request itself is wrong (400, 401 of our key, 404 model); no other target would do better, but a
 *   misconfigured target should not fail the call: the router still falls back, and reports the first error.
 * - unavailable: the provider cannot serve at all (no model provisioned); fall back.
 */
type ProviderErrorKind =
  | "rate_limited"
  | "server"
  | "timeout"
  | "connection"
  | "context_length"
  | "client"
  | "unavailable";

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly options: { status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = "ProviderError";
  }

  /** Worth another try at the same target after a pause. */
  get transient(): boolean {
    return (
      this.kind === "rate_limited" || this.kind === "server" || this.kind === "connection" || this.kind === "timeout"
    );
  }

  /** Counts against the target's breaker (the provider looks unwell, not the request). */
  get tripsBreaker(): boolean {
    return this.transient;
  }
}

/** Seconds or an HTTP date, as Retry-After allows; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// Server-sent events for chat streams: reading a provider's `data:` lines, and writing OpenAI's own.

/**
 * The `data:` payloads of an SSE body, in batches: every complete event of one network read together, so a relay
 * writes once per read rather than once per token. Ends at `[DONE]` or the end of the body.
 */
export async function* sseBatches(body: ReadableStream<Uint8Array>): AsyncGenerator<string[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      // One pass over the read with an index, and one slice for the incomplete tail: cutting the buffer after each
      // line copied the rest of it every time, quadratic in the events per read (docs/benchmarks.md).
      const batch: string[] = [];
      let start = 0;
      let finished = false;
      for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n", start)) {
        const lineEnd = end > start && buffer.charCodeAt(end - 1) === 13 ? end - 1 : end;
        if (buffer.startsWith("data:", start)) {
          const data = buffer.slice(start + 5, lineEnd).trimStart();
          if (data === "[DONE]") {
            finished = true;
            break;
          }
          batch.push(data);
        }
        start = end + 1;
      }
      buffer = finished ? "" : buffer.slice(start);
      if (batch.length) yield batch;
      if (finished) return;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

const encoder = new TextEncoder();

export function sseEvent(payload: unknown): Uint8Array {
  return encoder.encode(sseText(payload));
}

export function sseText(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

export const SSE_DONE = encoder.encode("data: [DONE]\n\n");

export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
  "X-Accel-Buffering": "no",
} as const;

// V8 flags for workerd. workerd takes them only from its config (`Config.v8Flags`, "command-line flags to pass to
// V8"), and Miniflare builds that config without them and offers no option for it. Miniflare hands workerd the config
// as one binary Cap'n Proto message on stdin (`Runtime.updateConfig`), so the flags are added to that message on its
// way there: a new segment holding the list, and a far pointer to it in the root struct's empty `v8Flags` slot. Nothing
// else in the message moves. docs/operations.md ("Memory") says which flags are used and why.

/** Config's pointer slot for `v8Flags` (workerd.capnp: `v8Flags @2 :List(Text)`; Miniflare's generated Config). */
const V8_FLAGS_POINTER = 2;

/**
 * The same config message with `flags` as its `v8Flags`. Throws if the message is not what Miniflare writes (the
 * root struct in segment 0) or already has flags, so a change in Miniflare shows up as an error, not as flags that
 * silently did not apply.
 */
export function withV8Flags(message: Uint8Array, flags: readonly string[]): Buffer {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const segments = view.getUint32(0, true) + 1;
  const headerBytes = padToWord(4 + 4 * segments);
  const sizes: number[] = [];
  for (let i = 0; i < segments; i++) sizes.push(view.getUint32(4 + 4 * i, true));
  const bodyBytes = sizes.reduce((a, b) => a + b, 0) * 8;
  if (headerBytes + bodyBytes !== message.byteLength) throw new Error("workerd config: not a single framed message");

  // The root pointer (segment 0, word 0) must be a struct pointer into segment 0.
  const rootLow = view.getUint32(headerBytes, true);
  const rootHigh = view.getUint32(headerBytes + 4, true);
  if ((rootLow & 3) !== 0) throw new Error("workerd config: the root is not a struct in the first segment");
  const structWord = 1 + (rootLow >> 2);
  const dataWords = rootHigh & 0xffff;
  const pointers = rootHigh >>> 16;
  if (pointers <= V8_FLAGS_POINTER) throw new Error("workerd config: the root struct has no v8Flags field");
  const slot = headerBytes + (structWord + dataWords + V8_FLAGS_POINTER) * 8;
  if (slot + 8 > headerBytes + (sizes[0] ?? 0) * 8) throw new Error("workerd config: v8Flags is outside segment 0");
  if (view.getUint32(slot, true) !== 0 || view.getUint32(slot + 4, true) !== 0) {
    throw new Error("workerd config: v8Flags is already set");
  }

  // The new segment: a landing pad (a list pointer to the words after it), one pointer per flag, then the texts.
  const texts = flags.map((flag) => new TextEncoder().encode(`${flag}\0`));
  const words = 1 + texts.length + texts.reduce((n, t) => n + padToWord(t.length) / 8, 0);
  const segment = new Uint8Array(words * 8);
  const seg = new DataView(segment.buffer);
  setListPointer(seg, 0, 0, 6, texts.length); // offset 0: starts right after the pad; 6: pointer elements
  let textWord = 1 + texts.length;
  texts.forEach((text, i) => {
    const pointerWord = 1 + i;
    setListPointer(seg, pointerWord, textWord - (pointerWord + 1), 2, text.length); // 2: byte elements
    segment.set(text, textWord * 8);
    textWord += padToWord(text.length) / 8;
  });

  const newHeaderBytes = padToWord(4 + 4 * (segments + 1));
  const out = Buffer.alloc(newHeaderBytes + bodyBytes + segment.length);
  out.writeUInt32LE(segments, 0);
  for (let i = 0; i < segments; i++) out.writeUInt32LE(sizes[i] ?? 0, 4 + 4 * i);
  out.writeUInt32LE(words, 4 + 4 * segments);
  out.set(message.subarray(headerBytes), newHeaderBytes);
  out.set(segment, newHeaderBytes + bodyBytes);
  // A far pointer (type 2) to word 0 of the new segment.
  const newSlot = slot - headerBytes + newHeaderBytes;
  out.writeUInt32LE(2, newSlot);
  out.writeUInt32LE(segments, newSlot + 4);
  return out;
}

function padToWord(bytes: number): number {
  return Math.ceil(bytes / 8) * 8;
}

function setListPointer(view: DataView, word: number, offsetWords: number, elementSize: number, count: number): void {
  view.setUint32(word * 8, ((offsetWords << 2) | 1) >>> 0, true);
  view.setUint32(word * 8 + 4, ((count << 3) | elementSize) >>> 0, true);
}

interface RuntimeClass {
  prototype: { updateConfig(configBuffer: Buffer, ...rest: unknown[]): Promise<unknown> };
}

let current: readonly string[] = [];
let patched = false;

/**
 * From now on every workerd that Miniflare starts in this process gets `flags` (none: the config as Miniflare wrote
 * it). Process-wide because Miniflare keeps its runtime private; the last call wins.
 */
export function setWorkerdV8Flags(runtime: RuntimeClass, flags: readonly string[]): void {
  current = [...flags];
  if (patched) return;
  patched = true;
  const original = runtime.prototype.updateConfig;
  runtime.prototype.updateConfig = function updateConfig(configBuffer: Buffer, ...rest: unknown[]) {
    return original.call(this, current.length ? withV8Flags(configBuffer, current) : configBuffer, ...rest);
  };
}

/**
 * None. The flags that held workerd's memory down under load cap V8's old space, and a Worker whose heap passes that
 * cap aborts the whole workerd process; flags that only tune the collector did not help (docs/operations.md "Memory").
 */
export const DEFAULT_WORKERD_V8_FLAGS: readonly string[] = [];

/** `WORKERD_V8_FLAGS` split on spaces; unset: `fallback`; empty: none. */
export function workerdV8FlagsFromEnv(fallback: readonly string[], raw = process.env.WORKERD_V8_FLAGS): string[] {
  if (raw === undefined) return [...fallback];
  return raw.split(/\s+/).filter(Boolean);
}

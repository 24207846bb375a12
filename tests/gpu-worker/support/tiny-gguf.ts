// Writes a tiny llama-architecture GGUF that llama.cpp loads and runs: 2 layers, width 32, a 100-token
// SentencePiece-style vocabulary of printable ASCII, seeded random weights. No model weights can be downloaded
// here; this lets the real llama.cpp engine (through @fugood/llama.node) tokenize, decode and embed offline.
//
// No npm package writes GGUF tensors (@huggingface/gguf reads; docs/llm.md "Testing the local provider"), so the
// format is written here, after the GGUF v3 spec: header, metadata key/values, tensor infos, aligned f32 data.
//
// What comes out is gibberish, but always text: every token is a printable character (so any cut of the output is
// valid UTF-8), and the output rows of the control tokens (<unk>, <s>, </s>) are zero, so their logit is 0 while
// the best of the ~97 random ones is positive: greedy decoding never ends early, and the caller's max_tokens bounds it.
import { writeFile } from "node:fs/promises";

const N_EMBD = 32;
const N_HEAD = 2;
const N_LAYER = 2;
const N_FF = 64;
const N_CTX = 512;
const ALIGNMENT = 32;

/** The tokens: <unk>, <s>, </s>, then ▁ (SentencePiece's space) and every printable ASCII character but space. */
export function tinyVocabulary(): string[] {
  const tokens = ["<unk>", "<s>", "</s>", "\u2581", "\n"];
  for (let c = 0x21; c <= 0x7e; c++) tokens.push(String.fromCharCode(c));
  return tokens;
}

// GGUF metadata value types.
const T_UINT32 = 4;
const T_INT32 = 5;
const T_FLOAT32 = 6;
const T_BOOL = 7;
const T_STRING = 8;
const T_ARRAY = 9;

type Meta =
  | { type: "u32" | "i32" | "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "strings"; value: string[] }
  | { type: "f32s" | "i32s"; value: number[] };

class Out {
  private readonly parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.byteLength;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  str(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.byteLength);
    this.push(bytes);
  }
  pad(): void {
    const n = (ALIGNMENT - (this.length % ALIGNMENT)) % ALIGNMENT;
    if (n) this.push(Buffer.alloc(n));
  }
  meta(key: string, m: Meta): void {
    this.str(key);
    switch (m.type) {
      case "u32":
        this.u32(T_UINT32);
        this.u32(m.value);
        break;
      case "i32":
        this.u32(T_INT32);
        this.i32(m.value);
        break;
      case "f32":
        this.u32(T_FLOAT32);
        this.f32(m.value);
        break;
      case "bool":
        this.u32(T_BOOL);
        this.push(Buffer.from([m.value ? 1 : 0]));
        break;
      case "string":
        this.u32(T_STRING);
        this.str(m.value);
        break;
      case "strings":
        this.u32(T_ARRAY);
        this.u32(T_STRING);
        this.u64(m.value.length);
        for (const s of m.value) this.str(s);
        break;
      case "f32s":
      case "i32s":
        this.u32(T_ARRAY);
        this.u32(m.type === "f32s" ? T_FLOAT32 : T_INT32);
        this.u64(m.value.length);
        for (const v of m.value) (m.type === "f32s" ? this.f32 : this.i32).call(this, v);
        break;
    }
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A small deterministic generator (mulberry32), so every run writes the same model. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ChatML, which llama.cpp recognises by its markers (the template is only read, never run as Jinja here). */
const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/** The GGUF file's bytes. */
export function tinyGguf(seed = 17): Buffer {
  const tokens = tinyVocabulary();
  const nVocab = tokens.length;
  const rand = random(seed);
  const uniform = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
  const ones = (n: number) => new Float32Array(n).fill(1);

  const output = uniform(N_EMBD * nVocab, 1);
  // Rows 0-2 are the control tokens: a zero row scores 0 (see the header comment).
  output.fill(0, 0, 3 * N_EMBD);
  const tensors: { name: string; ne: number[]; data: Float32Array }[] = [
    { name: "token_embd.weight", ne: [N_EMBD, nVocab], data: uniform(N_EMBD * nVocab, 1) },
    { name: "output_norm.weight", ne: [N_EMBD], data: ones(N_EMBD) },
    { name: "output.weight", ne: [N_EMBD, nVocab], data: output },
  ];
  const w = 1 / Math.sqrt(N_EMBD);
  for (let l = 0; l < N_LAYER; l++) {
    const at = (name: string, ne: number[], data: Float32Array) => tensors.push({ name: `blk.${l}.${name}`, ne, data });
    at("attn_norm.weight", [N_EMBD], ones(N_EMBD));
    at("attn_q.weight", [N_EMBD, N_EMBD], uniform(N_EMBD * N_EMBD, w));
    at("attn_k.weight", [N_EMBD, N_EMBD], uniform(N_EMBD * N_EMBD, w));
    at("attn_v.weight", [N_EMBD, N_EMBD], uniform(N_EMBD * N_EMBD, w));
    at("attn_output.weight", [N_EMBD, N_EMBD], uniform(N_EMBD * N_EMBD, w));
    at("ffn_norm.weight", [N_EMBD], ones(N_EMBD));
    at("ffn_gate.weight", [N_EMBD, N_FF], uniform(N_EMBD * N_FF, w));
    at("ffn_up.weight", [N_EMBD, N_FF], uniform(N_EMBD * N_FF, w));
    at("ffn_down.weight", [N_FF, N_EMBD], uniform(N_FF * N_EMBD, 1 / Math.sqrt(N_FF)));
  }

  const meta: [string, Meta][] = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: "tessera-tiny-test" }],
    ["general.alignment", { type: "u32", value: ALIGNMENT }],
    ["llama.context_length", { type: "u32", value: N_CTX }],
    ["llama.embedding_length", { type: "u32", value: N_EMBD }],
    ["llama.block_count", { type: "u32", value: N_LAYER }],
    ["llama.feed_forward_length", { type: "u32", value: N_FF }],
    ["llama.attention.head_count", { type: "u32", value: N_HEAD }],
    ["llama.attention.head_count_kv", { type: "u32", value: N_HEAD }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
    ["llama.rope.dimension_count", { type: "u32", value: N_EMBD / N_HEAD }],
    ["llama.vocab_size", { type: "u32", value: nVocab }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "strings", value: tokens }],
    ["tokenizer.ggml.scores", { type: "f32s", value: tokens.map((_, i) => -i) }],
    // 2 unknown, 3 control, 1 normal.
    ["tokenizer.ggml.token_type", { type: "i32s", value: tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : 1)) }],
    ["tokenizer.ggml.unknown_token_id", { type: "u32", value: 0 }],
    ["tokenizer.ggml.bos_token_id", { type: "u32", value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: "u32", value: 2 }],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ["tokenizer.chat_template", { type: "string", value: CHATML }],
  ];

  const out = new Out();
  out.push(Buffer.from("GGUF", "ascii"));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(meta.length);
  for (const [key, value] of meta) out.meta(key, value);
  let offset = 0;
  for (const t of tensors) {
    out.str(t.name);
    out.u32(t.ne.length);
    for (const n of t.ne) out.u64(n);
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    offset += Math.ceil(t.data.byteLength / ALIGNMENT) * ALIGNMENT;
  }
  out.pad();
  for (const t of tensors) {
    out.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    out.pad();
  }
  return out.buffer();
}

export async function writeTinyGguf(path: string): Promise<string> {
  await writeFile(path, tinyGguf());
  return path;
}

// Writes a tiny whisper.cpp ggml model with hand-set weights whose greedy decoding is a known phrase for any audio.
// No Whisper weights can be downloaded here; this proves the real file loader, encoder and decoder run end to end.
//
// How the phrase comes out: every attention and MLP weight and bias is zero, so each block adds nothing and the
// decoder's residual stream at position p is token_embedding[token] + positional_embedding[p]. The positional
// embedding of position p is a large zero-mean vector d_p (orthogonal for each p); token embeddings are small, so the
// final layer norm yields ≈ d_p whatever the token. Logits are that times the (tied) token embedding, scaled by the
// layer norm's weight: the phrase's j-th token has embedding s·d_j, so it wins position j by a wide margin (about
// 32 nats), every other token scores 0, and after the last word comes end-of-text.
import { writeFile } from "node:fs/promises";

/** The text the model transcribes any audio to. */
export const TINY_WHISPER_TEXT = "Hello from Tessera.";
const PHRASE = [" Hello", " from", " Tessera", "."];

const N_VOCAB = 51864; // English-only vocabulary size: special tokens at their standard ids (eot = 50256)
const TOKEN_EOT = 50256;
const N_AUDIO_CTX = 1500;
const N_TEXT_CTX = 448;
const D = 16; // model width
const N_MELS = 80;
const N_FFT = 201;

class Writer {
  private chunks: Buffer[] = [];
  i32(...values: number[]): void {
    const b = Buffer.alloc(4 * values.length);
    for (const [i, v] of values.entries()) b.writeInt32LE(v, i * 4);
    this.chunks.push(b);
  }
  f32(values: Float32Array): void {
    this.chunks.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  }
  bytes(b: Buffer): void {
    this.chunks.push(b);
  }
  /** A tensor record: n_dims, name length, type (0 = f32), dims (fastest first), name, data. */
  tensor(name: string, ne: number[], data?: Float32Array): void {
    const n = ne.reduce((a, b) => a * b, 1);
    const nameBytes = Buffer.from(name, "utf8");
    this.i32(ne.length, nameBytes.length, 0, ...ne);
    this.bytes(nameBytes);
    this.f32(data ?? new Float32Array(n));
  }
  buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Direction for decoder position p: +a on dim 2p, −a on dim 2p+1 (zero mean, unit variance after layer norm). */
function direction(p: number, scale: number): Float32Array {
  const v = new Float32Array(D);
  const a = Math.sqrt(D / 2) * scale;
  v[2 * p] = a;
  v[2 * p + 1] = -a;
  return v;
}

export function tinyWhisperModel(): Buffer {
  const w = new Writer();
  w.i32(0x67676d6c); // "ggml"
  // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head,
  // n_text_layer, n_mels, ftype (0: f32)
  w.i32(N_VOCAB, N_AUDIO_CTX, D, 1, 1, N_TEXT_CTX, D, 1, 1, N_MELS, 0);
  w.i32(N_MELS, N_FFT);
  w.f32(new Float32Array(N_MELS * N_FFT));
  // The vocabulary file lists the text tokens; whisper.cpp names the rest (specials, timestamps) itself.
  const vocab = [" ", ...PHRASE];
  w.i32(vocab.length);
  for (const token of vocab) {
    const b = Buffer.from(token, "utf8");
    w.i32(b.length);
    w.bytes(b);
  }

  // Encoder: all zero (its output is never read, because cross-attention weights are zero too).
  w.tensor("encoder.positional_embedding", [D, N_AUDIO_CTX]);
  w.tensor("encoder.conv1.weight", [3, N_MELS, D]);
  w.tensor("encoder.conv1.bias", [1, D]);
  w.tensor("encoder.conv2.weight", [3, D, D]);
  w.tensor("encoder.conv2.bias", [1, D]);
  w.tensor("encoder.ln_post.weight", [D]);
  w.tensor("encoder.ln_post.bias", [D]);
  const block = (prefix: string, cross: boolean) => {
    const parts = cross ? ["attn", "cross_attn"] : ["attn"];
    w.tensor(`${prefix}.mlp_ln.weight`, [D]);
    w.tensor(`${prefix}.mlp_ln.bias`, [D]);
    w.tensor(`${prefix}.mlp.0.weight`, [D, 4 * D]);
    w.tensor(`${prefix}.mlp.0.bias`, [4 * D]);
    w.tensor(`${prefix}.mlp.2.weight`, [4 * D, D]);
    w.tensor(`${prefix}.mlp.2.bias`, [D]);
    for (const a of parts) {
      w.tensor(`${prefix}.${a}_ln.weight`, [D]);
      w.tensor(`${prefix}.${a}_ln.bias`, [D]);
      w.tensor(`${prefix}.${a}.query.weight`, [D, D]);
      w.tensor(`${prefix}.${a}.query.bias`, [D]);
      w.tensor(`${prefix}.${a}.key.weight`, [D, D]);
      w.tensor(`${prefix}.${a}.value.weight`, [D, D]);
      w.tensor(`${prefix}.${a}.value.bias`, [D]);
      w.tensor(`${prefix}.${a}.out.weight`, [D, D]);
      w.tensor(`${prefix}.${a}.out.bias`, [D]);
    }
  };
  block("encoder.blocks.0", false);

  // Decoder: positions 0..PHRASE.length carry the directions; token j of the output is embedded along d_j.
  const pe = new Float32Array(D * N_TEXT_CTX);
  const outputs = [...PHRASE.map((_, i) => i + 1), TOKEN_EOT]; // vocab ids of the phrase, then end-of-text
  for (const p of outputs.keys()) pe.set(direction(p, 10), p * D);
  w.tensor("decoder.positional_embedding", [D, N_TEXT_CTX], pe);
  const te = new Float32Array(D * N_VOCAB);
  for (const [p, token] of outputs.entries()) te.set(direction(p, 0.01), token * D);
  w.tensor("decoder.token_embedding.weight", [D, N_VOCAB], te);
  w.tensor("decoder.ln.weight", [D], new Float32Array(D).fill(200));
  w.tensor("decoder.ln.bias", [D]);
  block("decoder.blocks.0", true);
  return w.buffer();
}

export async function writeTinyWhisperModel(path: string): Promise<string> {
  await writeFile(path, tinyWhisperModel());
  return path;
}

// Each engine's output as findings (evidence with where it was found and how sure the engine was), and the
// connections Tessera finds by itself, without a model: the same word spoken, written or typed in two inputs; an
// object detected in an image and named elsewhere; the same date in two inputs. Pure (docs/fusion.md).
import type { TranscriptResult } from "../audio/transcript-formats";
import type { ExtractedDocument } from "../documents/model";
import type { ClassifyResult, DetectResult, OcrResult } from "../jobs/protocol";
import type { Connection, Finding, ModalityResult } from "./model";

/** Engines that report no confidence (a transcript without log-probabilities) get this, documented as such. */
export const UNREPORTED_CONFIDENCE = 0.8;

const clamp = (x: number) => Math.max(0, Math.min(1, x));

export function textFindings(text: string): Finding[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => ({ kind: "text" as const, text: p, confidence: 1 }));
}

export function ocrFindings(ocr: OcrResult): Finding[] {
  return ocr.lines.map((l) => ({
    kind: "written" as const,
    text: l.text,
    at: { box: l.box },
    confidence: clamp(l.confidence),
  }));
}

/** Objects, faces and bodies above a third of certainty; below that a detector mostly guesses. */
export function detectFindings(detect: DetectResult): Finding[] {
  const objects = detect.objects.map((o) => ({ label: o.label, score: o.score, box: o.box }));
  const face = [...detect.faces].sort((a, b) => b.score - a.score)[0];
  if (face) objects.push({ label: "face", score: face.score, box: face.box });
  return objects
    .filter((o) => o.score >= 0.33)
    .map((o) => ({ kind: "object" as const, text: o.label, at: { box: o.box }, confidence: clamp(o.score) }));
}

export function classifyFindings(classify: ClassifyResult): Finding[] {
  return classify.labels
    .slice(0, 3)
    .map((l) => ({ kind: "label" as const, text: l.label, confidence: clamp(l.score) }));
}

export function transcriptFindings(t: TranscriptResult): Finding[] {
  return t.segments.map((s) => {
    const logprob = (s as { avg_logprob?: number }).avg_logprob;
    return {
      kind: "spoken" as const,
      text: s.text.trim(),
      at: { start: s.start, end: s.end },
      confidence: typeof logprob === "number" ? clamp(Math.exp(logprob)) : UNREPORTED_CONFIDENCE,
    };
  });
}

export function documentFindings(doc: ExtractedDocument): Finding[] {
  const out: Finding[] = [];
  for (const part of doc.parts) {
    const at = { part: `${part.kind} ${part.name ?? part.number}` };
    // Text read from a scan is as sure as the OCR was; the document job reports its pages, not each line's score.
    const confidence = part.source === "ocr" ? UNREPORTED_CONFIDENCE : 1;
    for (const b of part.blocks) {
      if (b.type === "table")
        out.push({ kind: "table", text: b.rows.map((r) => r.join(" | ")).join("\n"), at, confidence });
      else out.push({ kind: b.type === "heading" ? "heading" : "text", text: b.text, at, confidence });
    }
  }
  return out;
}

export function meanConfidence(findings: Finding[]): number {
  if (findings.length === 0) return 0;
  return findings.reduce((n, f) => n + f.confidence, 0) / findings.length;
}

// ---- Connections found by rule ----

const STOP = new Set(
  "about above after again against also among because been before being below between both could does doing down during each from further have having here hers herself himself into itself just more most much must myself only other ours over same should some such than that their theirs them then there these they this those through under until very were what when where which while whom will with would your yours".split(
    " ",
  ),
);
const MONTHS = /^(january|february|march|april|may|june|july|august|september|october|november|december)$/;
const DATE = /^(?:\d{4}-\d{2}-\d{2}|(?:19|20)\d{2})$/;

/** Words worth matching across inputs: four letters or more and not a stop word; dates and month names always. */
export function keyWords(text: string): string[] {
  const words =
    text
      .toLowerCase()
      .normalize("NFKD")
      .replace(/\p{M}/gu, "")
      .match(/[\p{L}\p{N}][\p{L}\p{N}-]*/gu) ?? [];
  return words.filter((w) => DATE.test(w) || MONTHS.test(w) || (w.length >= 4 && !STOP.has(w) && !/^\d+$/.test(w)));
}

const wordsOf = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

function describeAt(m: ModalityResult, f: Finding): string {
  const what = {
    spoken: "spoken",
    written: "written (OCR)",
    object: "detected",
    label: "classified",
    heading: "a heading",
    table: "a table",
    text: "text",
  }[f.kind];
  const where =
    f.at?.start !== undefined
      ? ` at ${f.at.start.toFixed(1)}–${(f.at.end ?? f.at.start).toFixed(1)} s`
      : f.at?.part
        ? ` on ${f.at.part}`
        : "";
  return `${what}${where} in input ${m.input} (${m.type})`;
}

/** Links between inputs that need no model; `limit` keeps the longest (most specific) words first. */
export function ruleConnections(
  modalities: ModalityResult[],
  limit = 24,
): { connections: Connection[]; entities: { name: string; inputs: number[] }[] } {
  const seen = new Map<string, Map<number, { m: ModalityResult; f: Finding; original: string }>>();
  for (const m of modalities) {
    for (const f of m.findings) {
      if (f.kind === "object" || f.kind === "label") continue;
      const originals = f.text.match(/[\p{L}\p{N}][\p{L}\p{N}-]*/gu) ?? [];
      for (const w of keyWords(f.text)) {
        const byInput = seen.get(w) ?? new Map();
        if (!byInput.has(m.input)) {
          const original = originals.find((o) => o.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "") === w) ?? w;
          byInput.set(m.input, { m, f, original });
        }
        seen.set(w, byInput);
      }
    }
  }
  const connections: Connection[] = [];
  const entities: { name: string; inputs: number[] }[] = [];
  const shared = [...seen].filter(([, by]) => by.size > 1).sort((a, b) => b[0].length - a[0].length);
  for (const [word, by] of shared) {
    const hits = [...by.values()].sort((a, b) => a.m.input - b.m.input);
    const temporal = DATE.test(word) || MONTHS.test(word);
    const first = hits[0];
    if (!temporal && first) entities.push({ name: first.original, inputs: hits.map((h) => h.m.input) });
    for (const [i, a] of hits.entries()) {
      for (const b of hits.slice(i + 1)) {
        connections.push({
          from: a.m.input,
          to: b.m.input,
          kind: temporal ? "temporal" : "same_entity",
          evidence: `"${a.original}" ${describeAt(a.m, a.f)} and ${describeAt(b.m, b.f)}`,
          by: "rule",
        });
      }
    }
  }
  // An object a detector saw, named in another input's words.
  for (const m of modalities) {
    for (const f of m.findings) {
      if (f.kind !== "object") continue;
      for (const other of modalities) {
        if (other.input === m.input) continue;
        const label = f.text.toLowerCase();
        const named = other.findings.find(
          (o) => o.kind !== "object" && o.kind !== "label" && wordsOf(o.text).includes(label),
        );
        if (named) {
          connections.push({
            from: m.input,
            to: other.input,
            kind: "supports",
            evidence: `a ${f.text} ${describeAt(m, f)} (score ${f.confidence.toFixed(2)}) is named: ${describeAt(other, named)}`,
            by: "rule",
          });
        }
      }
    }
  }
  return { connections: dedupe(connections).slice(0, limit), entities: entities.slice(0, limit) };
}

function dedupe(connections: Connection[]): Connection[] {
  const seen = new Set<string>();
  return connections.filter((c) => {
    const key = `${c.from}:${c.to}:${c.kind}:${c.evidence}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

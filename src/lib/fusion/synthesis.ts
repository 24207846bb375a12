// The one synthesis call: a prompt that cites each modality's evidence by input number, and the model's JSON
// answer checked before any of it reaches the result (docs/fusion.md "Synthesis"). Pure; the call goes through
// the LLM router.
import { z } from "zod";
import { CONNECTION_KINDS, type Connection, FUSION_LIMITS, type ModalityResult } from "./model";

export const SYSTEM_PROMPT =
  "You fuse evidence from several inputs (text, images, audio, documents) into one answer. Use only the evidence " +
  "given. Cite inputs by their number. Answer with a JSON object: " +
  '{"summary": string, "entities": [{"name": string, "inputs": [number]}], ' +
  '"connections": [{"from": number, "to": number, "kind": "same_entity"|"temporal"|"supports"|"contradicts", "evidence": string}]}.';

export function evidencePrompt(modalities: ModalityResult[], question: string | undefined): string {
  const lines: string[] = [];
  for (const m of modalities) {
    lines.push(
      `## Input ${m.input} (${m.type}: ${m.source})${m.status === "failed" ? ` - failed: ${m.error ?? "unknown"}` : ""}`,
    );
    let budget = FUSION_LIMITS.evidenceChars;
    for (const f of m.findings) {
      const where =
        f.at?.start !== undefined
          ? ` [${f.at.start.toFixed(1)}-${(f.at.end ?? f.at.start).toFixed(1)} s]`
          : f.at?.part
            ? ` [${f.at.part}]`
            : "";
      const line = `- ${f.kind}${where} (confidence ${f.confidence.toFixed(2)}): ${f.text}`;
      if (line.length > budget) break;
      budget -= line.length;
      lines.push(line);
    }
  }
  lines.push(
    "",
    question ? `Question: ${question}` : "Summarise what these inputs show together and how they connect.",
  );
  return lines.join("\n");
}

const Answer = z.object({
  summary: z.string().max(8_000),
  entities: z
    .array(z.object({ name: z.string().max(200), inputs: z.array(z.number().int()) }))
    .max(50)
    .default([]),
  connections: z
    .array(
      z.object({
        from: z.number().int(),
        to: z.number().int(),
        kind: z.enum(CONNECTION_KINDS),
        evidence: z.string().max(1_000),
      }),
    )
    .max(50)
    .default([]),
});
export type SynthesisAnswer = {
  summary: string;
  entities: { name: string; inputs: number[] }[];
  connections: Connection[];
};

/** The model's answer, with references to inputs that do not exist dropped; null when it is not the JSON asked for. */
export function parseSynthesis(content: string, inputs: number): SynthesisAnswer | null {
  const json = /\{[\s\S]*\}/.exec(content)?.[0];
  if (!json) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return null;
  }
  const parsed = Answer.safeParse(raw);
  if (!parsed.success) return null;
  const valid = (i: number) => i >= 0 && i < inputs;
  return {
    summary: parsed.data.summary,
    entities: parsed.data.entities.map((e) => ({ name: e.name, inputs: e.inputs.filter(valid) })),
    connections: parsed.data.connections
      .filter((c) => valid(c.from) && valid(c.to) && c.from !== c.to)
      .map((c) => ({ ...c, by: "model" as const })),
  };
}

// Fusion's pure parts: engine outputs as findings, the connections found by rule (a word shared across
// modalities, an object detected and named, a date in two inputs), and the model's synthesis answer checked.
import { describe, expect, it } from "vitest";
import {
  detectFindings,
  keyWords,
  ocrFindings,
  ruleConnections,
  textFindings,
  transcriptFindings,
  UNREPORTED_CONFIDENCE,
} from "../../src/lib/fusion/findings";
import type { ModalityResult } from "../../src/lib/fusion/model";
import { evidencePrompt, parseSynthesis } from "../../src/lib/fusion/synthesis";

const box = { x: 1, y: 2, width: 30, height: 10 };
const ok = (input: number, type: ModalityResult["type"], findings: ModalityResult["findings"]): ModalityResult => ({
  input,
  type,
  source: `input ${input}`,
  status: "ok",
  findings,
  confidence: 1,
});

describe("findings", () => {
  it("keeps each engine's position and confidence", () => {
    expect(
      ocrFindings({ text: "x", lines: [{ text: "Harbour map", confidence: 0.97, box }], width: 9, height: 9 }),
    ).toEqual([{ kind: "written", text: "Harbour map", at: { box }, confidence: 0.97 }]);
    const spoken = transcriptFindings({ text: "Hello", segments: [{ start: 0, end: 1.5, text: " Hello " }] });
    expect(spoken).toEqual([
      { kind: "spoken", text: "Hello", at: { start: 0, end: 1.5 }, confidence: UNREPORTED_CONFIDENCE },
    ]);
    const seen = detectFindings({
      objects: [
        { label: "dog", score: 0.9, box },
        { label: "kite", score: 0.2, box },
      ],
      faces: [],
      bodies: [],
      width: 9,
      height: 9,
    });
    expect(seen.map((f) => f.text)).toEqual(["dog"]);
  });

  it("matching words are folded and filtered: case, accents, stop words and short words", () => {
    expect(keyWords("The Café opened in 2026, with them and José")).toEqual(["cafe", "opened", "2026", "jose"]);
  });
});

describe("rule connections", () => {
  it("links the same word spoken, written and typed, naming where each was found", () => {
    const modalities = [
      ok(0, "image", [{ kind: "written", text: "Tessera harbour", at: { box }, confidence: 0.9 }]),
      ok(1, "audio", [{ kind: "spoken", text: "Hello from Tessera.", at: { start: 0, end: 1.2 }, confidence: 0.8 }]),
      ok(2, "document", [{ kind: "table", text: "Name | Tessera", at: { part: "page 1" }, confidence: 1 }]),
    ];
    const { connections, entities } = ruleConnections(modalities);
    expect(entities).toContainEqual({ name: "Tessera", inputs: [0, 1, 2] });
    const same = connections.filter((c) => c.kind === "same_entity" && c.evidence.startsWith('"Tessera"'));
    expect(same.map((c) => [c.from, c.to])).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    expect(same[1]?.evidence).toContain("a table on page 1 in input 2 (document)");
    expect(same[2]?.evidence).toContain("spoken at 0.0–1.2 s in input 1 (audio)");
  });

  it("an object detected in one input and named in another supports it; a shared date is temporal", () => {
    const { connections } = ruleConnections([
      ok(0, "image", [{ kind: "object", text: "dog", at: { box }, confidence: 0.91 }]),
      ok(1, "text", textFindings("My dog ran on 2026-05-01.")),
      ok(2, "document", [{ kind: "text", text: "Logged 2026-05-01", confidence: 1 }]),
    ]);
    expect(connections).toContainEqual(expect.objectContaining({ from: 0, to: 1, kind: "supports", by: "rule" }));
    expect(connections).toContainEqual(expect.objectContaining({ from: 1, to: 2, kind: "temporal" }));
  });

  it("finds nothing between inputs that share nothing", () => {
    const { connections, entities } = ruleConnections([
      ok(0, "text", textFindings("apples")),
      ok(1, "text", textFindings("oranges")),
    ]);
    expect(connections).toEqual([]);
    expect(entities).toEqual([]);
  });
});

describe("synthesis", () => {
  it("cites each input by number in the prompt, within the evidence budget", () => {
    const prompt = evidencePrompt([ok(0, "text", textFindings("alpha ".repeat(2000)))], "What is this?");
    expect(prompt).toContain("## Input 0 (text: input 0)");
    expect(prompt).toContain("Question: What is this?");
    expect(prompt.length).toBeLessThan(3_000);
  });

  it("accepts the JSON asked for, drops references to inputs that do not exist, refuses anything else", () => {
    const answer = parseSynthesis(
      'Sure: {"summary":"s","entities":[{"name":"Tessera","inputs":[0,5]}],"connections":[{"from":0,"to":1,"kind":"supports","evidence":"e"},{"from":0,"to":9,"kind":"supports","evidence":"x"}]}',
      2,
    );
    expect(answer).toEqual({
      summary: "s",
      entities: [{ name: "Tessera", inputs: [0] }],
      connections: [{ from: 0, to: 1, kind: "supports", evidence: "e", by: "model" }],
    });
    expect(parseSynthesis("no json here", 2)).toBeNull();
    expect(parseSynthesis('{"summary": 3}', 2)).toBeNull();
    expect(
      parseSynthesis('{"summary":"s","connections":[{"from":0,"to":1,"kind":"invented","evidence":"e"}]}', 2),
    ).toBeNull();
  });
});

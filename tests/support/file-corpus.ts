// A deterministic corpus of mixed files for the files tests and bench:search: code, notes, data, HTML, images,
// archives and a few files with known words (TARGETS) that the search must find first. Filler text is made of
// invented words (syllables + "n"), so no filler word is ever close to a target's words. No Node or Worker APIs:
// both the Workers tests and the Node bench import it.

export interface CorpusFile {
  path: string;
  bytes: Uint8Array;
  /** The client's Content-Type, when the test sends one. */
  type?: string;
}

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "gi", "hu", "je", "bo"];
/** 3,375 invented words; a Zipf-like pick makes a few common and most rare. */
export const FILLER_WORDS = Array.from(
  { length: 3375 },
  (_, i) => `${SYLLABLES[i % 15]}${SYLLABLES[Math.floor(i / 15) % 15]}${SYLLABLES[Math.floor(i / 225) % 15]}n`,
);
const PROJECTS = ["orion", "vega", "lyra", "draco"];

const utf8 = new TextEncoder();
const text = (s: string) => utf8.encode(s);

function bytesWith(prefix: number[], size: number, random: () => number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(prefix);
  for (let i = prefix.length; i < size; i++) out[i] = Math.floor(random() * 256);
  return out;
}

export const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
export const PDF_MAGIC = [...text("%PDF-1.7\n")];

/** Files with known words, and the queries that must find each of them first. */
export const TARGETS = {
  forecast: {
    path: "/notes/quarterly-revenue-forecast.md",
    content: "# Quarterly revenue forecast\n\nNumbers for the northwind account. TODO: confirm with finance.\n",
  },
  kubernetes: {
    path: "/projects/atlas/docs/kubernetes-deployment-guide.md",
    content: "How the atlas service is deployed on kubernetes clusters, step by step, with rollbacks.\n",
  },
  payment: {
    path: "/projects/atlas/src/payment_processor.py",
    content:
      "def receive_payment(amount, currency):\n    # settle the ledger entry\n    return ledger.settle(amount)\n",
  },
  license: {
    path: "/projects/atlas/LICENSE",
    content:
      "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software.\n",
  },
  paymentTest: {
    path: "/projects/atlas/tests/payment.test.ts",
    content: "import { settle } from '../src/ledger';\ntest('settles a payment', () => expect(settle(1)).toBe(1));\n",
  },
  landing: {
    path: "/web/landing.html",
    content:
      "<!doctype html><html><head><style>.hero{color:red}</style><script>var secretToken = 'zzhidden';</script>" +
      "</head><body><h1>Welcome to Caf&eacute; Aurora</h1><p>Fresh espresso &amp; pastries every morning.</p></body></html>",
  },
} as const;

export function targetFiles(random = rng(7)): CorpusFile[] {
  const files: CorpusFile[] = Object.values(TARGETS).map((t) => ({ path: t.path, bytes: text(t.content) }));
  files.push({ path: "/finance/invoice-2024-03.pdf", bytes: bytesWith([...PDF_MAGIC], 3000, random) });
  return files;
}

/**
 * `count` filler files of mixed kinds under /projects/<p>/…, /notes, /data, /media, /archive, /web: about 40%
 * code, 20% notes, 20% data, 5% HTML, 10% media, 5% archives. The same seed gives the same files.
 */
export function fillerFiles(count: number, seed = 42, startAt = 0): CorpusFile[] {
  const random = rng(seed);
  const zipf = () =>
    FILLER_WORDS[Math.min(FILLER_WORDS.length - 1, Math.floor(FILLER_WORDS.length * random() ** 3))] as string;
  const sentence = (n: number) => Array.from({ length: n }, zipf).join(" ");
  const out: CorpusFile[] = [];
  for (let k = 0; k < count; k++) {
    const i = startAt + k;
    const project = PROJECTS[i % PROJECTS.length] as string;
    const word = zipf();
    const slot = i % 20;
    if (slot < 5) {
      out.push({
        path: `/projects/${project}/src/${word}_${i}.ts`,
        bytes: text(
          `// ${sentence(12)}\nexport function ${word}${i}(input: string): string {\n  return "${sentence(20)}";\n}\n`,
        ),
      });
    } else if (slot < 8) {
      out.push({
        path: `/projects/${project}/lib/${word}_${i}.py`,
        bytes: text(`def ${word}_${i}(value):\n    """${sentence(25)}"""\n    return value\n`),
      });
    } else if (slot < 12) {
      out.push({
        path: `/notes/${word}-${i}.md`,
        bytes: text(`# ${sentence(4)}\n\n${sentence(60 + Math.floor(random() * 80))}\n`),
      });
    } else if (slot < 14) {
      out.push({
        path: `/data/${word}-${i}.json`,
        bytes: text(JSON.stringify({ name: word, id: i, words: sentence(15).split(" ") })),
      });
    } else if (slot < 16) {
      const rows = Array.from({ length: 10 }, (_, r) => `${r},${zipf()},${Math.floor(random() * 1000)}`).join("\n");
      out.push({ path: `/data/${word}-${i}.csv`, bytes: text(`id,label,amount\n${rows}\n`) });
    } else if (slot === 16) {
      out.push({
        path: `/web/${word}-${i}.html`,
        bytes: text(`<html><body><h2>${sentence(5)}</h2><p>${sentence(40)}</p></body></html>`),
      });
    } else if (slot < 19) {
      out.push({
        path: `/media/${word}-${i}.png`,
        bytes: bytesWith(PNG_MAGIC, 200 + Math.floor(random() * 2000), random),
      });
    } else {
      out.push({
        path: `/archive/${word}-${i}.zip`,
        bytes: bytesWith(ZIP_MAGIC, 500 + Math.floor(random() * 4000), random),
      });
    }
  }
  return out;
}

/** A query over the filler with what it means: the words its user wants (the last one maybe as a prefix). */
export interface JudgedQuery {
  kind: "common word" | "rare word" | "two words" | "prefix as typed" | "typo";
  q: string;
  /** The intended words: a typo's correct word; for a prefix query the last one is the prefix. */
  intended: string[];
  prefix: boolean;
}

/** Typical queries over the filler: a common word, a rare one, two words, a prefix, a typo. */
export function judgedQueries(seed = 99, n = 50): JudgedQuery[] {
  const random = rng(seed);
  const pick = (from: number, to: number) => FILLER_WORDS[from + Math.floor(random() * (to - from))] as string;
  const queries: JudgedQuery[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 5;
    if (kind === 0) {
      const w = pick(0, 40);
      queries.push({ kind: "common word", q: w, intended: [w], prefix: false });
    } else if (kind === 1) {
      const w = pick(400, 3000);
      queries.push({ kind: "rare word", q: w, intended: [w], prefix: false });
    } else if (kind === 2) {
      const ws = [pick(0, 200), pick(0, 600)];
      queries.push({ kind: "two words", q: ws.join(" "), intended: ws, prefix: false });
    } else if (kind === 3) {
      const p = pick(0, 1500).slice(0, 4);
      queries.push({ kind: "prefix as typed", q: p, intended: [p], prefix: true });
    } else {
      const w = pick(0, 800);
      const typo = `${w.slice(0, 2)}${w[3]}${w[2]}${w.slice(4)}`; // a transposition
      queries.push({ kind: "typo", q: typo, intended: [w], prefix: false });
    }
  }
  return queries;
}

export function fillerQueries(seed = 99, n = 50): string[] {
  return judgedQueries(seed, n).map((x) => x.q);
}

const WORDS = /[a-z0-9]+/g;

/** A file's words for judging: its name's, and its text's with their counts (binary files have no text). */
export function judgedWords(file: CorpusFile): { name: string[]; text: Map<string, number> } {
  const name = file.path.slice(file.path.lastIndexOf("/") + 1).toLowerCase();
  const text = new Map<string, number>();
  if (!/\.(png|zip|pdf)$/.test(name)) {
    for (const w of new TextDecoder().decode(file.bytes).toLowerCase().match(WORDS) ?? []) {
      text.set(w, (text.get(w) ?? 0) + 1);
    }
  }
  return { name: name.match(WORDS) ?? [], text };
}

/**
 * The graded relevance of a filler file to a judged query, decided from the generated file alone (never from the
 * search): 0 when an intended word is in neither its name nor its text; 3 when one is in its name; else 2 when
 * the intended words occur 3 times or more in the text, 1 below.
 */
export function judge(file: { name: string[]; text: Map<string, number> }, query: JudgedQuery): number {
  let inName = false;
  let occurrences = 0;
  for (const [i, w] of query.intended.entries()) {
    const asPrefix = query.prefix && i === query.intended.length - 1;
    const named = asPrefix ? file.name.some((x) => x.startsWith(w)) : file.name.includes(w);
    let count = 0;
    if (asPrefix) {
      for (const [x, n] of file.text) if (x.startsWith(w)) count += n;
    } else count = file.text.get(w) ?? 0;
    if (!named && count === 0) return 0;
    inName ||= named;
    occurrences += count;
  }
  if (inName) return 3;
  return occurrences >= 3 ? 2 : 1;
}

/** nDCG@k of a ranked list of grades, against every grade the corpus holds for the query (gain 2^g - 1). */
export function ndcg(ranked: readonly number[], gradeCounts: readonly number[], k = 10): number {
  const dcg = (grades: readonly number[]) =>
    grades.slice(0, k).reduce((sum, g, i) => sum + (2 ** g - 1) / Math.log2(i + 2), 0);
  const ideal: number[] = [];
  for (let g = gradeCounts.length - 1; g > 0 && ideal.length < k; g--) {
    for (let n = 0; n < (gradeCounts[g] ?? 0) && ideal.length < k; n++) ideal.push(g);
  }
  const best = dcg(ideal);
  return best === 0 ? 1 : dcg(ranked) / best;
}

// What a file is: its media type from the content's magic bytes first, then its extension, then a look at the bytes;
// the client's Content-Type only breaks a tie it cannot win alone. Plus its category and programming language.

export const CATEGORIES = ["code", "document", "data", "media", "archive", "other"] as const;
export type Category = (typeof CATEGORIES)[number];

interface ExtensionInfo {
  mediaType: string;
  category: Category;
  language?: string;
}

const code = (mediaType: string, language: string): ExtensionInfo => ({ mediaType, category: "code", language });
const doc = (mediaType: string): ExtensionInfo => ({ mediaType, category: "document" });
const data = (mediaType: string): ExtensionInfo => ({ mediaType, category: "data" });
const media = (mediaType: string): ExtensionInfo => ({ mediaType, category: "media" });
const archive = (mediaType: string): ExtensionInfo => ({ mediaType, category: "archive" });

/** Extension (lower case, no dot) → what it is. Source files name their language. */
const EXTENSIONS: Readonly<Record<string, ExtensionInfo>> = {
  ts: code("text/x-typescript", "typescript"),
  tsx: code("text/x-typescript", "typescript"),
  mts: code("text/x-typescript", "typescript"),
  cts: code("text/x-typescript", "typescript"),
  js: code("text/javascript", "javascript"),
  mjs: code("text/javascript", "javascript"),
  cjs: code("text/javascript", "javascript"),
  jsx: code("text/javascript", "javascript"),
  py: code("text/x-python", "python"),
  go: code("text/x-go", "go"),
  rs: code("text/x-rust", "rust"),
  java: code("text/x-java", "java"),
  kt: code("text/x-kotlin", "kotlin"),
  c: code("text/x-c", "c"),
  h: code("text/x-c", "c"),
  cpp: code("text/x-c++", "cpp"),
  cc: code("text/x-c++", "cpp"),
  hpp: code("text/x-c++", "cpp"),
  cs: code("text/x-csharp", "csharp"),
  rb: code("text/x-ruby", "ruby"),
  php: code("text/x-php", "php"),
  swift: code("text/x-swift", "swift"),
  scala: code("text/x-scala", "scala"),
  sh: code("text/x-shellscript", "shell"),
  bash: code("text/x-shellscript", "shell"),
  sql: code("application/sql", "sql"),
  css: code("text/css", "css"),
  scss: code("text/x-scss", "scss"),
  html: code("text/html", "html"),
  htm: code("text/html", "html"),
  vue: code("text/x-vue", "vue"),
  svelte: code("text/x-svelte", "svelte"),
  lua: code("text/x-lua", "lua"),
  dart: code("text/x-dart", "dart"),
  zig: code("text/x-zig", "zig"),
  ex: code("text/x-elixir", "elixir"),
  hs: code("text/x-haskell", "haskell"),
  txt: doc("text/plain"),
  md: doc("text/markdown"),
  markdown: doc("text/markdown"),
  rst: doc("text/x-rst"),
  tex: doc("text/x-tex"),
  pdf: doc("application/pdf"),
  doc: doc("application/msword"),
  docx: doc("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
  odt: doc("application/vnd.oasis.opendocument.text"),
  rtf: doc("application/rtf"),
  epub: doc("application/epub+zip"),
  pptx: doc("application/vnd.openxmlformats-officedocument.presentationml.presentation"),
  json: data("application/json"),
  jsonl: data("application/x-ndjson"),
  ndjson: data("application/x-ndjson"),
  csv: data("text/csv"),
  tsv: data("text/tab-separated-values"),
  yaml: data("application/yaml"),
  yml: data("application/yaml"),
  xml: data("application/xml"),
  toml: data("application/toml"),
  ini: data("text/plain"),
  xlsx: data("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
  xls: data("application/vnd.ms-excel"),
  parquet: data("application/vnd.apache.parquet"),
  sqlite: data("application/vnd.sqlite3"),
  db: data("application/vnd.sqlite3"),
  png: media("image/png"),
  jpg: media("image/jpeg"),
  jpeg: media("image/jpeg"),
  gif: media("image/gif"),
  webp: media("image/webp"),
  svg: media("image/svg+xml"),
  bmp: media("image/bmp"),
  ico: media("image/vnd.microsoft.icon"),
  tif: media("image/tiff"),
  tiff: media("image/tiff"),
  avif: media("image/avif"),
  heic: media("image/heic"),
  mp3: media("audio/mpeg"),
  wav: media("audio/wav"),
  flac: media("audio/flac"),
  ogg: media("audio/ogg"),
  m4a: media("audio/mp4"),
  aac: media("audio/aac"),
  mp4: media("video/mp4"),
  mov: media("video/quicktime"),
  mkv: media("video/x-matroska"),
  webm: media("video/webm"),
  avi: media("video/x-msvideo"),
  zip: archive("application/zip"),
  tar: archive("application/x-tar"),
  gz: archive("application/gzip"),
  tgz: archive("application/gzip"),
  bz2: archive("application/x-bzip2"),
  xz: archive("application/x-xz"),
  zst: archive("application/zstd"),
  "7z": archive("application/x-7z-compressed"),
  rar: archive("application/vnd.rar"),
  jar: archive("application/java-archive"),
};

/** Whole file names that say what they are without an extension. */
const NAMED: Readonly<Record<string, ExtensionInfo>> = {
  dockerfile: code("text/x-dockerfile", "dockerfile"),
  makefile: code("text/x-makefile", "makefile"),
  license: doc("text/plain"),
  licence: doc("text/plain"),
  copying: doc("text/plain"),
  readme: doc("text/plain"),
};

/** Media types whose content is text that may be indexed (beside text/*). */
const TEXT_APPLICATION_TYPES = new Set([
  "application/json",
  "application/x-ndjson",
  "application/yaml",
  "application/xml",
  "application/toml",
  "application/sql",
]);

export function isTextType(mediaType: string): boolean {
  return mediaType.startsWith("text/") || TEXT_APPLICATION_TYPES.has(mediaType) || mediaType.endsWith("+xml");
}

interface Magic {
  offset: number;
  bytes: readonly number[];
  mediaType: string;
  /** A second signature that must also be there (e.g. RIFF's form type at 8). */
  also?: { offset: number; bytes: readonly number[] };
}

const ascii = (s: string) => [...s].map((ch) => ch.charCodeAt(0));

/** Signatures of binary formats; a match means the bytes are not text whatever the name says. */
const MAGIC: readonly Magic[] = [
  { offset: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], mediaType: "image/png" },
  { offset: 0, bytes: [0xff, 0xd8, 0xff], mediaType: "image/jpeg" },
  { offset: 0, bytes: ascii("GIF8"), mediaType: "image/gif" },
  { offset: 0, bytes: ascii("RIFF"), mediaType: "image/webp", also: { offset: 8, bytes: ascii("WEBP") } },
  { offset: 0, bytes: ascii("RIFF"), mediaType: "audio/wav", also: { offset: 8, bytes: ascii("WAVE") } },
  { offset: 0, bytes: ascii("RIFF"), mediaType: "video/x-msvideo", also: { offset: 8, bytes: ascii("AVI ") } },
  { offset: 0, bytes: ascii("BM"), mediaType: "image/bmp", also: { offset: 6, bytes: [0, 0, 0, 0] } },
  { offset: 0, bytes: [0x00, 0x00, 0x01, 0x00], mediaType: "image/vnd.microsoft.icon" },
  { offset: 0, bytes: [0x49, 0x49, 0x2a, 0x00], mediaType: "image/tiff" },
  { offset: 0, bytes: [0x4d, 0x4d, 0x00, 0x2a], mediaType: "image/tiff" },
  { offset: 0, bytes: ascii("%PDF-"), mediaType: "application/pdf" },
  { offset: 0, bytes: [0x50, 0x4b, 0x03, 0x04], mediaType: "application/zip" },
  { offset: 0, bytes: [0x50, 0x4b, 0x05, 0x06], mediaType: "application/zip" },
  { offset: 0, bytes: [0x1f, 0x8b], mediaType: "application/gzip" },
  { offset: 0, bytes: ascii("BZh"), mediaType: "application/x-bzip2" },
  { offset: 0, bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], mediaType: "application/x-xz" },
  { offset: 0, bytes: [0x28, 0xb5, 0x2f, 0xfd], mediaType: "application/zstd" },
  { offset: 0, bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], mediaType: "application/x-7z-compressed" },
  { offset: 0, bytes: ascii("Rar!"), mediaType: "application/vnd.rar" },
  { offset: 257, bytes: ascii("ustar"), mediaType: "application/x-tar" },
  { offset: 0, bytes: ascii("ID3"), mediaType: "audio/mpeg" },
  { offset: 0, bytes: [0xff, 0xfb], mediaType: "audio/mpeg" },
  { offset: 0, bytes: ascii("fLaC"), mediaType: "audio/flac" },
  { offset: 0, bytes: ascii("OggS"), mediaType: "audio/ogg" },
  { offset: 4, bytes: ascii("ftyp"), mediaType: "video/mp4" },
  { offset: 0, bytes: [0x1a, 0x45, 0xdf, 0xa3], mediaType: "video/x-matroska" },
  { offset: 0, bytes: [0x7f, 0x45, 0x4c, 0x46], mediaType: "application/x-elf" },
  { offset: 0, bytes: ascii("MZ"), mediaType: "application/vnd.microsoft.portable-executable" },
  { offset: 0, bytes: [0x00, 0x61, 0x73, 0x6d], mediaType: "application/wasm" },
  { offset: 0, bytes: ascii("SQLite format 3"), mediaType: "application/vnd.sqlite3" },
  { offset: 0, bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], mediaType: "application/x-ole-storage" },
];

/** Containers whose extension names the format inside more precisely than the signature can. */
const REFINES: Readonly<Record<string, readonly string[]>> = {
  "application/zip": ["docx", "xlsx", "pptx", "odt", "epub", "jar"],
  "application/gzip": ["tgz"],
  "application/x-ole-storage": ["doc", "xls"],
  "video/mp4": ["m4a", "mov", "avif", "heic"],
  "video/x-matroska": ["webm", "mkv"],
};

const at = (bytes: Uint8Array, offset: number, sig: readonly number[]) =>
  bytes.length >= offset + sig.length && sig.every((b, i) => bytes[offset + i] === b);

/** The media type the first bytes prove, if any. */
export function sniffMagic(bytes: Uint8Array): string | null {
  for (const m of MAGIC) {
    if (at(bytes, m.offset, m.bytes) && (!m.also || at(bytes, m.also.offset, m.also.bytes))) return m.mediaType;
  }
  return null;
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot <= 0 || dot === name.length - 1) return "";
  return name.slice(dot + 1).toLowerCase();
}

function infoByName(name: string): ExtensionInfo | undefined {
  const ext = extensionOf(name);
  return (ext ? EXTENSIONS[ext] : undefined) ?? NAMED[name.toLowerCase().replace(/\.(md|txt)$/, "")];
}

function categoryOfType(mediaType: string): Category {
  if (/^(image|audio|video)\//.test(mediaType)) return "media";
  for (const info of Object.values(EXTENSIONS)) if (info.mediaType === mediaType) return info.category;
  return isTextType(mediaType) ? "document" : "other";
}

export interface MediaFacts {
  mediaType: string;
  /** What the magic bytes said, or null. */
  magicType: string | null;
  category: Category;
  language: string | null;
  extension: string;
}

/**
 * `looksText`: whether the bytes decode as text (src/lib/files/text.ts); `clientType`: the request's Content-Type,
 * used only for a file that neither its signature nor its name explains.
 */
export function describe(name: string, magicType: string | null, looksText: boolean, clientType?: string): MediaFacts {
  const extension = extensionOf(name);
  const byName = infoByName(name);
  if (magicType) {
    const refined = REFINES[magicType]?.includes(extension) ? byName : undefined;
    const mediaType = refined?.mediaType ?? magicType;
    return {
      mediaType,
      magicType,
      category: refined?.category ?? categoryOfType(mediaType),
      language: null,
      extension,
    };
  }
  if (byName && (looksText || !isTextType(byName.mediaType))) {
    return { ...byName, language: byName.language ?? null, magicType: null, extension };
  }
  if (looksText) {
    const hinted = clientType && isTextType(clientType) ? clientType : "text/plain";
    return { mediaType: hinted, magicType: null, category: categoryOfType(hinted), language: null, extension };
  }
  const hinted = clientType && !isTextType(clientType) && /^[\w.+-]+\/[\w.+-]+$/.test(clientType) ? clientType : null;
  const mediaType = hinted ?? "application/octet-stream";
  return { mediaType, magicType: null, category: categoryOfType(mediaType), language: null, extension };
}

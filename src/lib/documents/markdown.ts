// Markdown through marked's lexer (CommonMark and GFM tables): headings, paragraphs, list items and tables.
import { Lexer, type Token } from "marked";
import type { DocumentBuilder, DocumentPart } from "./model";
import { squash } from "./xml";

export function extractMarkdown(source: string, doc: DocumentBuilder): string | undefined {
  const part = doc.part("section");
  if (!part) return undefined;
  let title: string | undefined;
  const walk = (tokens: Token[]): boolean => {
    for (const token of tokens) {
      if (!add(token, part, doc)) return false;
      if (token.type === "heading" && token.depth === 1) title ??= squash(token.text);
      if (token.type === "list") for (const item of token.items) if (!walk(item.tokens ?? [])) return false;
      if (token.type === "blockquote" && !walk(token.tokens ?? [])) return false;
    }
    return true;
  };
  walk(new Lexer({ gfm: true }).lex(source));
  return title;
}

function add(token: Token, part: DocumentPart, doc: DocumentBuilder): boolean {
  switch (token.type) {
    case "heading":
      return doc.add(part, { type: "heading", level: token.depth, text: squash(plain(token.text)) });
    case "paragraph":
    case "text":
    case "code":
      return doc.add(part, { type: "paragraph", text: squash(plain(token.text)) });
    case "table":
      return doc.add(part, {
        type: "table",
        rows: [
          token.header.map((c: { text: string }) => squash(plain(c.text))),
          ...token.rows.map((r: { text: string }[]) => r.map((c) => squash(plain(c.text)))),
        ],
      });
    default:
      return true;
  }
}

/** Inline markup reduced to its words: links keep their text, emphasis and code marks go. */
const plain = (text: string) =>
  text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[*_`~]+/g, "")
    .replace(/<[^>]+>/g, "");

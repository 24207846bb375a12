// HTML: what a reader sees, as headings, paragraphs and tables. Scripts, styles and templates are never text.
import type { DocumentBuilder } from "./model";
import { squash, walkXml } from "./xml";

const HIDDEN = new Set(["script", "style", "noscript", "template", "head", "svg", "iframe", "object"]);
/** Elements that end a run of text: each becomes its own paragraph. */
const BLOCK = new Set(["p", "div", "li", "dt", "dd", "blockquote", "pre", "section", "article", "br", "hr", "main"]);

export function extractHtml(source: string, doc: DocumentBuilder): string | undefined {
  const part = doc.part("section");
  if (!part) return undefined;
  let hidden = 0;
  let heading = 0;
  let text = "";
  let title = "";
  let inTitle = false;
  let rows: string[][] | null = null;
  let cell: string | null = null;
  let full = false;

  const flush = () => {
    const t = squash(text);
    text = "";
    if (!t || full) return;
    if (cell !== null) cell += (cell ? " " : "") + t;
    else full = !doc.add(part, heading ? { type: "heading", level: heading, text: t } : { type: "paragraph", text: t });
  };

  walkXml(
    source,
    {
      open(name) {
        if (name === "title") inTitle = true;
        if (HIDDEN.has(name)) hidden++;
        if (hidden) return;
        const h = /^h([1-6])$/.exec(name);
        if (h || BLOCK.has(name)) flush();
        if (h) heading = Number(h[1]);
        else if (name === "table" && rows === null) rows = [];
        else if (name === "tr") rows?.push([]);
        else if ((name === "td" || name === "th") && rows) {
          flush();
          cell = "";
        }
      },
      text(t) {
        if (inTitle) title += t;
        else if (!hidden) text += t;
      },
      close(name) {
        if (name === "title") inTitle = false;
        if (HIDDEN.has(name)) {
          hidden = Math.max(0, hidden - 1);
          return;
        }
        if (hidden) return;
        if (/^h[1-6]$/.test(name)) {
          flush();
          heading = 0;
        } else if ((name === "td" || name === "th") && rows && cell !== null) {
          flush();
          rows.at(-1)?.push(cell);
          cell = null;
        } else if (name === "table" && rows) {
          if (!full) full = !doc.add(part, { type: "table", rows: rows.filter((r) => r.length > 0) });
          rows = null;
        } else if (BLOCK.has(name)) flush();
      },
    },
    true,
  );
  flush();
  return squash(title) || undefined;
}

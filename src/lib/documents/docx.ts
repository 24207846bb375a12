// DOCX: word/document.xml walked once. Headings come from paragraph styles (Heading1–6, Title), tables keep their
// rows, and Word's rendered page breaks (and explicit ones) start a new page so positions match what a reader saw.
import { notFormat } from "./errors";
import type { DocumentBuilder, DocumentPart } from "./model";
import { coreTitle, squash, walkXml } from "./xml";
import { readZipText } from "./zip";

const HEADING_STYLE = /^(?:heading|berschrift|titre)\s*([1-6])$/i;

export function extractDocx(bytes: Uint8Array, doc: DocumentBuilder): string | undefined {
  const zip = readZipText(bytes, (n) => n === "word/document.xml" || n === "docProps/core.xml");
  const body = zip.get("word/document.xml");
  if (body === undefined) throw notFormat("DOCX");
  let page: DocumentPart | null = doc.part("page");
  let text = "";
  let level = 0;
  let pageBreakPending = false;
  // Tables nest (a table in a cell); only the outermost keeps rows, inner ones become cell text.
  let tableDepth = 0;
  let rows: string[][] = [];
  let cell = "";
  let full = false;
  let inText = false;

  const flushParagraph = () => {
    const t = squash(text);
    text = "";
    if (tableDepth > 0) {
      cell += (cell ? " " : "") + t;
    } else if (page && t && !full) {
      full = !doc.add(page, level ? { type: "heading", level, text: t } : { type: "paragraph", text: t });
    }
    level = 0;
    if (pageBreakPending && tableDepth === 0) {
      pageBreakPending = false;
      page = doc.part("page");
    }
  };

  walkXml(body, {
    open(name, a) {
      if (name === "w:pStyle") {
        const style = a["w:val"] ?? "";
        const m = HEADING_STYLE.exec(style);
        level = m ? Number(m[1]) : /^title$/i.test(style) ? 1 : level;
      } else if (name === "w:t") inText = true;
      else if (name === "w:tab") text += "\t";
      else if ((name === "w:br" && a["w:type"] === "page") || name === "w:lastRenderedPageBreak") {
        // A rendered break sits inside the paragraph that starts the new page: close the page before its text.
        if (name === "w:lastRenderedPageBreak" && !text.trim()) {
          if (tableDepth === 0 && page && page.blocks.length > 0) page = doc.part("page");
        } else pageBreakPending = true;
      } else if (name === "w:tbl") {
        if (tableDepth === 0) rows = [];
        tableDepth++;
      } else if (name === "w:tr" && tableDepth === 1) rows.push([]);
      else if (name === "w:tc" && tableDepth === 1) cell = "";
    },
    text(t) {
      if (inText) text += t;
    },
    close(name) {
      if (name === "w:t") inText = false;
      else if (name === "w:p") flushParagraph();
      else if (name === "w:tc" && tableDepth === 1) rows.at(-1)?.push(cell.trim());
      else if (name === "w:tbl") {
        tableDepth--;
        if (tableDepth === 0 && page && !full) full = !doc.add(page, { type: "table", rows });
      }
    },
  });
  return coreTitle(zip.get("docProps/core.xml"));
}

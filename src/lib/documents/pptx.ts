// PPTX: one part per slide in presentation order (the slide list, not file names), the title placeholder as
// its heading, text frames as paragraphs and tables as rows.
import { notFormat } from "./errors";
import type { DocumentBuilder } from "./model";
import { coreTitle, relationships, resolvePart, squash, walkXml } from "./xml";
import { readZipText } from "./zip";

export function extractPptx(bytes: Uint8Array, doc: DocumentBuilder): string | undefined {
  const zip = readZipText(
    bytes,
    (n) =>
      n === "ppt/presentation.xml" ||
      n === "ppt/_rels/presentation.xml.rels" ||
      n === "docProps/core.xml" ||
      /^ppt\/slides\/slide\d+\.xml$/.test(n),
  );
  const presentation = zip.get("ppt/presentation.xml");
  if (presentation === undefined) throw notFormat("PPTX");
  const rels = relationships(zip.get("ppt/_rels/presentation.xml.rels"));
  const order: string[] = [];
  walkXml(presentation, {
    open(name, a) {
      const target = a["r:id"] ? rels.get(a["r:id"]) : undefined;
      if (name === "p:sldId" && target) order.push(resolvePart("ppt", target));
    },
  });
  for (const path of order) {
    const xml = zip.get(path);
    if (xml === undefined) continue;
    const part = doc.part("slide");
    if (!part || !slide(xml, doc, part)) break;
  }
  return coreTitle(zip.get("docProps/core.xml"));
}

function slide(xml: string, doc: DocumentBuilder, part: NonNullable<ReturnType<DocumentBuilder["part"]>>): boolean {
  let isTitle = false;
  let text = "";
  let inText = false;
  let rows: string[][] | null = null;
  let cell = "";
  let ok = true;
  walkXml(xml, {
    open(name, a) {
      if (name === "p:sp") isTitle = false;
      else if (name === "p:ph") isTitle = a.type === "title" || a.type === "ctrTitle";
      else if (name === "a:t") inText = true;
      else if (name === "a:tbl") rows = [];
      else if (name === "a:tr") rows?.push([]);
      else if (name === "a:tc") cell = "";
    },
    text(t) {
      if (inText) text += t;
    },
    close(name) {
      if (name === "a:t") inText = false;
      else if (name === "a:p") {
        const t = squash(text);
        text = "";
        if (rows) cell += (cell ? " " : "") + t;
        else if (t && ok)
          ok = doc.add(part, isTitle ? { type: "heading", level: 1, text: t } : { type: "paragraph", text: t });
      } else if (name === "a:tc") rows?.at(-1)?.push(cell);
      else if (name === "a:tbl" && rows) {
        if (ok) ok = doc.add(part, { type: "table", rows });
        rows = null;
      }
    },
  });
  return ok;
}

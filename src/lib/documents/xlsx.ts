// XLSX: one part per sheet, named as in the workbook, each sheet one table. Cells are placed by their reference
// (A1, C7), so empty cells keep their columns; shared strings and inline strings are resolved.
import { notFormat } from "./errors";
import { DOCUMENT_LIMITS, type DocumentBuilder } from "./model";
import { coreTitle, relationships, resolvePart, walkXml } from "./xml";
import { readZipText } from "./zip";

export function extractXlsx(bytes: Uint8Array, doc: DocumentBuilder): string | undefined {
  const zip = readZipText(
    bytes,
    (n) =>
      n === "xl/workbook.xml" ||
      n === "xl/_rels/workbook.xml.rels" ||
      n === "xl/sharedStrings.xml" ||
      n === "docProps/core.xml" ||
      n.startsWith("xl/worksheets/"),
  );
  const workbook = zip.get("xl/workbook.xml");
  if (workbook === undefined) throw notFormat("XLSX");
  const rels = relationships(zip.get("xl/_rels/workbook.xml.rels"));
  const strings = sharedStrings(zip.get("xl/sharedStrings.xml"));
  const sheets: { name: string; path: string }[] = [];
  walkXml(workbook, {
    open(name, a) {
      const target = a["r:id"] ? rels.get(a["r:id"]) : undefined;
      if (name === "sheet" && target) sheets.push({ name: a.name ?? "", path: resolvePart("xl", target) });
    },
  });
  for (const sheet of sheets) {
    const xml = zip.get(sheet.path);
    if (xml === undefined) continue;
    const part = doc.part("sheet", sheet.name);
    if (!part) break;
    const rows = sheetRows(xml, strings);
    if (!doc.add(part, { type: "table", rows })) break;
  }
  return coreTitle(zip.get("docProps/core.xml"));
}

function sharedStrings(xml: string | undefined): string[] {
  const out: string[] = [];
  if (!xml) return out;
  let current: string | null = null;
  let inText = false;
  walkXml(xml, {
    open(name) {
      if (name === "si") current = "";
      else if (name === "t") inText = true;
    },
    text(t) {
      if (inText && current !== null) current += t;
    },
    close(name) {
      if (name === "t") inText = false;
      else if (name === "si") {
        out.push(current ?? "");
        current = null;
      }
    },
  });
  return out;
}

/** "C7" → 2 (zero-based column). */
function columnOf(ref: string | undefined, fallback: number): number {
  const letters = /^[A-Z]+/.exec(ref ?? "")?.[0];
  if (!letters) return fallback;
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 64);
  return Math.min(n - 1, 16_383); // XLSX's last column is XFD
}

function sheetRows(xml: string, strings: string[]): string[][] {
  const rows: string[][] = [];
  let row: string[] | null = null;
  let column = 0;
  let type = "";
  let value = "";
  let capture = false;
  walkXml(xml, {
    open(name, a) {
      if (name === "row") {
        row = rows.length < DOCUMENT_LIMITS.maxRowsPerTable ? [] : null;
        column = 0;
      } else if (name === "c") {
        column = columnOf(a.r, column);
        type = a.t ?? "n";
        value = "";
      } else if (name === "v" || name === "t") capture = true;
    },
    text(t) {
      if (capture) value += t;
    },
    close(name) {
      if (name === "v" || name === "t") capture = false;
      else if (name === "c" && row) {
        const text =
          type === "s" ? (strings[Number(value)] ?? "") : type === "b" ? (value === "1" ? "TRUE" : "FALSE") : value;
        while (row.length < column) row.push("");
        row[column] = text;
        column++;
      } else if (name === "row" && row) {
        if (row.some((c) => c !== "")) rows.push(row);
        row = null;
      }
    },
  });
  return rows;
}

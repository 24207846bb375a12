// CSV (and TSV): one sheet, one table, parsed by Papa Parse (quotes, embedded newlines, delimiter detection).
import Papa from "papaparse";
import { DOCUMENT_LIMITS, type DocumentBuilder } from "./model";

export function extractCsv(source: string, doc: DocumentBuilder): undefined {
  const part = doc.part("sheet");
  if (!part) return undefined;
  const parsed = Papa.parse<string[]>(source, { preview: DOCUMENT_LIMITS.maxRowsPerTable, skipEmptyLines: true });
  doc.add(part, { type: "table", rows: parsed.data.map((row) => row.map((cell) => cell.trim())) });
  return undefined;
}

// A PDF page's positioned text items turned into reading-order blocks. PDFs have no paragraphs or tables, only
// glyph runs at coordinates: lines are items that share a baseline; a line much larger than the page's body text
// is a heading; runs of lines whose cells sit apart at the same columns are a table; the rest join into paragraphs.
import type { DocumentBlock } from "../../src/lib/documents/model";

export interface TextItem {
  str: string;
  x: number;
  y: number;
  width: number;
  fontSize: number;
}

interface Cell {
  x: number;
  /** Where the cell's last run ends: the next run joins the cell if it starts close to here. */
  end: number;
  text: string;
}

interface Line {
  y: number;
  size: number;
  cells: Cell[];
}

/** The body text's size: the font size that carries the most characters on the page. */
function bodySize(all: Line[]): number {
  const chars = new Map<number, number>();
  for (const l of all) {
    const size = Math.round(l.size * 2) / 2;
    chars.set(size, (chars.get(size) ?? 0) + l.cells.reduce((n, c) => n + c.text.length, 0));
  }
  return [...chars].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 10;
}

/** Items on one baseline (within half a font size), left to right; a gap wider than 1.5 ems starts a new cell. */
function lines(items: TextItem[]): Line[] {
  const visible = items.filter((i) => i.str.trim() !== "");
  visible.sort((a, b) => b.y - a.y || a.x - b.x);
  const out: Line[] = [];
  for (const item of visible) {
    const size = item.fontSize || 10;
    const cell: Cell = { x: item.x, end: item.x + item.width, text: item.str };
    const last = out.at(-1);
    if (!last || Math.abs(last.y - item.y) > Math.max(last.size, size) * 0.5) {
      out.push({ y: item.y, size, cells: [cell] });
      continue;
    }
    last.size = Math.max(last.size, size);
    const prev = last.cells.at(-1) as Cell;
    if (item.x - prev.end > size * 1.5) {
      last.cells.push(cell);
    } else {
      prev.text += (item.x - prev.end > size * 0.15 ? " " : "") + item.str;
      prev.end = cell.end;
    }
  }
  for (const line of out) for (const c of line.cells) c.text = c.text.replace(/\s+/g, " ").trim();
  return out;
}

const sameColumns = (a: Line, b: Line, tolerance: number) =>
  a.cells.length === b.cells.length && a.cells.every((c, i) => Math.abs(c.x - (b.cells[i]?.x ?? 0)) <= tolerance);

export function layoutPage(items: TextItem[]): DocumentBlock[] {
  const all = lines(items);
  if (all.length === 0) return [];
  const body = bodySize(all);
  const blocks: DocumentBlock[] = [];
  let paragraph: string[] = [];
  let lastY = Number.POSITIVE_INFINITY;
  const flush = () => {
    if (paragraph.length) blocks.push({ type: "paragraph", text: paragraph.join(" ") });
    paragraph = [];
  };
  for (let i = 0; i < all.length; i++) {
    const line = all[i] as Line;
    if (line.cells.length >= 2) {
      let j = i;
      while (j + 1 < all.length && sameColumns(line, all[j + 1] as Line, body * 2)) j++;
      if (j > i) {
        flush();
        blocks.push({ type: "table", rows: all.slice(i, j + 1).map((l) => l.cells.map((c) => c.text)) });
        i = j;
        lastY = (all[j] as Line).y;
        continue;
      }
    }
    const text = line.cells.map((c) => c.text).join(" ");
    if (line.size >= body * 1.3) {
      flush();
      blocks.push({ type: "heading", level: line.size >= body * 1.8 ? 1 : 2, text });
    } else {
      if (lastY - line.y > line.size * 1.8) flush();
      paragraph.push(text);
    }
    lastY = line.y;
  }
  flush();
  return blocks;
}

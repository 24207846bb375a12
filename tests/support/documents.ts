// Office documents and PDFs the tests write themselves: the smallest files each format's readers accept, with
// known text, headings, tables and page breaks, plus the hostile ones (a zip bomb, an encrypted or corrupt PDF).
import { strToU8, zipSync } from "fflate";
import { PDFDocument, StandardFonts } from "pdf-lib";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';

export type DocxBlock = { heading: string; level?: number } | { text: string } | { table: string[][] } | "pagebreak";

export function docx(blocks: DocxBlock[], title?: string): Uint8Array {
  const body = blocks
    .map((b) => {
      if (b === "pagebreak") return '<w:p><w:r><w:br w:type="page"/></w:r></w:p>';
      if ("heading" in b)
        return `<w:p><w:pPr><w:pStyle w:val="Heading${b.level ?? 1}"/></w:pPr><w:r><w:t>${esc(b.heading)}</w:t></w:r></w:p>`;
      if ("text" in b) return `<w:p><w:r><w:t xml:space="preserve">${esc(b.text)}</w:t></w:r></w:p>`;
      const rows = b.table
        .map((r) => `<w:tr>${r.map((c) => `<w:tc><w:p><w:r><w:t>${esc(c)}</w:t></w:r></w:p></w:tc>`).join("")}</w:tr>`)
        .join("");
      return `<w:tbl>${rows}</w:tbl>`;
    })
    .join("");
  return zipSync({
    "[Content_Types].xml": strToU8("<Types/>"),
    "word/document.xml": strToU8(`<?xml version="1.0"?><w:document ${W}><w:body>${body}</w:body></w:document>`),
    ...(title
      ? {
          "docProps/core.xml": strToU8(
            `<cp:coreProperties xmlns:cp="c" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>${esc(title)}</dc:title></cp:coreProperties>`,
          ),
        }
      : {}),
  });
}

export function xlsx(sheets: { name: string; rows: (string | number)[][] }[]): Uint8Array {
  const strings: string[] = [];
  const files: Record<string, Uint8Array> = {};
  const cellRef = (r: number, c: number) => `${String.fromCharCode(65 + c)}${r + 1}`;
  sheets.forEach((sheet, i) => {
    const rows = sheet.rows
      .map(
        (row, r) =>
          `<row r="${r + 1}">${row
            .map((v, c) => {
              if (typeof v === "number") return `<c r="${cellRef(r, c)}"><v>${v}</v></c>`;
              strings.push(v);
              return `<c r="${cellRef(r, c)}" t="s"><v>${strings.length - 1}</v></c>`;
            })
            .join("")}</row>`,
      )
      .join("");
    files[`xl/worksheets/sheet${i + 1}.xml`] = strToU8(`<worksheet><sheetData>${rows}</sheetData></worksheet>`);
  });
  files["xl/workbook.xml"] = strToU8(
    `<workbook xmlns:r="r"><sheets>${sheets.map((s, i) => `<sheet name="${esc(s.name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join("")}</sheets></workbook>`,
  );
  files["xl/_rels/workbook.xml.rels"] = strToU8(
    `<Relationships>${sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Target="worksheets/sheet${i + 1}.xml"/>`).join("")}</Relationships>`,
  );
  files["xl/sharedStrings.xml"] = strToU8(`<sst>${strings.map((s) => `<si><t>${esc(s)}</t></si>`).join("")}</sst>`);
  return zipSync(files);
}

export function pptx(slides: { title: string; lines: string[] }[]): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  slides.forEach((s, i) => {
    files[`ppt/slides/slide${i + 1}.xml`] = strToU8(
      `<p:sld><p:cSld><p:spTree><p:sp><p:nvSpPr><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>${esc(s.title)}</a:t></a:r></a:p></p:txBody></p:sp><p:sp><p:txBody>${s.lines.map((l) => `<a:p><a:r><a:t>${esc(l)}</a:t></a:r></a:p>`).join("")}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>`,
    );
  });
  // Listed in reverse file order on purpose: reading order comes from the slide list, not from file names.
  const order = slides.map((_, i) => i).reverse();
  files["ppt/presentation.xml"] = strToU8(
    `<p:presentation xmlns:r="r"><p:sldIdLst>${order.map((i) => `<p:sldId id="${256 + i}" r:id="rId${i + 1}"/>`).join("")}</p:sldIdLst></p:presentation>`,
  );
  files["ppt/_rels/presentation.xml.rels"] = strToU8(
    `<Relationships>${slides.map((_, i) => `<Relationship Id="rId${i + 1}" Target="slides/slide${i + 1}.xml"/>`).join("")}</Relationships>`,
  );
  return zipSync(files);
}

/** A DOCX whose document.xml inflates to `bytes` of spaces from a few kilobytes. */
/** An EPUB whose spine orders the chapters differently from their file names; a nav page kept out of the spine. */
export function epub(chapters: { heading: string; paragraphs: string[] }[], title: string): Uint8Array {
  const files: Record<string, Uint8Array> = {
    mimetype: strToU8("application/epub+zip"),
    "META-INF/container.xml": strToU8(
      '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
    ),
    "OEBPS/nav.xhtml": strToU8("<html><body><nav><p>Table of contents</p></nav></body></html>"),
  };
  // Chapter n is stored as text/ch-<count-n>.xhtml: reading by name would reverse them.
  const items = chapters.map((c, n) => {
    const href = `text/ch-${chapters.length - n}.xhtml`;
    files[`OEBPS/${href}`] = strToU8(
      `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>${esc(c.heading)}</title></head><body><h1>${esc(c.heading)}</h1>${c.paragraphs.map((p) => `<p>${esc(p)}</p>`).join("")}</body></html>`,
    );
    return { id: `c${n}`, href };
  });
  files["OEBPS/content.opf"] = strToU8(
    `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>${esc(title)}</dc:title></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>${items.map((i) => `<item id="${i.id}" href="${i.href}" media-type="application/xhtml+xml"/>`).join("")}</manifest><spine><itemref idref="nav" linear="no"/>${items.map((i) => `<itemref idref="${i.id}"/>`).join("")}</spine></package>`,
  );
  return zipSync(files, { level: 6 });
}

export function zipBombDocx(bytes: number): Uint8Array {
  const filler = new Uint8Array(bytes).fill(0x20);
  return zipSync({ "word/document.xml": filler }, { level: 9 });
}

export interface PdfPageSpec {
  heading?: string;
  lines?: string[];
  table?: string[][];
  /** A PNG drawn as the whole page, with no text layer: a scan. */
  scan?: Uint8Array;
}

export async function pdf(pages: PdfPageSpec[], title?: string): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  if (title) doc.setTitle(title);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const spec of pages) {
    const page = doc.addPage([612, 792]);
    let y = 740;
    if (spec.heading) {
      page.drawText(spec.heading, { x: 56, y, size: 22, font });
      y -= 40;
    }
    for (const line of spec.lines ?? []) {
      page.drawText(line, { x: 56, y, size: 11, font });
      y -= 16;
    }
    y -= 20;
    for (const row of spec.table ?? []) {
      row.forEach((cell, c) => {
        page.drawText(cell, { x: 56 + c * 160, y, size: 11, font });
      });
      y -= 18;
    }
    if (spec.scan) {
      const image = await doc.embedPng(spec.scan);
      page.drawImage(image, { x: 56, y: 400, width: image.width, height: image.height });
    }
  }
  return doc.save({ useObjectStreams: false });
}

/** A PDF whose trailer names a standard security handler: readers must ask for a password. */
export async function encryptedPdf(): Promise<Uint8Array> {
  const plain = new TextDecoder("latin1").decode(await pdf([{ lines: ["secret"] }]));
  const hex = (n: number) => `<${"ab".repeat(n)}>`;
  const encrypt = `/Encrypt << /Filter /Standard /V 1 /R 2 /O ${hex(32)} /U ${hex(32)} /P -4 >> /ID [${hex(16)} ${hex(16)}]`;
  return new Uint8Array(Buffer.from(plain.replace(/trailer\s*<</, `trailer\n<< ${encrypt}`), "latin1"));
}

// EPUB: the chapters in reading order (the package's spine, not file names), each one a section read by the HTML
// reader; the title from the package's `dc:title`. The same guarded zip reader as the Office formats, so a bomb
// stops at the expanded-size limit (docs/documents.md).
import { notFormat } from "./errors";
import { extractHtml } from "./html";
import type { DocumentBuilder } from "./model";
import { coreTitle, resolvePart, walkXml } from "./xml";
import { readZipText } from "./zip";

const CONTAINER = "META-INF/container.xml";
const XHTML = new Set(["application/xhtml+xml", "text/html"]);

/** Where the package document is: container.xml's first rootfile. */
function packagePath(container: string | undefined): string {
  let path: string | undefined;
  if (container)
    walkXml(container, {
      open(name, a) {
        if (name === "rootfile" && a["full-path"]) path ??= a["full-path"];
      },
    });
  if (!path) throw notFormat("EPUB");
  return path;
}

/** The chapters' paths in spine order: manifest items by id, XHTML only. */
function spine(opf: string, folder: string): string[] {
  const manifest = new Map<string, { href: string; type: string }>();
  const order: string[] = [];
  walkXml(opf, {
    open(name, a) {
      if (name === "item" && a.id && a.href) manifest.set(a.id, { href: a.href, type: a["media-type"] ?? "" });
      else if (name === "itemref" && a.idref && a.linear !== "no") order.push(a.idref);
    },
  });
  return order.flatMap((id) => {
    const item = manifest.get(id);
    if (!item || !XHTML.has(item.type)) return [];
    let href = item.href.split("#")[0] ?? "";
    try {
      href = decodeURIComponent(href);
    } catch {
      return [];
    }
    return [resolvePart(folder, href)];
  });
}

export function extractEpub(bytes: Uint8Array, doc: DocumentBuilder): string | undefined {
  const opfPath = packagePath(readZipText(bytes, (n) => n === CONTAINER).get(CONTAINER));
  const opf = readZipText(bytes, (n) => n === opfPath).get(opfPath);
  if (opf === undefined) throw notFormat("EPUB");
  const chapters = spine(opf, opfPath.split("/").slice(0, -1).join("/"));
  const wanted = new Set(chapters);
  const files = readZipText(bytes, (n) => wanted.has(n));
  for (const path of chapters) {
    const xhtml = files.get(path);
    if (xhtml === undefined) continue;
    extractHtml(xhtml, doc);
    if (doc.truncated) break; // a limit was reached: the rest is left out, and the document says so
  }
  return coreTitle(opf);
}

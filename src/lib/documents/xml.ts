// One SAX walk for every XML and HTML format: htmlparser2 streams tags and text (entities decoded) without
// building a tree, so a large sheet or page costs its text, not a DOM.
import { Parser } from "htmlparser2";

interface SaxHandlers {
  open?(name: string, attributes: Record<string, string>): void;
  text?(text: string): void;
  close?(name: string): void;
}

export function walkXml(source: string, handlers: SaxHandlers, html = false): void {
  const parser = new Parser(
    {
      onopentag: (name, attributes) => handlers.open?.(name, attributes),
      ontext: (text) => handlers.text?.(text),
      onclosetag: (name) => handlers.close?.(name),
    },
    { xmlMode: !html, decodeEntities: true, lowerCaseTags: html },
  );
  parser.write(source);
  parser.end();
}

/** Collapses runs of whitespace, as a reader sees them. */
export const squash = (text: string) => text.replace(/\s+/g, " ").trim();

/** `target` of each relationship in an OOXML `.rels` part, by id. */
export function relationships(rels: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!rels) return out;
  walkXml(rels, {
    open(name, a) {
      if (name === "Relationship" && a.Id && a.Target) out.set(a.Id, a.Target);
    },
  });
  return out;
}

/** `dc:title` of an OOXML `docProps/core.xml`. */
export function coreTitle(core: string | undefined): string | undefined {
  if (!core) return undefined;
  let inTitle = false;
  let title = "";
  walkXml(core, {
    open: (name) => {
      if (name === "dc:title") inTitle = true;
    },
    text: (t) => {
      if (inTitle) title += t;
    },
    close: (name) => {
      if (name === "dc:title") inTitle = false;
    },
  });
  return squash(title) || undefined;
}

/** Resolves an OOXML relationship target against the folder of the part that names it. */
export function resolvePart(folder: string, target: string): string {
  if (target.startsWith("/")) return target.slice(1);
  const parts = folder.split("/").filter(Boolean);
  for (const step of target.split("/")) {
    if (step === "..") parts.pop();
    else if (step !== ".") parts.push(step);
  }
  return parts.join("/");
}

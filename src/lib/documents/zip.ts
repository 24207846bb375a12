// Reading the parts of a zip-based document (DOCX, XLSX, PPTX) without trusting its headers: entries are inflated
// as a stream and counted as they come, so a zip bomb stops at DOCUMENT_LIMITS.maxExpandedBytes whatever sizes
// its directory declares.
import { Unzip, UnzipInflate } from "fflate";
import { notFormat, refused } from "./errors";
import { DOCUMENT_LIMITS } from "./model";

const utf8 = new TextDecoder("utf-8");

/** The entries whose names `wanted` accepts, decoded as UTF-8 text. Throws 422 for a corrupt or oversized archive. */
export function readZipText(bytes: Uint8Array, wanted: (name: string) => boolean): Map<string, string> {
  const chunks = new Map<string, Uint8Array[]>();
  let expanded = 0;
  let entries = 0;
  let failure: Error | undefined;
  const unzip = new Unzip((file) => {
    entries++;
    if (entries > DOCUMENT_LIMITS.maxZipEntries) {
      failure ??= refused(`more than ${DOCUMENT_LIMITS.maxZipEntries} entries`);
      return;
    }
    if (!wanted(file.name) || failure) return;
    const parts: Uint8Array[] = [];
    chunks.set(file.name, parts);
    file.ondata = (err, data) => {
      if (failure) return;
      if (err) {
        failure = corrupt();
        return;
      }
      expanded += data.byteLength;
      if (expanded > DOCUMENT_LIMITS.maxExpandedBytes) {
        failure = refused(`it expands past ${DOCUMENT_LIMITS.maxExpandedBytes} bytes`);
        file.terminate();
        return;
      }
      parts.push(data);
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  try {
    // Fed in slices so that the expansion check runs between them rather than after one huge inflate.
    const step = 64 * 1024;
    for (let at = 0; at < bytes.byteLength && !failure; at += step) {
      unzip.push(bytes.subarray(at, Math.min(at + step, bytes.byteLength)), at + step >= bytes.byteLength);
    }
  } catch {
    failure ??= corrupt();
  }
  if (failure) throw failure;
  if (entries === 0) throw corrupt();
  const out = new Map<string, string>();
  for (const [name, parts] of chunks) out.set(name, utf8.decode(concat(parts)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const corrupt = () => notFormat("archive");

// Bytes this API serves but did not write (a user's upload, a GPU worker's artifact) may be HTML or SVG: these headers
// keep a browser from running them as a page of the API's origin, whatever media type they were stored with.
export function untrustedContentHeaders(filename: string): Record<string, string> {
  return {
    "Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(filename)}`,
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "X-Content-Type-Options": "nosniff",
  };
}

// Images the tests make themselves: text rendered with a system font (DejaVu, via sharp's SVG renderer).
import sharp from "sharp";

export async function renderText(text: string, opts: { width?: number; height?: number; size?: number } = {}) {
  const width = opts.width ?? 640;
  const height = opts.height ?? 140;
  const escaped = text.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="white"/>
    <text x="24" y="${Math.round(height / 2 + (opts.size ?? 44) / 3)}" font-family="DejaVu Sans" font-size="${opts.size ?? 44}" fill="black">${escaped}</text>
  </svg>`;
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
}

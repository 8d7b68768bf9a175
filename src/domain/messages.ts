export const PREVIEW_LENGTH = 140;

/** What an inbox row shows of a message: whitespace collapsed, the first 140 characters. */
export function messagePreview(body: string): string {
  return body.replace(/\s+/g, " ").trim().slice(0, PREVIEW_LENGTH);
}

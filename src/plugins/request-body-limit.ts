import { createGraphQLError, type Plugin } from "graphql-yoga";

const CONTENT_LENGTH = /^\d+$/;

// Yoga's own code and status (useContractErrorCodes turns the code into BAD_USER_INPUT). The
// connection closes after the answer: keeping it open would mean reading the rest of the body.
const tooLarge = () =>
  createGraphQLError("Request body too large", { extensions: { code: "REQUEST_ENTITY_TOO_LARGE", http: { status: 413, headers: { connection: "close" } } } });

/**
 * Refuses a request body over `limit` bytes with 413, in place of Yoga's `maxRequestBodySize`.
 * Yoga's pipes every body through a TransformStream and builds a new Request around it, 7 to 9%
 * of an inbox page's CPU over HTTP (bench/README.md). A body with a Content-Length needs no
 * counting: Node's HTTP parser reads exactly that many bytes, and refuses a malformed one or a
 * request that also says chunked. Any other body is counted while it is read.
 */
export function useRequestBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const length = request.headers.get("content-length");
      if (length !== null && CONTENT_LENGTH.test(length)) {
        if (Number(length) > limit) throw tooLarge();
        return;
      }
      if (!requestParser || !request.body) return;
      setRequestParser(async (unread) => {
        const reader = unread.body!.getReader();
        const chunks: Uint8Array[] = [];
        let read = 0;
        for (let next = await reader.read(); !next.done; next = await reader.read()) {
          read += next.value.byteLength;
          if (read > limit) {
            await reader.cancel();
            throw tooLarge();
          }
          chunks.push(next.value);
        }
        const body = Buffer.concat(chunks);
        return requestParser(new fetchAPI.Request(unread.url, { method: unread.method, headers: unread.headers, signal: unread.signal, body }));
      });
    },
  };
}

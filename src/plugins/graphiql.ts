import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { GraphiQLOptions, Plugin } from "graphql-yoga";

/** Where the gateway serves GraphiQL's scripts, styles, workers and icon. */
const GRAPHIQL_ASSET_PATH = "/graphiql/";

type Bytes = Uint8Array<ArrayBuffer>;

interface Asset {
  body: Bytes;
  gzipped?: Bytes;
  type: string;
}

export interface OfflineGraphiQL {
  /** Renders the page: a small HTML document that only references the gateway's own asset routes. */
  render(options: GraphiQLOptions): string;
  /** Serves the assets under GRAPHIQL_ASSET_PATH. */
  plugin: Plugin;
}

// Runs before GraphiQL's bundle: Monaco asks MonacoEnvironment for its worker scripts while the
// bundle starts, and the page's options travel as JSON (no inline script, so a strict CSP works).
const BOOT = `(function () {
  var read = function (id) { return JSON.parse(document.getElementById(id).textContent); };
  var workers = read("graphiql-workers");
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: function (_moduleId, label) { return workers[label]; } };
  window.addEventListener("DOMContentLoaded", function () {
    YogaGraphiQL.renderYogaGraphiQL(document.getElementById("root"), read("graphiql-options"));
  });
})();
`;

/**
 * GraphiQL with no internet. Yoga's stock page pulls GraphiQL from a CDN; the bundle of
 * @graphql-yoga/render-graphiql is self-contained but inlines 9 MB into every page load. This
 * serves the same bundle as separate, content-hashed files from the gateway (cached forever,
 * gzipped once on first use), so the page makes no request to any other host. Built once per
 * process: the bundle is immutable and gateways in one process (tests) share it.
 */
export function offlineGraphiQL(): Promise<OfflineGraphiQL> {
  return (shared ??= build());
}

let shared: Promise<OfflineGraphiQL> | undefined;

async function build(): Promise<OfflineGraphiQL> {
  const bundle = await import("@graphql-yoga/render-graphiql/graphiql");
  const assets = new Map<string, Asset>();
  const add = (name: string, ext: string, type: string, body: Bytes) => {
    const file = `${name}.${createHash("sha256").update(body).digest("hex").slice(0, 12)}.${ext}`;
    assets.set(file, { body, type });
    return GRAPHIQL_ASSET_PATH + file;
  };
  const text = (content: string): Bytes => new TextEncoder().encode(content);
  const dataUrl = /^data:([^;,]+);base64,(.*)$/s.exec(bundle.favicon);
  const urls = {
    boot: add("boot", "js", "text/javascript; charset=utf-8", text(BOOT)),
    js: add("graphiql", "js", "text/javascript; charset=utf-8", text(bundle.js)),
    css: add("graphiql", "css", "text/css; charset=utf-8", text(bundle.css)),
    favicon: dataUrl ? add("favicon", "ico", dataUrl[1]!, new Uint8Array(Buffer.from(dataUrl[2]!, "base64"))) : bundle.favicon,
    workers: {
      editorWorkerService: add("editor.worker", "js", "text/javascript; charset=utf-8", text(bundle.editorWorkerService)),
      json: add("json.worker", "js", "text/javascript; charset=utf-8", text(bundle.jsonWorker)),
      graphql: add("graphql.worker", "js", "text/javascript; charset=utf-8", text(bundle.graphqlWorker)),
    },
  };

  return {
    render(options) {
      const withIcon = { ...options, favicon: options.favicon ?? urls.favicon };
      return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? "GraphiQL")}</title>
    <link rel="icon" href="${escapeHtml(withIcon.favicon)}" />
    <link rel="stylesheet" href="${urls.css}" />
    <script type="application/json" id="graphiql-options">${jsonInHtml(withIcon)}</script>
    <script type="application/json" id="graphiql-workers">${jsonInHtml(urls.workers)}</script>
    <script src="${urls.boot}"></script>
    <script src="${urls.js}"></script>
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
  </body>
</html>
`;
    },
    plugin: {
      onRequest({ request, url, endResponse, fetchAPI }) {
        if (!url.pathname.startsWith(GRAPHIQL_ASSET_PATH)) return;
        const asset = request.method === "GET" || request.method === "HEAD" ? assets.get(url.pathname.slice(GRAPHIQL_ASSET_PATH.length)) : undefined;
        if (!asset) {
          endResponse(new fetchAPI.Response("not found", { status: 404, headers: { "content-type": "text/plain" } }));
          return;
        }
        const gzip = /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "");
        if (gzip) asset.gzipped ??= new Uint8Array(gzipSync(asset.body));
        const body = gzip ? asset.gzipped! : asset.body;
        endResponse(
          new fetchAPI.Response(request.method === "HEAD" ? null : body, {
            headers: {
              "content-type": asset.type,
              "content-length": String(body.length),
              // The name carries the content hash: a new bundle is a new URL.
              "cache-control": "public, max-age=31536000, immutable",
              vary: "accept-encoding",
              ...(gzip ? { "content-encoding": "gzip" } : {}),
            },
          }),
        );
      },
    },
  };
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that cannot end the surrounding <script> element early. */
function jsonInHtml(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

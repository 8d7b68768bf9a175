import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createGateway } from "../src/gateway.js";
import { startTestGateway, testConfig, type TestGateway } from "./helpers.js";

// The GraphiQL page and its assets through the whole gateway (yoga.fetch). The browser test
// (graphiql.browser.test.ts) shows the page working; this one pins what is served and when.
const html = { accept: "text/html" };

async function page(t: TestGateway) {
  const response = await t.gateway.fetch("/graphql", { headers: html });
  return { response, text: await response.text() };
}

function assetUrls(text: string): string[] {
  return [...text.matchAll(/(?:src|href)="([^"]+)"|"(\/graphiql\/[^"]+)"/g)].map((m) => m[1] ?? m[2]!);
}

describe("GraphiQL (default: on outside production)", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(() => t?.close());

  it("serves a small page that references only the gateway's own assets", async () => {
    const { response, text } = await page(t);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    expect(text.length).toBeLessThan(20_000);
    const urls = assetUrls(text);
    expect(urls.length).toBeGreaterThanOrEqual(5);
    for (const url of urls) expect(url).toMatch(/^\/graphiql\/[\w.-]+\.\w+$/);
    expect(text).not.toMatch(/https?:\/\//);
  });

  it("serves every asset with a long cache lifetime, gzipped on request", async () => {
    const { text } = await page(t);
    for (const url of assetUrls(text)) {
      const plain = await t.gateway.fetch(url);
      expect(plain.status, url).toBe(200);
      expect(plain.headers.get("cache-control")).toContain("immutable");
      const body = Buffer.from(await plain.arrayBuffer());
      expect(body.length, url).toBeGreaterThan(0);

      const zipped = await t.gateway.fetch(url, { headers: { "accept-encoding": "gzip, br" } });
      expect(zipped.headers.get("content-encoding")).toBe("gzip");
      // Buffer.equals: a deep equality over megabytes of bytes would take minutes.
      expect(gunzipSync(new Uint8Array(await zipped.arrayBuffer())).equals(body), url).toBe(true);
    }
  });

  it("answers an unknown asset with 404", async () => {
    expect((await t.gateway.fetch("/graphiql/graphiql.000000000000.js")).status).toBe(404);
    expect((await t.gateway.fetch("/graphiql/")).status).toBe(404);
  });

  // The development token is made for the demo admin, with the secret the gateway made for itself
  // (no JWT_SECRET): start a gateway like that on the seeded database.
  const withOwnSecret = () => createGateway(testConfig({ JWT_SECRET: "" }), { db: t.db });
  const optionsOf = (text: string) => JSON.parse(/<script type="application\/json" id="graphiql-options">(.*?)<\/script>/s.exec(text)![1]!);

  it("opens with the inbox example, its variables and the development token", async () => {
    const gateway = await withOwnSecret();
    try {
      expect(gateway.devToken).toBeTruthy();
      const options = optionsOf(await (await gateway.fetch("/graphql", { headers: html })).text());
      expect(options.defaultQuery).toMatch(/query InboxPage/);
      expect(JSON.parse(options.variables)).toMatchObject({ filter: { status: ["OPEN"] } });
      expect(JSON.parse(options.headers).Authorization).toMatch(/^Bearer \S+$/);
      expect(options.shouldPersistHeaders).toBe(false);
    } finally {
      await gateway.close();
    }
  });

  it("puts the token only in a page asked for by a loopback name: a rebound DNS name gets none", async () => {
    const gateway = await withOwnSecret();
    try {
      for (const host of ["localhost:4000", "127.0.0.1:4000", "[::1]:4000", "app.localhost:4000"]) {
        const options = optionsOf(await (await gateway.fetch(`http://${host}/graphql`, { headers: html })).text());
        expect(JSON.parse(options.headers).Authorization, host).toMatch(/^Bearer \S+$/);
      }
      for (const host of ["attacker.example:4000", "127.0.0.1.attacker.example", "devbox:4000"]) {
        const text = await (await gateway.fetch(`http://${host}/graphql`, { headers: html })).text();
        expect(optionsOf(text).defaultQuery, host).toMatch(/query InboxPage/);
        expect(text, host).not.toMatch(/Bearer/);
      }
    } finally {
      await gateway.close();
    }
  });

  it("issues no development token with a JWT_SECRET an operator set: it signs real tokens", async () => {
    const gateway = await createGateway(testConfig(), { db: t.db });
    try {
      expect(gateway.devToken).toBeNull();
      expect(await (await gateway.fetch("/graphql", { headers: html })).text()).not.toMatch(/Bearer/);
    } finally {
      await gateway.close();
    }
  });

  it("signs the page's token when the page is served: a gateway left running past the start token's 12 hours still opens GraphiQL ready to use", async () => {
    const gateway = await withOwnSecret();
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 13 * 3_600_000);
      const options = optionsOf(await (await gateway.fetch("/graphql", { headers: html })).text());
      const authorization = JSON.parse(options.headers).Authorization as string;
      expect(authorization).not.toBe(`Bearer ${gateway.devToken}`);
      const answer = await gateway.fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", authorization },
        body: JSON.stringify({ query: "{ viewer { id } }" }),
      });
      expect(((await answer.json()) as { data: { viewer: { id: string } } }).data.viewer.id).toMatch(/^agt_/);
      // The token printed at start has expired by now.
      const stale = await gateway.fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${gateway.devToken}` },
        body: JSON.stringify({ query: "{ viewer { id } }" }),
      });
      expect(stale.status).toBe(401);
    } finally {
      vi.useRealTimers();
      await gateway.close();
    }
  });
});

describe("GraphiQL settings", () => {
  it("GRAPHIQL=off serves no page and no assets; GraphQL still answers", async () => {
    const t = await startTestGateway({ config: { GRAPHIQL: "off" }, seed: { contacts: 3, conversations: 3 } });
    try {
      const { response, text } = await page(t);
      expect(text).not.toMatch(/graphiql/i);
      expect(response.headers.get("content-type") ?? "").not.toMatch(/text\/html/);
      expect((await t.gateway.fetch("/graphiql/graphiql.css")).status).toBe(404);
      expect((await t.gql("{ viewer { name } }")).data.viewer.name).toBeTruthy();
    } finally {
      await t.close();
    }
  });

  it("in production GraphiQL is off unless GRAPHIQL=on, and never carries a token", async () => {
    const prod = { NODE_ENV: "production", JWT_SECRET: "p".repeat(40) };
    const off = await startTestGateway({ config: prod, seed: false });
    try {
      expect((await page(off)).text).not.toMatch(/graphiql/i);
    } finally {
      await off.close();
    }
    const on = await startTestGateway({ config: { ...prod, GRAPHIQL: "on" }, seed: false });
    try {
      const { response, text } = await page(on);
      expect(response.status).toBe(200);
      expect(text).toContain("/graphiql/graphiql.");
      expect(text).not.toMatch(/Bearer/);
    } finally {
      await on.close();
    }
  });
});

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_SIZE } from "../src/db/seed.js";
import { copyOf, type DatabaseCopy } from "./database-templates.js";
import { seeded } from "./helpers.js";
import { startServerProcess, type ServerProcess } from "./server-process.js";

// GraphiQL in a real browser (Debian's chromium driven by playwright-core) against the real
// server process: every request the page makes must go to the gateway, and the prefilled example
// runs. Screenshots of each state land in test/artifacts/ (git-ignored).
const chromiumPath = process.env.CHROMIUM_PATH || whichChromium();
const skipReason = "chromium is not installed: `apt-get install chromium` (or set CHROMIUM_PATH) to run the GraphiQL browser test";
if (!chromiumPath) console.warn(`SKIPPED graphiql.browser.test.ts: ${skipReason}`);

const artifacts = path.resolve(import.meta.dirname, "artifacts");
const operations = new URL("../src/graphql/operations/", import.meta.url);
const INBOX = readFileSync(new URL("InboxPage.graphql", operations), "utf8");
const INBOX_VARIABLES = JSON.parse(readFileSync(new URL("InboxPage.variables.json", operations), "utf8"));

let server: ServerProcess;
let browser: Browser;
let database: DatabaseCopy<unknown> | undefined;

beforeAll(async () => {
  if (!chromiumPath) return;
  mkdirSync(artifacts, { recursive: true });
  // The demo workspace a first start seeds (test/process.test.ts sees a first start seed it), in a
  // database of its own: a PGlite folder, or one on the PostgreSQL server of that suite.
  database = await copyOf(...seeded(DEMO_SIZE));
  server = await startServerProcess({
    dataDir: database.dataDir ?? mkdtempSync(path.join(tmpdir(), "inbox-graphiql-")),
    env: database.url ? { DATABASE_URL: database.url } : {},
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (server && (await server.stop()) === null) server.child.kill("SIGKILL");
  await database?.remove();
});

/** A fresh browser page that records every request it makes and every script error. */
async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const requests: string[] = [];
  const failures: string[] = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("requestfailed", (request) => failures.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on("response", (response) => response.status() >= 400 && failures.push(`${response.url()}: HTTP ${response.status()}`));
  page.on("pageerror", (error) => failures.push(`script error: ${error.message}`));
  return { page, requests, failures };
}

/** The text Monaco shows in one of GraphiQL's editors (only the lines on screen are rendered). */
async function editorText(page: Page, selector: string): Promise<string> {
  const text = await page.locator(`${selector} .view-lines`).first().innerText();
  return text.replace(/\u00a0/g, " ");
}

/** GraphiQL's response, scrolled down until `text` is among the lines Monaco renders (those on screen), as far as the response goes. */
async function scrolledResponseTo(page: Page, text: string): Promise<string> {
  const box = (await page.locator(".graphiql-response .view-lines").first().boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height, 200) / 2);
  let shown = await editorText(page, ".graphiql-response");
  for (let step = 0; step < 20 && !shown.includes(text); step++) {
    await page.mouse.wheel(0, 300);
    await page.waitForTimeout(100);
    shown = await editorText(page, ".graphiql-response");
  }
  return shown;
}

/** An operation sent by the test itself, over HTTP with the development token. */
async function graphqlOverHttp(query: string, variables?: Record<string, unknown>) {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

async function inboxOverHttp(): Promise<{ id: string; contact: { fullName: string } }[]> {
  const { data } = await graphqlOverHttp(INBOX, INBOX_VARIABLES);
  return data.conversations.edges.map((edge: { node: { id: string; contact: { fullName: string } } }) => edge.node);
}

describe("GraphiQL in a real browser", () => {
  it.skipIf(!chromiumPath)(
    `loads with every asset from the gateway, the example, its variables and the dev token${chromiumPath ? "" : ` (SKIPPED: ${skipReason})`}`,
    async () => {
      const { page, requests, failures } = await openPage();
      await page.goto(server.url.toString());
      await expect.poll(() => editorText(page, ".graphiql-query-editor"), { timeout: 30_000 }).toContain("query InboxPage");
      // The schema arrives by introspection: the docs explorer can open it.
      await expect.poll(() => requests.filter((url) => url === server.url.toString()).length, { timeout: 30_000 }).toBeGreaterThan(1);

      const shownTool = ".graphiql-editor-tool .graphiql-editor:not(.hidden)";
      await page.locator(".graphiql-editor-tools button", { hasText: "Headers" }).click();
      // A token signed for this page (not the one printed at start, which expires).
      await expect.poll(() => editorText(page, shownTool)).toMatch(/"Authorization": "Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+"/);
      await page.locator(".graphiql-editor-tools button", { hasText: "Variables" }).click();
      await expect.poll(async () => JSON.parse(await editorText(page, shownTool))).toEqual(INBOX_VARIABLES);
      await page.screenshot({ path: path.join(artifacts, "graphiql-opened.png") });

      const origins = new Set(requests.map((url) => new URL(url).origin));
      // data: and blob: URLs are not requests to any host; everything else must be the gateway.
      const elsewhere = requests.filter((url) => !/^(data|blob):/.test(url) && new URL(url).origin !== server.url.origin);
      expect(elsewhere, `requests to other hosts: ${[...origins].join(", ")}`).toEqual([]);
      expect(requests.some((url) => url.includes("/graphiql/graphiql."))).toBe(true);
      expect(failures).toEqual([]);
      await page.close();
    },
    300_000,
  );

  it.skipIf(!chromiumPath)(
    `runs the prefilled example and shows conversation ids and contact names${chromiumPath ? "" : ` (SKIPPED: ${skipReason})`}`,
    async () => {
      const { page, requests, failures } = await openPage();
      await page.goto(server.url.toString());
      await expect.poll(() => editorText(page, ".graphiql-query-editor"), { timeout: 30_000 }).toContain("query InboxPage");
      await page.click(".graphiql-execute-button");
      await expect.poll(() => editorText(page, ".graphiql-response"), { timeout: 30_000 }).toContain('"totalCount"');

      const shown = await editorText(page, ".graphiql-response");
      expect(shown).not.toContain('"errors"');
      const [first, second] = await inboxOverHttp();
      expect(shown).toContain(`"id": "${first!.id}"`);
      expect(shown).toContain(`"fullName": "${first!.contact.fullName}"`);
      await page.screenshot({ path: path.join(artifacts, "graphiql-inbox.png") });
      // A long first record (a wrapped preview, labels) can push the second below the screen.
      expect(await scrolledResponseTo(page, `"id": "${second!.id}"`)).toContain(`"id": "${second!.id}"`);

      expect(requests.filter((url) => !/^(data|blob):/.test(url) && new URL(url).origin !== server.url.origin)).toEqual([]);
      expect(failures).toEqual([]);
      await page.close();
    },
    300_000,
  );

  it.skipIf(!chromiumPath)(
    `runs unreadTotals as a subscription and shows the new total after a delivery over HTTP${chromiumPath ? "" : ` (SKIPPED: ${skipReason})`}`,
    async () => {
      const { page, requests, failures } = await openPage();
      // GraphiQL takes the operation from ?query= (and keeps the example's headers).
      const subscription = "subscription UnreadBadge {\n  unreadTotals { unreadConversations unreadMessages }\n}\n";
      await page.goto(`${server.url}?query=${encodeURIComponent(subscription)}`);
      await expect.poll(() => editorText(page, ".graphiql-query-editor"), { timeout: 30_000 }).toContain("unreadTotals");
      await page.click(".graphiql-execute-button");
      const shownTotal = async () => Number(/"unreadMessages": (\d+)/.exec(await editorText(page, ".graphiql-response"))?.[1] ?? NaN);
      await expect.poll(shownTotal, { timeout: 30_000 }).not.toBeNaN();
      const before = await shownTotal();
      await page.screenshot({ path: path.join(artifacts, "graphiql-subscription-first.png") });

      const [conversation] = await inboxOverHttp();
      const delivered = await graphqlOverHttp(
        `mutation Deliver($input: ReceiveMessageInput!) { receiveMessage(input: $input) { conversation { unreadCount } } }`,
        { input: { conversationId: conversation!.id, externalId: `browser-test-${Date.now()}`, body: "Is anyone there?" } },
      );
      expect(delivered.errors).toBeUndefined();
      await expect.poll(shownTotal, { timeout: 30_000 }).toBe(before + 1);
      await page.screenshot({ path: path.join(artifacts, "graphiql-subscription.png") });

      expect(requests.filter((url) => !/^(data|blob):/.test(url) && new URL(url).origin !== server.url.origin)).toEqual([]);
      expect(failures).toEqual([]);
      await page.close();
    },
    300_000,
  );
});

function whichChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
    } catch {
      // not on PATH; try the next name
    }
  }
  return undefined;
}

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import { signAgentToken } from "../src/auth/tokens.js";
import { loadConfig } from "../src/config.js";
import { openDatabase, type Database } from "../src/db/client.js";
import { openPool } from "../src/db/prepared-statements.js";
import type { StatementRecord } from "../src/db/sql-observer.js";
import { createGateway } from "../src/gateway.js";
import { replayRequest, type Replay } from "./replay.js";
import { median } from "./stats.js";
import { BENCH_WORKSPACE_ID, LABELS, benchAgentId } from "./workspace.js";
import { freePort } from "../test/free-port.js";

/**
 * `npm run bench`: the dashboard's operations against a gateway process over HTTP (autocannon),
 * and for the read scenarios the same SQL straight through the same driver (the yardstick), and
 * served by a plain HTTP endpoint (the second yardstick).
 * Needs the workspace of `npm run bench:data` in DATABASE_URL. See bench/README.md.
 */
const HELP = `usage: npm run bench -- [options]
  --scenarios a,b       scenarios to run (default all): ${"inbox,filtered,deep,detail,counts,counts-filtered,writes"}
  --concurrency 1,10,50 concurrent clients (default 1,10,50)
  --duration 10         seconds per measurement (default 10)
  --warmup 2            seconds of warm-up per scenario, not measured (default 2)
  --rounds 1            measure each cell this many times, the yardstick and the gateway back to
                        back each time, and report medians (default 1)
  --no-raw              skip the yardsticks (the raw SQL, and the SQL behind a plain HTTP endpoint)
  --url URL             benchmark a running gateway (needs --token; no RSS, no process started)
  --token JWT           bearer token for --url
  --log-level warn      LOG_LEVEL of the started gateway (default warn)
  --out FILE            JSON results (default bench/results/<date>.json)
  --quick               --concurrency 10 --duration 3 --warmup 1 (under 2 minutes)
Environment: DATABASE_URL (PostgreSQL; else DATA_DIR for PGlite), DATABASE_POOL_SIZE, DATABASE_STATEMENT_CACHE_SIZE.`;

const { values: flags } = parseArgs({
  options: {
    scenarios: { type: "string" },
    concurrency: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    "no-raw": { type: "boolean", default: false },
    url: { type: "string" },
    token: { type: "string" },
    "log-level": { type: "string", default: "warn" },
    out: { type: "string" },
    quick: { type: "boolean", default: false },
    rounds: { type: "string", default: "1" },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}

const numbers = (raw: string) => raw.split(",").map((s) => {
  const n = Number(s.trim());
  if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${s}`);
  return n;
});
const concurrencies = numbers(flags.concurrency ?? (flags.quick ? "10" : "1,10,50"));
const durationS = numbers(flags.duration ?? (flags.quick ? "3" : "10"))[0];
const warmupS = Number(flags.warmup ?? (flags.quick ? "1" : "2"));
// This machine's speed drifts by 20 to 30% within minutes: a cell's yardstick and gateway run back
// to back, and repeated rounds give medians (bench/README.md).
const rounds = numbers(flags.rounds)[0];
const config = loadConfig({ ...process.env, SEED_DEMO_DATA: "never", LOG_LEVEL: "silent" });
const poolSize = config.DATABASE_POOL_SIZE;

// ---------------------------------------------------------------------------------------------
// Scenarios: an operation from bench/operations and how each request varies.

const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), "utf8");
const INBOX = operation("InboxPage");
const DETAIL = operation("ConversationDetail");
const SIDEBAR = operation("Sidebar");
const RECEIVE = operation("ReceiveMessage");
const STATUS = operation("UpdateConversationStatus");
const LABEL = operation("AddConversationLabels");

interface Body {
  query: string;
  variables: Record<string, unknown>;
}

interface Fixture {
  agentId: string;
  detailIds: string[];
  writeIds: string[];
  deepCursor: string;
}

interface Scenario {
  name: string;
  title: string;
  /** Whether the yardsticks run for it (scenarios 1, 2 and 4). */
  hasYardsticks: boolean;
  /** The i-th request's body; requests cycle through `samples` distinct ones for the yardstick. */
  body(i: number, f: Fixture): Body;
  samples: number;
}

const OPEN_INBOX = { status: ["OPEN"] };
// Deliveries need an externalId never used before, across warm-up, samples and runs.
const runTag = randomBytes(4).toString("hex");
let deliveries = 0;

const SCENARIOS: Scenario[] = [
  {
    name: "inbox",
    title: "1. inbox page (50 open, contact, assignee)",
    hasYardsticks: true,
    samples: 1,
    body: () => ({ query: INBOX, variables: { first: 50, filter: OPEN_INBOX } }),
  },
  {
    name: "filtered",
    title: "2. filtered inbox (billing, agent, HIGH)",
    hasYardsticks: true,
    samples: 1,
    body: (_i, f) => ({ query: INBOX, variables: { first: 50, filter: { labels: ["billing"], assignedToId: f.agentId, priority: ["HIGH"] } } }),
  },
  {
    name: "deep",
    title: "3. deep page (200 pages in, by cursor)",
    hasYardsticks: false,
    samples: 1,
    body: (_i, f) => ({ query: INBOX, variables: { first: 50, after: f.deepCursor, filter: OPEN_INBOX } }),
  },
  {
    name: "detail",
    title: "4. detail (contact, last 30 messages)",
    hasYardsticks: true,
    samples: 20,
    body: (i, f) => ({ query: DETAIL, variables: { id: f.detailIds[i % f.detailIds.length] } }),
  },
  {
    name: "counts",
    title: "5a. conversationCounts",
    hasYardsticks: false,
    samples: 1,
    body: () => ({ query: SIDEBAR, variables: {} }),
  },
  {
    name: "counts-filtered",
    title: "5b. conversationCounts (one agent's)",
    hasYardsticks: false,
    samples: 1,
    body: (_i, f) => ({ query: SIDEBAR, variables: { filter: { assignedToId: f.agentId } } }),
  },
  {
    name: "writes",
    title: "6. writes 70/20/10",
    hasYardsticks: false,
    samples: 10,
    body: (i, f) => {
      const id = f.writeIds[Math.floor(Math.random() * f.writeIds.length)];
      const r = Math.random();
      if (r < 0.7) {
        return { query: RECEIVE, variables: { input: { conversationId: id, body: `Any news on this? (${i})`, externalId: `bench-${runTag}-${deliveries++}` } } };
      }
      if (r < 0.9) return { query: STATUS, variables: { id, status: Math.random() < 0.5 ? "OPEN" : "CLOSED" } };
      return { query: LABEL, variables: { id, labels: [LABELS[Math.floor(Math.random() * LABELS.length)].name] } };
    },
  },
];

const wanted = flags.scenarios ? flags.scenarios.split(",").map((s) => s.trim()) : SCENARIOS.map((s) => s.name);
for (const name of wanted) {
  if (!SCENARIOS.some((s) => s.name === name)) throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
}
const scenarios = SCENARIOS.filter((s) => wanted.includes(s.name));

// ---------------------------------------------------------------------------------------------
// Measurement helpers.

interface Load {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  requests: number;
  errors: number;
}

/**
 * The load on what serves the requests: the gateway, the SQL endpoint, or the raw replay (this
 * process, with no peak RSS of its own). cpuMsPerRequest: its CPU time per request, which other
 * load on the machine disturbs less than latency. databaseCpuMsPerRequest: the database server's,
 * over the same time; on 2 shared cores the two together bound the throughput.
 */
type ProcessLoad = Load & { peakRssMB: number | null; cpuMsPerRequest: number | null; databaseCpuMsPerRequest: number | null };

/** `answered`: every response, when `latencies` leaves some out. */
function summarize(latencies: number[], seconds: number, errors: number, answered = latencies.length): Load {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN);
  const round = (x: number) => Math.round(x * 100) / 100;
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN;
  return {
    rps: Math.round((answered / seconds) * 10) / 10,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    mean: round(mean),
    requests: answered,
    errors,
  };
}

/**
 * The raw-SQL yardstick: `concurrency` clients each replaying captured requests through a pg pool
 * of the gateway's size, for `seconds`.
 */
async function rawLoad(pool: pg.Pool, replays: Replay[], concurrency: number, seconds: number): Promise<ProcessLoad> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const run = (s: StatementRecord) => pool.query({ text: s.sql, values: s.args as unknown[], rowMode: "array" });
  const deadline = performance.now() + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const replay = replays[next++ % replays.length];
      const t0 = performance.now();
      try {
        await replayRequest(replay, run);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  const server = await serverCpu();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const used = process.cpuUsage(cpu);
  const load = summarize(latencies, (performance.now() - t0) / 1000, errors);
  return { ...load, peakRssMB: null, cpuMsPerRequest: perRequest((used.user + used.system) / 1000, load), databaseCpuMsPerRequest: await server.perRequest(load) };
}

/** CPU milliseconds per request answered, to 2 decimals; null without a figure or a request. */
function perRequest(cpuMs: number | null, load: Load): number | null {
  return cpuMs == null || !load.requests ? null : Math.round((cpuMs / load.requests) * 100) / 100;
}

/**
 * Starts counting the database server's CPU: every process pg_stat_activity lists (its backends and
 * background workers), read from /proc. `perRequest` is null where the server is not a process of
 * this machine: PGlite runs inside the gateway, and a remote server's or a container's pids are
 * not ours (a process must be named postgres to count). A process that exits meanwhile loses its
 * share; the pools keep their connections for the whole load.
 */
async function serverCpu(): Promise<{ perRequest(load: Load): Promise<number | null> }> {
  const before = await serverProcessesCpu();
  return {
    async perRequest(load) {
      const after = await serverProcessesCpu();
      if (!before || !after) return null;
      let used = 0;
      for (const [pid, ms] of after) used += ms - (before.get(pid) ?? 0);
      return perRequest(used, load);
    },
  };
}

async function serverProcessesCpu(): Promise<Map<number, number> | null> {
  if (!monitor) return null;
  const { rows } = await monitor.query<{ pid: number }>("SELECT pid FROM pg_stat_activity");
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const ms = await cpuTime(pid, "postgres");
    if (ms != null) cpu.set(pid, ms);
  }
  return cpu.size ? cpu : null;
}

/** Peak RSS of a process since the last reset, in MB (Linux: VmHWM, reset through clear_refs). */
async function peakRss(pid: number | undefined): Promise<number | null> {
  if (!pid) return null;
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Math.round(Number(kb) / 1024) : null;
}
/** CPU time (user + system) a process has used so far, in ms; null where /proc is not there or the process is not `named`. */
async function cpuTime(pid: number | undefined, named?: string): Promise<number | null> {
  if (!pid) return null;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  if (named && !stat.startsWith(`${pid} (${named})`)) return null;
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields.length > 13 ? ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS : null;
}
// The unit of utime and stime: USER_HZ, 100 on every mainstream Linux.
const CLOCK_TICKS = 100;

async function resetPeakRss(pid: number | undefined) {
  if (pid) await writeFile(`/proc/${pid}/clear_refs`, "5").catch(() => undefined);
}

/** Where autocannon sends a scenario's requests: the gateway, or the SQL endpoint. */
interface HttpTarget {
  url: string;
  headers: Record<string, string>;
  /** The i-th request's body. */
  body(scenario: Scenario, i: number): string;
  pid: number | undefined;
}

async function httpLoad(target: HttpTarget, scenario: Scenario, connections: number, seconds: number): Promise<Load> {
  const latencies: number[] = [];
  let responses = 0;
  let errors = 0;
  let i = 0;
  const errorSamples = new Set<string>();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const options: autocannon.Options = {
      url: target.url,
      connections,
      duration: seconds,
      method: "POST",
      headers: target.headers,
      requests: [
        {
          setupRequest: (request) => ({ ...request, body: target.body(scenario, i++) }),
          // A 200 with GraphQL errors is a failure too.
          onResponse: (status, body) => {
            if (status === 200 && !body.includes('"errors"')) return;
            errors++;
            if (errorSamples.size < 3) errorSamples.add(`${status} ${body.slice(0, 300)}`);
          },
        },
      ],
    };
    const instance = autocannon(options, (err, done) => (err ? reject(err) : resolve(done)));
    // Latencies are of kept-alive connections, as a dashboard's are: each connection's first
    // response is left out. When a cell opens all its connections at once on a busy server, their
    // first requests are answered one after another, one per round of the other connections' (a
    // plain node:http server with an async handler does the same): a ramp of up to a second that
    // made every cell's p99 at 50.
    const connected = new WeakSet<object>();
    instance.on("response", (client, _status, _bytes, responseTime) => {
      responses++;
      if (connected.has(client)) latencies.push(responseTime);
      else connected.add(client);
    });
  });
  for (const sample of errorSamples) console.error(`  ${scenario.name}: ${sample}`);
  return summarize(latencies, result.duration, errors + result.errors + result.timeouts, responses);
}

/** One measurement of a process over HTTP: its load, and (when the benchmark started it) its CPU and peak RSS. */
async function processLoad(target: HttpTarget, scenario: Scenario, connections: number): Promise<ProcessLoad> {
  await resetPeakRss(target.pid);
  const server = await serverCpu();
  const cpuBefore = await cpuTime(target.pid);
  const load = await httpLoad(target, scenario, connections, durationS);
  const cpuAfter = await cpuTime(target.pid);
  const cpuMsPerRequest = perRequest(cpuBefore == null || cpuAfter == null ? null : cpuAfter - cpuBefore, load);
  return { ...load, peakRssMB: await peakRss(target.pid), cpuMsPerRequest, databaseCpuMsPerRequest: await server.perRequest(load) };
}

function maxOf(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v != null);
  return known.length ? Math.max(...known) : null;
}

/** Each figure's median over the rounds; the counts of requests and errors are totals. */
function medianLoad(loads: Load[]): Load {
  const of = (key: "rps" | "p50" | "p95" | "p99" | "mean") => median(loads.map((l) => l[key]))!;
  const sum = (key: "requests" | "errors") => loads.reduce((n, l) => n + l[key], 0);
  return { rps: of("rps"), p50: of("p50"), p95: of("p95"), p99: of("p99"), mean: of("mean"), requests: sum("requests"), errors: sum("errors") };
}

/** medianLoad, with the highest peak RSS and the median CPU figures per request. */
function medianProcessLoad(loads: ProcessLoad[]): ProcessLoad {
  const of = (key: "cpuMsPerRequest" | "databaseCpuMsPerRequest") => median(loads.flatMap((l) => (l[key] == null ? [] : [l[key]])));
  return {
    ...medianLoad(loads),
    peakRssMB: maxOf(loads.map((l) => l.peakRssMB)),
    cpuMsPerRequest: of("cpuMsPerRequest"),
    databaseCpuMsPerRequest: of("databaseCpuMsPerRequest"),
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Fixture and statement counts, through an in-process gateway on the same database.

const jwtSecret = randomBytes(32).toString("hex");
const viewer = { agentId: benchAgentId(1), workspaceId: BENCH_WORKSPACE_ID, role: "ADMIN" as const };
const token = flags.url ? flags.token : signAgentToken(jwtSecret, viewer, { expiresIn: "2h" });
if (!token) throw new Error("--url needs --token");

const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize });
// An earlier run's write cells leave dead row versions where the reads look first (the inbox's head,
// where the written conversations move), and a server without autovacuum keeps them: with 50,000 of
// them, an inbox page cost the server twice as much. Every run starts from vacuumed tables.
const vacuumStarted = performance.now();
await db.withSession((s) => s.exec(`VACUUM ANALYZE "Conversation", "Message", "ConversationActivity", "Contact", "ConversationTally", "LabelTally"`));
console.log(`VACUUM ANALYZE of the tables: ${((performance.now() - vacuumStarted) / 1000).toFixed(1)} s`);
const machine = await describeMachine(db);
const { fixture, statements, replays, plans } = await prepare(db);
await db.close();

async function prepare(database: Database) {
  const q = <T>(sql: string, ...params: unknown[]) => database.withSession((s) => s.query<T>(sql, params));
  const [dataset] = await q<{ conversations: number; messages: number; contacts: number; agents: number }>(
    `SELECT (SELECT count(*)::int FROM "Conversation" WHERE "workspaceId" = $1) AS conversations,
            (SELECT count(*)::int FROM "Message" WHERE "workspaceId" = $1) AS messages,
            (SELECT count(*)::int FROM "Contact" WHERE "workspaceId" = $1) AS contacts,
            (SELECT count(*)::int FROM "Agent" WHERE "workspaceId" = $1) AS agents`,
    BENCH_WORKSPACE_ID,
  );
  if (!dataset.conversations) throw new Error(`No benchmark workspace in ${database.location}: run npm run bench:data first.`);
  machine.dataset = dataset;
  // The agent with the most billing + HIGH conversations, so the filtered inbox has a full page.
  const [agent] = await q<{ id: string }>(
    `SELECT "assignedToId" AS id FROM "Conversation" WHERE "workspaceId" = $1 AND "labels" @> '{billing}' AND "priority" = 'HIGH'
     AND "assignedToId" IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
    BENCH_WORKSPACE_ID,
  );
  const detailIds = (
    await q<{ id: string }>(
      `SELECT "id" FROM "Conversation" WHERE "workspaceId" = $1 AND "messageCount" >= 30 ORDER BY md5("id") LIMIT 100`,
      BENCH_WORKSPACE_ID,
    )
  ).map((r) => r.id);
  const writeIds = (
    await q<{ id: string }>(`SELECT "id" FROM "Conversation" WHERE "workspaceId" = $1 ORDER BY md5("id" || 'w') LIMIT 2000`, BENCH_WORKSPACE_ID)
  ).map((r) => r.id);
  if (!detailIds.length) throw new Error("No conversation with 30 messages: generate more messages per conversation.");

  const gateway = await createGateway({ ...config, JWT_SECRET: jwtSecret }, { db: database });
  const send = async (body: Body) => {
    const response = await gateway.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${signAgentToken(jwtSecret, viewer)}` },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as { data?: any; errors?: unknown[] };
    if (json.errors?.length) throw new Error(`${body.query.split("\n").find((l) => /^(query|mutation)/.test(l))}: ${JSON.stringify(json.errors)}`);
    return json.data;
  };

  // The deep page's cursor, by walking the inbox 200 pages of 50 (only for the deep page: a small
  // dataset has fewer pages, and the other scenarios run on it).
  let deepCursor = "";
  for (let page = 0; wanted.includes("deep") && page < 200; page++) {
    const data = await send({ query: INBOX, variables: { first: 50, after: deepCursor || null, filter: OPEN_INBOX } });
    deepCursor = data.conversations.pageInfo.endCursor;
    if (!data.conversations.pageInfo.hasNextPage) throw new Error(`The open inbox has only ${page + 1} pages of 50: the deep page needs 201.`);
  }
  const f: Fixture = { agentId: agent.id, detailIds, writeIds, deepCursor };

  const counts: Record<string, number> = {};
  const captured: Record<string, Replay[]> = {};
  for (const scenario of scenarios) {
    const samples: Replay[] = [];
    for (let i = 0; i < scenario.samples; i++) {
      const { statements: issued } = await database.sql.record(() => send(scenario.body(i, f)));
      samples.push(issued);
    }
    counts[scenario.name] = samples.reduce((n, s) => n + s.length, 0) / samples.length;
    captured[scenario.name] = samples;
  }
  await gateway.close();
  // The plans of the read scenarios' main statement, as proof of which index answers them.
  const plans: Record<string, string[]> = {};
  for (const [name, samples] of Object.entries(captured)) {
    const main = samples[0]?.[0];
    if (name === "writes" || !main) continue;
    const rows = await database.withSession((s) => s.query<{ "QUERY PLAN": string }>(`EXPLAIN ${main.sql}`, main.args));
    plans[name] = rows.map((r) => r["QUERY PLAN"]);
  }
  return { fixture: f, statements: counts, replays: captured, plans };
}

// ---------------------------------------------------------------------------------------------
// 2. The yardsticks: the captured SQL through a pg pool of the gateway's size, in this process
// and behind a plain HTTP endpoint of its own (bench/sql-endpoint.ts).

const yardsticks = !flags["no-raw"] && config.DATABASE_URL ? scenarios.filter((s) => s.hasYardsticks) : [];
// The yardsticks run the statements as the gateway's driver does: the same ones prepared, on as many connections.
const rawPool = yardsticks.length ? openPool({ connectionString: config.DATABASE_URL, max: poolSize }, config.DATABASE_STATEMENT_CACHE_SIZE) : null;
// Asks the server for its processes, to count their CPU (serverCpu).
const monitor = config.DATABASE_URL ? new pg.Client({ connectionString: config.DATABASE_URL }) : null;
await monitor?.connect();
const processes: ChildProcess[] = [];
const root = new URL("..", import.meta.url);

/** Starts a TypeScript entry point of this repository as its own process, with `env` added. */
function start(args: string[], env: Record<string, string>, ipc = false): ChildProcess {
  const started = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_POOL_SIZE: String(poolSize), DATABASE_STATEMENT_CACHE_SIZE: String(config.DATABASE_STATEMENT_CACHE_SIZE), ...env },
    stdio: ["ignore", "ignore", "inherit", ...(ipc ? ["ipc" as const] : [])],
  });
  processes.push(started);
  return started;
}

let endpoint: HttpTarget | null = null;
const replaysDir = yardsticks.length ? mkdtempSync(path.join(os.tmpdir(), "inbox-bench-")) : null;
if (replaysDir) {
  const replaysFile = path.join(replaysDir, "replays.json");
  writeFileSync(replaysFile, JSON.stringify(replays));
  const port = await freePort();
  const server = start(["bench/sql-endpoint.ts", replaysFile], { PORT: String(port) }, true);
  await new Promise<void>((resolve, reject) => {
    server.once("message", () => resolve());
    server.once("exit", (code) => reject(new Error(`The SQL endpoint exited with code ${code}`)));
  });
  endpoint = {
    url: `http://127.0.0.1:${port}/`,
    headers: { "content-type": "application/json" },
    body: (scenario, i) => JSON.stringify({ scenario: scenario.name, sample: i % scenario.samples }),
    pid: server.pid,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. The gateway over HTTP.

let gatewayProcess: ChildProcess | undefined;
let url = flags.url;
if (!url) {
  const port = await freePort();
  gatewayProcess = start(["src/main.ts"], {
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(port),
    JWT_SECRET: jwtSecret,
    SEED_DEMO_DATA: "never",
    LOG_LEVEL: flags["log-level"]!,
    // One token drives thousands of requests a second here: production's per-caller limit
    // would measure the limiter, not the gateway.
    RATE_LIMIT_MAX: "0",
  });
  url = `http://127.0.0.1:${port}/graphql`;
  await waitForReady(new URL("/ready", url), gatewayProcess);
}
const gateway: HttpTarget = {
  url,
  headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
  body: (scenario, i) => JSON.stringify(scenario.body(i, fixture)),
  pid: gatewayProcess?.pid,
};

/** One round of a cell: the gateway, and the yardsticks where the scenario has them. */
interface Round {
  gateway: ProcessLoad;
  raw: ProcessLoad | null;
  endpoint: ProcessLoad | null;
}

/** One cell: medians over its rounds (the peak RSS is the highest), and every round as measured. */
interface Row {
  scenario: string;
  title: string;
  concurrency: number;
  statementsPerRequest: number;
  gateway: ProcessLoad;
  raw: ProcessLoad | null;
  /** The gateway's req/s over the raw SQL's: the median of the rounds' own ratios, so a drift between rounds does not skew it. */
  ratio: number | null;
  endpoint: ProcessLoad | null;
  /** The gateway's req/s over the SQL endpoint's, likewise. */
  endpointRatio: number | null;
  rounds: Round[];
}

const rows: Row[] = [];
try {
  // Every operation warms up before any is measured: a fresh process is still compiling hot code.
  for (const scenario of scenarios) await httpLoad(gateway, scenario, concurrencies[0], warmupS);
  for (const scenario of yardsticks) {
    await rawLoad(rawPool!, replays[scenario.name], concurrencies[0], warmupS);
    await httpLoad(endpoint!, scenario, concurrencies[0], warmupS);
  }
  for (const scenario of scenarios) {
    const measuresYardsticks = yardsticks.includes(scenario);
    for (const c of concurrencies) {
      const measured: Round[] = [];
      for (let round = 1; round <= rounds; round++) {
        const raw = measuresYardsticks ? await rawLoad(rawPool!, replays[scenario.name], c, durationS) : null;
        const served = measuresYardsticks ? await processLoad(endpoint!, scenario, c) : null;
        const answered = await processLoad(gateway, scenario, c);
        measured.push({ gateway: answered, raw, endpoint: served });
        const of = rounds > 1 ? ` (round ${round} of ${rounds})` : "";
        const cell = `${scenario.name.padEnd(16)} c=${String(c).padEnd(3)}`;
        if (raw) console.error(`raw SQL   ${cell} ${raw.rps} req/s  p99 ${raw.p99} ms${of}`);
        if (served) console.error(`endpoint  ${cell} ${served.rps} req/s  p99 ${served.p99} ms${of}${served.errors ? `  ${served.errors} ERRORS` : ""}`);
        console.error(`gateway   ${cell} ${answered.rps} req/s  p99 ${answered.p99} ms${of}${answered.errors ? `  ${answered.errors} ERRORS` : ""}`);
      }
      const ratioTo = (yardstick: (r: Round) => Load | null) =>
        measuresYardsticks ? median(measured.map((m) => Math.round((m.gateway.rps / yardstick(m)!.rps) * 100) / 100)) : null;
      rows.push({
        scenario: scenario.name,
        title: scenario.title,
        concurrency: c,
        statementsPerRequest: statements[scenario.name],
        gateway: medianProcessLoad(measured.map((m) => m.gateway)),
        raw: measuresYardsticks ? medianProcessLoad(measured.map((m) => m.raw!)) : null,
        ratio: ratioTo((m) => m.raw),
        endpoint: measuresYardsticks ? medianProcessLoad(measured.map((m) => m.endpoint!)) : null,
        endpointRatio: ratioTo((m) => m.endpoint),
        rounds: measured,
      });
    }
  }
} finally {
  for (const started of processes) started.kill("SIGTERM");
  await rawPool?.end();
  await monitor?.end();
  if (replaysDir) rmSync(replaysDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// 4. Report.

const report = {
  date: new Date().toISOString(),
  commit: git(["rev-parse", "--short", "HEAD"]),
  machine,
  options: { concurrencies, durationS, warmupS, rounds, poolSize, logLevel: flags["log-level"], url: flags.url ?? "started by the benchmark" },
  fixture: { agentId: fixture.agentId, detailConversations: fixture.detailIds.length },
  results: rows,
  plans,
};
const out = flags.out ?? `bench/results/${report.date.slice(0, 10)}.json`;
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);

const header = ["scenario", "c", "req/s", "p50 ms", "p95 ms", "p99 ms", "SQL/req", "CPU ms/req", "DB ms/req", "RSS MB", "raw req/s", "raw p99", "gw/raw", "endpoint req/s", "gw/endpoint", "errors"];
const percent = (ratio: number | null) => (ratio == null ? "-" : `${Math.round(ratio * 100)}%`);
const table = rows.map((r) => [
  r.title,
  String(r.concurrency),
  r.gateway.rps.toFixed(0),
  r.gateway.p50.toFixed(1),
  r.gateway.p95.toFixed(1),
  r.gateway.p99.toFixed(1),
  String(Math.round(r.statementsPerRequest * 10) / 10),
  ...[r.gateway.cpuMsPerRequest, r.gateway.databaseCpuMsPerRequest].map((ms) => (ms == null ? "-" : ms.toFixed(2))),
  r.gateway.peakRssMB == null ? "-" : String(r.gateway.peakRssMB),
  r.raw ? r.raw.rps.toFixed(0) : "-",
  r.raw ? r.raw.p99.toFixed(1) : "-",
  percent(r.ratio),
  r.endpoint ? r.endpoint.rps.toFixed(0) : "-",
  percent(r.endpointRatio),
  String(r.gateway.errors),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
const perCell = rounds > 1 ? `medians of ${rounds} rounds of ${durationS} s per cell (every round in the JSON)` : `${durationS} s per cell`;
console.log(`\n${machine.cpu} × ${machine.cores}, ${machine.database}; ${JSON.stringify(machine.dataset)}; ${perCell}, pool ${poolSize}`);
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const row of table) console.log(line(row));
if (rows.some((r) => r.raw)) {
  console.log("\nraw: the same SQL through pg in the benchmark's process (no HTTP); endpoint: the same SQL served over HTTP by bench/sql-endpoint.ts");
}
console.log("CPU ms/req: the gateway process's; DB ms/req: the database server's meanwhile, where it runs on this machine (PGlite runs inside the gateway: -); the JSON has both for each yardstick");
const scans = Object.entries(plans).map(([name, plan]) => `${name}: ${plan.find((l) => /Scan/.test(l))?.trim().replace(/\s+\(cost=.*$/, "") ?? plan[0]}`);
console.log(`\nPlans (first scan of each read's main statement):\n  ${scans.join("\n  ")}`);
console.log(`\nJSON: ${out}`);
process.exit(rows.some((r) => r.gateway.errors > 0 || (r.endpoint?.errors ?? 0) > 0) ? 1 : 0);

// ---------------------------------------------------------------------------------------------

async function describeMachine(database: Database) {
  const [{ version }] = await database.withSession((s) => s.query<{ version: string }>("SELECT version()"));
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    database: database.kind === "pglite" ? `PGlite (${version.split(" on ")[0]})` : version.split(" on ")[0],
    dataset: {} as Record<string, number>,
  };
}

function git(args: string[]): string | null {
  try {
    return execFileSync("git", args, { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

async function waitForReady(ready: URL, gateway: ChildProcess) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (gateway.exitCode !== null) throw new Error(`The gateway exited with code ${gateway.exitCode}`);
    const ok = await fetch(ready).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("The gateway did not become ready within 60 s");
}

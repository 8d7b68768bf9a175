import { type ChildProcess, fork } from "node:child_process";
import os from "node:os";
import { parseArgs } from "node:util";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { signAgentToken } from "../src/auth/tokens.js";
import { loadConfig } from "../src/config.js";
import { seedDemoData } from "../src/db/seed.js";
import { createGateway } from "../src/gateway.js";

/**
 * `npm run bench:subscriptions`: N concurrent unreadCountChanged subscribers on one gateway
 * process (graphql-ws clients over real sockets, several subscriptions per socket), a stream of
 * receiveMessage mutations over HTTP; prints delivery latency from commit (the event's
 * committedAt, stamped in the gateway) to client receipt, deliveries per second, and the gateway's
 * memory per idle subscriber. The gateway runs in a child process so its memory is its own.
 */
const HELP = `usage: npm run bench:subscriptions -- [options]
  --subscribers 1000,10000  subscriber counts, one run each (default 1000,10000)
  --per-socket 100          subscriptions multiplexed on one WebSocket (default 100)
  --events 40               receiveMessage mutations per run (default 40)
  --rate 5                  mutations per second (default 5)`;

const { values: flags } = parseArgs({
  options: {
    subscribers: { type: "string", default: "1000,10000" },
    "per-socket": { type: "string", default: "100" },
    events: { type: "string", default: "40" },
    rate: { type: "string", default: "5" },
    serve: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

const SECRET = "bench-secret-bench-secret-bench-secret-0123";
type Memory = { rss: number; heapUsed: number; subscribers: number };
type FromGateway = { ready: { url: string; token: string; conversations: string[] } } | { memory: Memory } | { commits: [string, number][] };

/** The gateway side: an in-memory PGlite gateway that reports memory and commit times over IPC. */
async function serve() {
  const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "warn", JWT_SECRET: SECRET, SEED_DEMO_DATA: "never", DATA_DIR: "memory://", MAX_SUBSCRIPTIONS_PER_CALLER: "0" });
  const gateway = await createGateway(config);
  const seed = await seedDemoData(gateway.db.prisma, { contacts: 50, conversations: 200 });
  const admin = await gateway.db.prisma.agent.findFirstOrThrow({ where: { workspaceId: seed.workspaceId, role: "ADMIN" } });
  const conversations = (await gateway.db.prisma.conversation.findMany({ where: { workspaceId: seed.workspaceId }, select: { id: true } })).map((c) => c.id);
  const commits: [string, number][] = [];
  gateway.bus.listen((event) => {
    if (event.unreadChanged) commits.push([`${event.conversationId}:${event.unreadCount}`, event.committedAt]);
  });
  const url = await gateway.listen(0, "127.0.0.1");
  const token = signAgentToken(SECRET, { agentId: admin.id, workspaceId: admin.workspaceId, role: admin.role });
  const send = (message: FromGateway) => process.send!(message);
  process.on("message", (message: string) => {
    if (message === "memory") {
      global.gc?.();
      global.gc?.();
      const { rss, heapUsed } = process.memoryUsage();
      send({ memory: { rss, heapUsed, subscribers: gateway.feeds.stats().subscribers } });
    } else if (message === "commits") {
      send({ commits: commits.splice(0) });
    } else if (message === "stop") {
      void gateway.close().then(() => process.exit(0));
    }
  });
  send({ ready: { url: url.toString(), token, conversations } });
}

function ask<T>(child: ChildProcess, message: string, key: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (reply: Record<string, unknown>) => {
      if (!(key in reply)) return;
      child.off("message", onMessage);
      resolve(reply[key] as T);
    };
    child.on("message", onMessage);
    if (message) child.send(message);
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(50);
  }
}

async function run() {
  const counts = flags.subscribers.split(",").map(Number);
  const perSocket = Number(flags["per-socket"]);
  const events = Number(flags.events);
  const rate = Number(flags.rate);
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${mb(os.totalmem())} RAM, Node ${process.version}, ${os.platform()} ${os.release()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log(`workload: unreadCountChanged { conversationId unreadCount } subscribers, ${perSocket} per WebSocket; ${events} receiveMessage mutations at ${rate}/s over HTTP; gateway on PGlite in its own process\n`);
  for (const n of counts) await runOnce(n, perSocket, events, rate);
}

async function runOnce(subscribers: number, perSocket: number, events: number, rate: number) {
  const child = fork(new URL(import.meta.url).pathname, ["--serve"], { execArgv: ["--expose-gc", "--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const { url, token, conversations } = await ask<{ url: string; token: string; conversations: string[] }>(child, "", "ready");
    const baseline = await ask<Memory>(child, "memory", "memory");

    const received = new Map<string, number[]>();
    let deliveries = 0;
    const sockets: Client[] = [];
    for (let i = 0; i < Math.ceil(subscribers / perSocket); i++) {
      sockets.push(
        createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { Authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: true }),
      );
    }
    const disposers: (() => void)[] = [];
    for (let i = 0; i < subscribers; i++) {
      disposers.push(
        sockets[i % sockets.length].subscribe<{ unreadCountChanged: { conversationId: string; unreadCount: number } }>(
          { query: "subscription { unreadCountChanged { conversationId unreadCount } }" },
          {
            next: ({ data }) => {
              const at = Date.now();
              deliveries++;
              const key = `${data!.unreadCountChanged.conversationId}:${data!.unreadCountChanged.unreadCount}`;
              const times = received.get(key);
              if (times) times.push(at);
              else received.set(key, [at]);
            },
            error: (err) => console.error("subscription error", err),
            complete: () => {},
          },
        ),
      );
    }
    await until(async () => (await ask<Memory>(child, "memory", "memory")).subscribers === subscribers, `${subscribers} subscribers`);
    const idle = await ask<Memory>(child, "memory", "memory");

    // The stream: distinct conversations, one mutation every 1/rate seconds.
    const started = Date.now();
    for (let i = 0; i < events; i++) {
      const due = started + (i * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      void fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: "mutation($i: ReceiveMessageInput!) { receiveMessage(input: $i) { id } }",
          variables: { i: { conversationId: conversations[i % conversations.length], body: "bench", externalId: `bench-${subscribers}-${i}` } },
        }),
      }).then((r) => r.text());
    }
    const expected = events * subscribers;
    await until(() => deliveries >= expected, `${expected} deliveries`, 120_000).catch((err: Error) => console.error(`  ${err.message}: got ${deliveries}`));
    const commits = await ask<[string, number][]>(child, "commits", "commits");

    const latencies: number[] = [];
    let firstCommit = Infinity;
    let lastReceipt = 0;
    for (const [key, committedAt] of commits) {
      firstCommit = Math.min(firstCommit, committedAt);
      for (const at of received.get(key) ?? []) {
        latencies.push(at - committedAt);
        lastReceipt = Math.max(lastReceipt, at);
      }
    }
    latencies.sort((a, b) => a - b);
    const seconds = (lastReceipt - firstCommit) / 1000;
    console.log(`${subscribers.toLocaleString("en")} subscribers on ${sockets.length} sockets, ${commits.length} events, ${latencies.length.toLocaleString("en")} deliveries`);
    console.log(`  latency commit → client: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies.at(-1)} ms`);
    console.log(`  delivered: ${Math.round(latencies.length / seconds).toLocaleString("en")} events/s (over ${seconds.toFixed(1)} s from first commit to last receipt)`);
    console.log(
      `  gateway memory per idle subscriber: heap ${kb((idle.heapUsed - baseline.heapUsed) / subscribers)}, RSS ${kb((idle.rss - baseline.rss) / subscribers)} ` +
        `(heap ${mb(baseline.heapUsed)} → ${mb(idle.heapUsed)}, RSS ${mb(baseline.rss)} → ${mb(idle.rss)})\n`,
    );
    for (const dispose of disposers) dispose();
    await Promise.all(sockets.map((s) => s.dispose()));
  } finally {
    child.send("stop");
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

if (flags.help) {
  console.log(HELP);
} else if (flags.serve) {
  await serve();
} else {
  await run();
}

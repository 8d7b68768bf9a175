// `npm run bench:cpu -- [inbox|detail|sidebar] [--requests N] [--rounds R]`: the gateway's own CPU time per request,
// in-process (yoga.fetch, no socket, no load generator competing for the cores), one at a time and
// 10 at a time (including reading each response, as a client would). Steadier than wall-clock
// latency on a shared machine: the tuning log's "in-process" figures (bench/README.md) come from here.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { signAgentToken } from "../src/auth/tokens.js";
import { loadConfig } from "../src/config.js";
import { createGateway, type Gateway } from "../src/gateway.js";
import { median } from "./stats.js";
import { BENCH_WORKSPACE_ID, benchAgentId } from "./workspace.js";

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: "string", default: "1000" }, rounds: { type: "string", default: "1" } },
});
const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), "utf8");
type Body = { query: string; variables: Record<string, unknown> };
const BODIES: Record<string, (gateway: Gateway) => Promise<Body>> = {
  inbox: async () => ({ query: operation("InboxPage"), variables: { first: 50, filter: { status: ["OPEN"] } } }),
  detail: async (gateway) => {
    const { id } = await gateway.db.prisma.conversation.findFirstOrThrow({
      where: { workspaceId: BENCH_WORKSPACE_ID, messageCount: { gte: 30 } },
      select: { id: true },
    });
    return { query: operation("ConversationDetail"), variables: { id } };
  },
  sidebar: async () => ({ query: operation("Sidebar"), variables: { filter: null } }),
};
const name = positionals[0] ?? "inbox";
const chosen = BODIES[name];
if (!chosen) throw new Error(`unknown operation ${name}: one of ${Object.keys(BODIES).join(", ")}`);
const requests = Number(flags.requests);
// This machine's CPU time per request drifts by 20% between identical runs: compare the medians of several rounds.
const rounds = Number(flags.rounds);

const secret = "bench-cpu-secret-bench-cpu-secret-0123";
const config = loadConfig({ ...process.env, NODE_ENV: "production", JWT_SECRET: secret, SEED_DEMO_DATA: "never", LOG_LEVEL: "warn", RATE_LIMIT_MAX: "0" });
const gateway = await createGateway(config);
if ((await gateway.db.prisma.conversation.count({ where: { workspaceId: BENCH_WORKSPACE_ID } })) === 0) {
  await gateway.close();
  throw new Error(`no benchmark workspace in ${gateway.db.location}: run npm run bench:data first (same DATABASE_URL)`);
}
const token = signAgentToken(secret, { agentId: benchAgentId(1), workspaceId: BENCH_WORKSPACE_ID, role: "ADMIN" });
const body = JSON.stringify(await chosen(gateway));
const once = async () => {
  const response = await gateway.fetch("/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
  const result = (await response.json()) as { errors?: unknown };
  if (result.errors) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
};

try {
  // Warm-up: compiled code, caches and connections, not measured.
  for (let i = 0; i < 300; i++) await once();
  for (const concurrency of [1, 10]) {
    const cpuPerRequest: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < requests; i += concurrency) await Promise.all(Array.from({ length: concurrency }, once));
      const used = process.cpuUsage(cpu);
      cpuPerRequest.push((used.user + used.system) / 1000 / requests);
      const wall = ((performance.now() - started) / requests).toFixed(2);
      console.log(`${name}  ${concurrency} at a time  CPU ${cpuPerRequest.at(-1)!.toFixed(2)} ms/request  wall ${wall} ms/request${rounds > 1 ? `  (round ${round})` : ""}`);
    }
    if (rounds > 1) {
      const range = `${Math.min(...cpuPerRequest).toFixed(2)} to ${Math.max(...cpuPerRequest).toFixed(2)}`;
      console.log(`${name}  ${concurrency} at a time  CPU median ${median(cpuPerRequest)!.toFixed(2)} ms/request, range ${range} over ${rounds} rounds`);
    }
  }
} finally {
  await gateway.close();
}

// One checkout's gateway, in-process, answering one of `npm run bench:cpu`'s operations. Imported by
// bench/cpu.ts for this checkout; forked by `bench:cpu --against` once per checkout, each loading
// that checkout's own code, so two builds take turns in one run.
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const OPERATIONS = ["inbox", "detail", "sidebar"] as const;

export interface Target {
  /** One request through yoga.fetch, its response read as a client would. */
  once(): Promise<void>;
  /** CPU milliseconds per request over `requests`, sent `concurrency` at a time. */
  measure(requests: number, concurrency: number): Promise<{ cpu: number; wall: number }>;
  close(): Promise<void>;
}

export async function openTarget(root: string, name: string): Promise<Target> {
  const load = (file: string) => import(pathToFileURL(path.join(root, file)).href);
  const [{ signAgentToken }, { loadConfig }, { createGateway }, { BENCH_WORKSPACE_ID, benchAgentId }] = await Promise.all([
    load("src/auth/tokens.ts"),
    load("src/config.ts"),
    load("src/gateway.ts"),
    load("bench/workspace.ts"),
  ]);
  const operation = (file: string) => readFileSync(path.join(root, "bench/operations", `${file}.graphql`), "utf8");
  const secret = "bench-cpu-secret-bench-cpu-secret-0123";
  const config = loadConfig({ ...process.env, NODE_ENV: "production", JWT_SECRET: secret, SEED_DEMO_DATA: "never", LOG_LEVEL: "warn", RATE_LIMIT_MAX: "0" });
  const gateway = await createGateway(config);
  const prisma = gateway.db.prisma;
  if ((await prisma.conversation.count({ where: { workspaceId: BENCH_WORKSPACE_ID } })) === 0) {
    await gateway.close();
    throw new Error(`no benchmark workspace in ${gateway.db.location}: run npm run bench:data first (same DATABASE_URL)`);
  }
  const variables = async (): Promise<[string, Record<string, unknown>]> => {
    if (name === "inbox") return ["InboxPage", { first: 50, filter: { status: ["OPEN"] } }];
    if (name === "sidebar") return ["Sidebar", { filter: null }];
    const { id } = await prisma.conversation.findFirstOrThrow({
      where: { workspaceId: BENCH_WORKSPACE_ID, messageCount: { gte: 30 } },
      select: { id: true },
      orderBy: { id: "asc" },
    });
    return ["ConversationDetail", { id }];
  };
  const [file, vars] = await variables();
  const body = JSON.stringify({ query: operation(file), variables: vars });
  const token = signAgentToken(secret, { agentId: benchAgentId(1), workspaceId: BENCH_WORKSPACE_ID, role: "ADMIN" });
  const once = async () => {
    const response = await gateway.fetch("/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
    const result = (await response.json()) as { errors?: unknown };
    if (result.errors) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
  };
  return {
    once,
    async measure(requests, concurrency) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < requests; i += concurrency) await Promise.all(Array.from({ length: concurrency }, once));
      const used = process.cpuUsage(cpu);
      return { cpu: (used.user + used.system) / 1000 / requests, wall: (performance.now() - started) / requests };
    },
    close: () => gateway.close(),
  };
}

// Forked by `bench:cpu --against`: argv is the checkout and the operation; each message is a
// round's request count (0 to stop), answered with its figures.
if (process.argv[1] === import.meta.filename && process.send) {
  const send = process.send.bind(process);
  const [root, name, warmUp] = process.argv.slice(2);
  const target = await openTarget(root!, name!);
  for (let i = 0; i < Number(warmUp); i++) await target.once();
  const stop = async () => {
    await target.close();
    process.exit(0);
  };
  process.on("message", async (requests: number) => (requests === 0 ? stop() : send(await target.measure(requests, 10))));
  // The benchmark stopped without telling: do not outlive it.
  process.once("disconnect", stop);
  send("ready");
}

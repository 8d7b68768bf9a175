// The second yardstick (bench/README.md): the SQL the gateway ran for a request, served by a plain
// node:http endpoint through `pg`, as a hand-written service without GraphQL would serve it. `npm
// run bench` starts it as its own process, like the gateway, and loads it with the same autocannon
// at the same concurrency, so the two differ only in what stands between HTTP and the SQL.
//
// Usage: tsx bench/sql-endpoint.ts <replays.json> (env DATABASE_URL, DATABASE_POOL_SIZE,
// DATABASE_STATEMENT_CACHE_SIZE, PORT).
// POST {"scenario": "inbox", "sample": 3} → the sample's rows, one array per statement.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { loadConfig } from "../src/config.js";
import { openPool } from "../src/db/prepared-statements.js";
import type { StatementRecord } from "../src/db/sql-observer.js";
import { replayRequest, type Replay } from "./replay.js";

const replays = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Record<string, Replay[]>;
// The gateway's own settings, read the gateway's way; prepared as its driver prepares them.
const config = loadConfig();
const pool = openPool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE }, config.DATABASE_STATEMENT_CACHE_SIZE);
const run = (s: StatementRecord) => pool.query({ text: s.sql, values: s.args as unknown[] });

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    void (async () => {
      try {
        const { scenario, sample } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { scenario: string; sample: number };
        const samples = replays[scenario]!;
        const results = await replayRequest(samples[sample % samples.length]!, run);
        const body = JSON.stringify(results.map((r) => r.rows));
        response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
      } catch (error) {
        response.writeHead(500, { "content-type": "text/plain" }).end(String(error));
      }
    })();
  });
});
server.listen(config.PORT, "127.0.0.1", () => process.send?.("listening"));
let stopping = false;
const stop = () => {
  // Usually both come: the benchmark's SIGTERM, then its IPC channel closing as it exits.
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeIdleConnections();
  void pool.end();
};
process.on("SIGTERM", stop);
// The benchmark that started it may end without a SIGTERM (a gateway that never became ready):
// its IPC channel closing then stops this process instead of leaving it listening.
process.on("disconnect", stop);

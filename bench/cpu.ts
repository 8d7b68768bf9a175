// `npm run bench:cpu -- [inbox|detail|sidebar] [--requests N] [--rounds R] [--against CHECKOUT]`:
// the gateway's own CPU time per request, in-process (yoga.fetch, no socket, no load generator
// competing for the cores), one at a time and 10 at a time (including reading each response, as a
// client would). Steadier than wall-clock latency on a shared machine: the tuning log's
// "in-process" figures (bench/README.md) come from here.
//
// With --against, this checkout and another (a `git worktree` of an earlier commit, say) each run
// in a process of their own and take turns, round by round at 10 at a time: a machine whose speed
// drifts over minutes then slows both alike, and the ratio per round compares them.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { OPERATIONS, openTarget } from "./cpu-target.js";
import { median } from "./stats.js";

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: "string", default: "1000" }, rounds: { type: "string", default: "1" }, against: { type: "string" } },
});
const name = positionals[0] ?? "inbox";
if (!(OPERATIONS as readonly string[]).includes(name)) throw new Error(`unknown operation ${name}: one of ${OPERATIONS.join(", ")}`);
const requests = Number(flags.requests);
// This machine's CPU time per request drifts by 20% between identical runs: compare the medians of several rounds.
const rounds = Number(flags.rounds);
const here = path.resolve(import.meta.dirname, "..");
// Requests before measuring: the optimizing compiler is still at work after a few hundred, and a
// comparison of two checkouts is worth less than that drift.
const WARM_UP = flags.against ? 2000 : 300;
const ms = (value: number) => value.toFixed(2);
const spread = (values: number[], unit = " ms/request") => `median ${ms(median(values)!)}${unit}, range ${ms(Math.min(...values))} to ${ms(Math.max(...values))} over ${values.length} rounds`;

if (flags.against) await compare(flags.against);
else await alone();

async function alone() {
  const target = await openTarget(here, name);
  try {
    // Warm-up: compiled code, caches and connections, not measured.
    for (let i = 0; i < WARM_UP; i++) await target.once();
    for (const concurrency of [1, 10]) {
      const cpuPerRequest: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        const { cpu, wall } = await target.measure(requests, concurrency);
        cpuPerRequest.push(cpu);
        console.log(`${name}  ${concurrency} at a time  CPU ${ms(cpu)} ms/request  wall ${ms(wall)} ms/request${rounds > 1 ? `  (round ${round})` : ""}`);
      }
      if (rounds > 1) console.log(`${name}  ${concurrency} at a time  CPU ${spread(cpuPerRequest)}`);
    }
  } finally {
    await target.close();
  }
}

async function compare(other: string) {
  if (!process.env.DATABASE_URL) throw new Error("--against runs two gateways at once, and a PGlite folder opens in one process only: set DATABASE_URL to a PostgreSQL database");
  if (!existsSync(path.join(other, "src/gateway.ts"))) throw new Error(`--against ${other}: no checkout of this repository there (no src/gateway.ts)`);
  const start = (root: string) =>
    new Promise<ChildProcess>((resolve, reject) => {
      const child = fork(path.join(here, "bench/cpu-target.ts"), [root, name, String(WARM_UP)], { execArgv: ["--import", "tsx"], cwd: root });
      let ready = false;
      child.once("message", () => {
        ready = true;
        resolve(child);
      });
      child.on("exit", (code) => {
        if (!code) return;
        const stopped = `the gateway of ${root} stopped (exit ${code})`;
        if (!ready) return reject(new Error(stopped));
        // A round would wait for its answer forever.
        console.error(stopped);
        process.exit(1);
      });
    });
  const ask = (child: ChildProcess) =>
    new Promise<number>((resolve) => {
      child.once("message", (figures: { cpu: number }) => resolve(figures.cpu));
      child.send(requests);
    });
  const labels = ["this checkout", other];
  const children = [await start(here), await start(path.resolve(other))];
  const cpu: number[][] = [[], []];
  try {
    for (let round = 1; round <= rounds; round++) {
      // Each round goes first in turn, so neither always runs on a warmer or cooler machine.
      for (const side of round % 2 ? [0, 1] : [1, 0]) cpu[side].push(await ask(children[side]));
      console.log(`${name}  10 at a time  CPU ${labels[0]} ${ms(cpu[0].at(-1)!)}, ${labels[1]} ${ms(cpu[1].at(-1)!)} ms/request  (round ${round})`);
    }
    const ratios = cpu[0].map((mine, i) => mine / cpu[1][i]);
    console.log(`${name}  10 at a time  CPU ${labels[0]} ${spread(cpu[0])}`);
    console.log(`${name}  10 at a time  CPU ${labels[1]} ${spread(cpu[1])}`);
    console.log(`${name}  10 at a time  ${labels[0]} / ${labels[1]} per round: ${spread(ratios, "")}`);
  } finally {
    for (const child of children) child.send(0);
  }
}

import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // One copy of graphql: vite would otherwise load its ESM build for some importers and Node its
  // CommonJS build for others, and graphql refuses types from "another realm".
  resolve: { alias: { graphql: "graphql/index.js" } },
  test: {
    include: ["test/**/*.test.ts"],
    // Each run builds a database in a given state once and copies it per file (test/database-templates.ts).
    globalSetup: ["test/global-setup.ts"],
    // Forks, not threads: each worker is a process of its own, with its own PGlite (WebAssembly).
    pool: "forks",
    // Files run one after another in the same worker processes: PGlite's WebAssembly and the
    // gateway's modules load once per worker, not once per file (on 2 cores: PGlite 286 s against
    // 340 s, PostgreSQL 148 s against 192 s). Every file opens and closes what it uses.
    isolate: false,
    // Vitest runs one file fewer at a time than there are cores: one at a time on two. Most of a
    // file's time is waiting on a database, Redis or a child process, so two at once finish sooner
    // (on 2 cores: PGlite 273 s against 378 s, PostgreSQL 183 s against 267 s, all passing).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // global.gc, so the subscriptions resource test can compare heaps after a full collection.
    poolOptions: { forks: { execArgv: ["--expose-gc"] } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

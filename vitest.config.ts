import { defineConfig } from "vitest/config";

export default defineConfig({
  // One copy of graphql: vite would otherwise load its ESM build for some importers and Node its
  // CommonJS build for others, and graphql refuses types from "another realm".
  resolve: { alias: { graphql: "graphql/index.js" } },
  test: {
    include: ["test/**/*.test.ts"],
    // Forks, not threads: each file gets its own process for its PGlite (WebAssembly) database.
    pool: "forks",
    // global.gc, so the subscriptions resource test can compare heaps after a full collection.
    poolOptions: { forks: { execArgv: ["--expose-gc"] } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

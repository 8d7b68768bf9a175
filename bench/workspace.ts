/** What the dataset generator writes and the benchmark relies on. */

/** The benchmark's workspace: `npm run bench:data` replaces it, `npm run bench` reads it. */
export const BENCH_WORKSPACE_ID = "wsp_benchmark00001";

/** The n-th agent (1-based); agent 1 is the workspace's admin, the one the benchmark acts as. */
export const benchAgentId = (n: number) => `agt_bench${String(n).padStart(8, "0")}`;

/** Labels and the share of conversations that carry each (the filtered inbox asks for "billing"). */
export const LABELS = [
  { name: "billing", share: 0.25 },
  { name: "urgent", share: 0.1 },
  { name: "shipping", share: 0.15 },
  { name: "returns", share: 0.08 },
  { name: "vip", share: 0.05 },
  { name: "bug", share: 0.06 },
  { name: "feature-request", share: 0.04 },
  { name: "onboarding", share: 0.05 },
  { name: "refund", share: 0.07 },
  { name: "account", share: 0.06 },
] as const;

import { LRUCache } from "lru-cache";
import { Prisma, type Agent, type PrismaClient } from "../generated/prisma/client.js";
import { readRows } from "../db/adapter-reads.js";
import { CALLER_CHECK } from "../db/sql-observer.js";
import type { AgentRole } from "../generated/prisma/enums.js";
import type { Viewer } from "./viewer.js";
import { unauthenticated } from "./errors.js";

const RANK: Record<AgentRole, number> = { VIEWER: 0, AGENT: 1, ADMIN: 2 };

type Standing = Pick<Agent, "workspaceId" | "role" | "active"> | null;

/** Holds a token's viewer against its agent as the database has it now; UNAUTHENTICATED if it may no longer act. */
export type AgentCheck = (viewer: Viewer) => Promise<Viewer>;

/**
 * Tokens are issued for hours; agents are deactivated or demoted at any time. A token's agent must
 * be an active agent of the token's workspace, and acts with the lower of the token's role and its
 * current one. What the database says is trusted for `recheckMs` (0: read on every request), so a
 * change takes effect within that on every instance, at one query per agent per period.
 */
export function createAgentCheck(prisma: PrismaClient, recheckMs: number): AgentCheck {
  const standings = recheckMs > 0 ? new LRUCache<string, Promise<Standing>>({ max: 10_000, ttl: recheckMs }) : null;
  const standingOf = (agentId: string): Promise<Standing> => {
    const known = standings?.get(agentId);
    if (known) return known;
    const read = readRows<NonNullable<Standing>>(
      prisma,
      Prisma.sql`SELECT "workspaceId", "role", "active" FROM "Agent" WHERE "id" = ${agentId} ${CALLER_CHECK}`,
    ).then((rows) => rows[0] ?? null);
    standings?.set(agentId, read);
    // A failed read is not remembered: the next request tries again.
    read.catch(() => standings?.delete(agentId));
    return read;
  };
  return async (viewer) => {
    if (!viewer.agentId) return viewer;
    const agent = await standingOf(viewer.agentId);
    if (!agent || agent.workspaceId !== viewer.workspaceId) throw unauthenticated("The token's agent is not an agent of its workspace.");
    if (!agent.active) throw unauthenticated("This agent has been deactivated.");
    return RANK[agent.role] < RANK[viewer.role] ? { ...viewer, role: agent.role } : viewer;
  };
}

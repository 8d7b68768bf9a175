import type { AgentRole } from "../generated/prisma/enums.js";

/**
 * Who is calling, as their token or API key says. Every read and write is confined to
 * `workspaceId`. An API key acts for no agent (agentId null).
 */
export interface Viewer {
  agentId: string | null;
  apiKeyId?: string;
  workspaceId: string;
  role: AgentRole;
  /** When the token stops being valid (epoch ms); open subscriptions end then. */
  expiresAt?: number;
}

/** Who a write is recorded as done by: the agent (none for an API key), in its workspace. */
export type Actor = Pick<Viewer, "agentId" | "workspaceId">;

import type { Agent, PrismaClient, Workspace } from "../generated/prisma/client.js";
import type { AgentRole } from "../generated/prisma/enums.js";
import { DomainError, badInput, notFound } from "./errors.js";
import { newId, requireId } from "./ids.js";
import { normalizeEmail, requiredText } from "./text.js";

// The API has no mutations for workspaces and agents (the contract names none): these are for the
// operator's command line, `npm run workspace` and `npm run agent` (src/db/agents-cli.ts).

const MAX_NAME_LENGTH = 100;
const requireName = (value: string, field: string) => requiredText(value, field, MAX_NAME_LENGTH);

/** A new workspace with its first admin: how a deployment without demo data gets its first way in. */
export async function createWorkspace(
  prisma: PrismaClient,
  input: { name: string; admin: { name: string; email: string } },
): Promise<{ workspace: Workspace; admin: Agent }> {
  const name = requireName(input.name, "name");
  const admin = { name: requireName(input.admin.name, "adminName"), email: normalizeEmail(input.admin.email, "adminEmail") };
  return prisma.$transaction(async (tx) => {
    const workspace = await tx.workspace.create({ data: { id: newId("workspace"), name } });
    const agent = await tx.agent.create({ data: { id: newId("agent"), workspaceId: workspace.id, ...admin, role: "ADMIN" } });
    return { workspace, admin: agent };
  });
}

/** Adds an agent to a workspace; an email already in it is a CONFLICT. */
export async function createAgent(prisma: PrismaClient, input: { workspaceId: string; name: string; email: string; role: AgentRole }): Promise<Agent> {
  const workspaceId = requireId(input.workspaceId, "workspace", "workspace");
  const data = { name: requireName(input.name, "name"), email: normalizeEmail(input.email, "email") };
  if (!(await prisma.workspace.count({ where: { id: workspaceId } }))) throw notFound("workspace", workspaceId);
  // One statement, so two operators adding the same email cannot both succeed.
  const [agent] = await prisma.$queryRaw<Agent[]>`
    INSERT INTO "Agent" ("id", "workspaceId", "name", "email", "role")
    VALUES (${newId("agent")}, ${workspaceId}, ${data.name}, ${data.email}, CAST(${input.role} AS "AgentRole"))
    ON CONFLICT ("workspaceId", "email") DO NOTHING RETURNING *`;
  if (!agent) throw new DomainError("CONFLICT", `An agent with the email ${data.email} is already in this workspace.`, { field: "email" });
  return agent;
}

/**
 * Changes an agent's role or deactivates (or reactivates) it. Its tokens follow within
 * AGENT_RECHECK_MS on every instance, open subscriptions included (src/auth/agent-standing.ts).
 */
export async function updateAgent(prisma: PrismaClient, input: { agentId: string; role?: AgentRole; active?: boolean }): Promise<Agent> {
  const id = requireId(input.agentId, "agent", "agent");
  if (input.role === undefined && input.active === undefined) throw badInput("agent", "Say what to change: a role, or active or not.");
  const changed = await prisma.agent.updateManyAndReturn({ where: { id }, data: { role: input.role, active: input.active, updatedAt: new Date() } });
  if (!changed[0]) throw notFound("agent", id);
  return changed[0];
}

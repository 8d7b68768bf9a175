import type { ApiKey } from "../generated/prisma/client.js";
import type { AgentRole } from "../generated/prisma/enums.js";
import { generateApiKey } from "../auth/api-keys.js";
import type { Actor } from "../auth/viewer.js";
import { notFound } from "./errors.js";
import { requireId } from "./ids.js";
import { type WriteDeps, idFor } from "./write.js";
import { requiredText } from "./text.js";

export const MAX_KEY_NAME_LENGTH = 100;

/** A new key of the actor's workspace; the secret is returned here and never again (only its hash is kept). */
export async function createApiKey(
  deps: WriteDeps,
  actor: Actor,
  input: { name: string; role?: AgentRole | null },
): Promise<{ apiKey: ApiKey; secret: string }> {
  const name = requiredText(input.name, "name", MAX_KEY_NAME_LENGTH);
  const { secret, secretHash, prefix } = generateApiKey();
  const apiKey = await deps.prisma.apiKey.create({
    data: {
      id: idFor(deps, "apiKey"),
      workspaceId: actor.workspaceId,
      name,
      role: input.role ?? "AGENT",
      secretHash,
      prefix,
      createdById: actor.agentId,
    },
  });
  return { apiKey, secret };
}

/** Revokes a key of the actor's workspace: refused from the next request on. Revoking twice keeps the first time. */
export async function revokeApiKey(deps: WriteDeps, actor: Actor, input: { id: string }): Promise<ApiKey> {
  requireId(input.id, "apiKey");
  const where = { id: input.id, workspaceId: actor.workspaceId };
  await deps.prisma.apiKey.updateMany({ where: { ...where, revokedAt: null }, data: { revokedAt: deps.at ?? new Date() } });
  const apiKey = await deps.prisma.apiKey.findFirst({ where });
  if (!apiKey) throw notFound("API key", input.id);
  return apiKey;
}

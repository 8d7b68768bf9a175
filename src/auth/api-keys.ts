import { createHash, randomBytes } from "node:crypto";
import type { PrismaClient } from "../generated/prisma/client.js";
import type { Viewer } from "./viewer.js";
import { unauthenticated } from "./errors.js";

/** Every API key starts with this, so a bearer credential can be told from a JWT at a glance. */
export const API_KEY_PREFIX = "igk_";

/** A new secret: 32 random bytes, so a plain sha256 is a sufficient hash (no guessing to slow down). */
export function generateApiKey(): { secret: string; secretHash: string; prefix: string } {
  const secret = `${API_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  return { secret, secretHash: hashApiKey(secret), prefix: secret.slice(0, API_KEY_PREFIX.length + 6) };
}

function hashApiKey(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** The viewer an API key acts as: its workspace and role, and no agent. Revoked keys are refused at once. */
export async function viewerForApiKey(prisma: PrismaClient, secret: string): Promise<Viewer> {
  // Looked up by the secret's hash: what the index compares reveals nothing about a secret.
  const key = await prisma.apiKey.findUnique({ where: { secretHash: hashApiKey(secret) } });
  if (!key) throw unauthenticated("The API key is not valid.");
  if (key.revokedAt) throw unauthenticated("The API key has been revoked.");
  return { agentId: null, apiKeyId: key.id, workspaceId: key.workspaceId, role: key.role };
}

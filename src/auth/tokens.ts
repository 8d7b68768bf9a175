import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import jwt from "jsonwebtoken";
import { z } from "zod";
import { ConfigError } from "../config.js";
import { idKind } from "../domain/ids.js";
import { AgentRole } from "../generated/prisma/enums.js";
import type { Viewer } from "./viewer.js";
import { unauthenticated } from "./errors.js";

/** The claims an agent's token carries: who (sub), which workspace, and what they may do. */
const claimsSchema = z.object({
  sub: z.string().refine((id) => idKind(id) === "agent"),
  workspaceId: z.string().refine((id) => idKind(id) === "workspace"),
  role: z.enum(AgentRole),
  // A token without one would be good forever, and its subscriptions would never end.
  exp: z.number(),
});

export function viewerFromClaims(payload: unknown): Viewer {
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) {
    throw unauthenticated("The token lacks the sub, workspaceId, role or exp claim of an agent.");
  }
  const { sub, workspaceId, role, exp } = claims.data;
  return { agentId: sub, workspaceId, role, expiresAt: exp * 1000 };
}

/** An agent, as a token names it. */
export type TokenSubject = Pick<Viewer, "workspaceId" | "role"> & { agentId: string };

export function signAgentToken(
  secret: string,
  agent: TokenSubject,
  options: { expiresIn?: jwt.SignOptions["expiresIn"]; issuer?: string; audience?: string } = {},
): string {
  return jwt.sign({ workspaceId: agent.workspaceId, role: agent.role }, secret, {
    algorithm: "HS256",
    subject: agent.agentId,
    expiresIn: options.expiresIn ?? "12h",
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  });
}

/**
 * Outside production, a gateway without JWT_SECRET uses a development secret kept in the data
 * folder, so tokens printed at start keep working across restarts.
 */
export async function developmentSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, "dev-jwt-secret");
  const existing = await readFile(file, "utf8").catch(() => "");
  if (existing.trim().length >= 32) return existing.trim();
  const secret = randomBytes(32).toString("hex");
  try {
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, secret, { mode: 0o600 });
  } catch (error) {
    // The first thing written into DATA_DIR: a folder that cannot be one is a setting to fix.
    throw new ConfigError(`Invalid configuration:\n  DATA_DIR: cannot keep the development secret in ${dataDir} (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  return secret;
}

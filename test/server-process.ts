import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");

export interface ServerProcess {
  child: ChildProcess;
  /** The GraphQL endpoint the server says it listens on (with the real port when PORT=0). */
  url: URL;
  /** The development token the server prints for the demo admin. */
  token: string;
  /** The JSON log lines (stdout) so far. */
  logs(): string;
  /** What the server printed for people (stderr) so far. */
  console(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the real server the way the README does (`npm start`, i.e. tsx src/main.ts) and waits
 * until it prints where it listens. The caller kills it (stop, or SIGKILL in afterAll).
 */
export async function startServerProcess(options: { dataDir: string; port?: number; env?: Record<string, string>; viaNpm?: boolean }): Promise<ServerProcess> {
  // `npm start` itself (npm, then the shell, then node) or its node process alone.
  const [command, args] = options.viaNpm ? ["npm", ["start", "--silent"]] : [process.execPath, ["--import", "tsx", "src/main.ts"]];
  const child = spawn(command, args, {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(options.port ?? 0),
      HOST: "127.0.0.1",
      DATA_DIR: options.dataDir,
      LOG_LEVEL: "info",
      NODE_ENV: "development",
      JWT_SECRET: "",
      SHUTDOWN_DRAIN_MS: "0",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  // Outside production the token lines follow the address lines.
  const expectToken = (options.env?.NODE_ENV ?? "development") !== "production";
  // A first start seeds 1,000 conversations: seconds on an idle machine, minutes on a busy CI box.
  const deadline = Date.now() + 240_000;
  let ready: RegExpExecArray | null = null;
  // The lines for people on stderr, not the "gateway ready" log line: LOG_LEVEL may leave that out.
  while (!(ready = /GraphQL: +(\S+)\n/.exec(stderr)) || (expectToken && !/Bearer \S+\n/.test(stderr))) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not start: ${stdout}\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url: new URL(ready[1]!),
    token: /Bearer (\S+)/.exec(stderr)?.[1] ?? "",
    logs: () => stdout,
    console: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill("SIGTERM");
      }),
  };
}

/** Runs a TypeScript entry point of this repository (`src/db/cli.ts`, …) to its end, with `env` over this process's. */
export function runScript(file: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A GraphQL request to a server process on 127.0.0.1. */
export async function query(port: number, token: string, q: string) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: q }),
  });
  return (await res.json()) as { data: any };
}

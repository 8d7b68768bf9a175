import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";

/**
 * For the scripts that print a checked-in file from the code: writes `content` to `target`, or
 * with `--check` on the command line fails (exit 1) when the file differs, naming `command`.
 */
export async function writeOrCheck(target: string, content: string, command: string): Promise<void> {
  const name = basename(target);
  if (process.argv.includes("--check")) {
    const current = await readFile(target, "utf8").catch(() => "");
    if (current !== content) {
      console.error(`${name} is stale: run \`${command}\` and commit it.`);
      process.exit(1);
    }
    console.log(`${name} is up to date.`);
  } else {
    await writeFile(target, content);
    console.log(`Wrote ${target}`);
  }
}

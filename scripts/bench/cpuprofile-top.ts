/**
 * `node scripts/bench/cpuprofile-top.ts <file.cpuprofile> [--by=package|function] [--top=25] [--from=S --to=S]`:
 * where the CPU went in a V8 CPU profile (as `bench:mesh --profile-idle=<dir>` or `node --cpu-prof` write them), as
 * self time per npm package (or per function), so docs/scaling.md can say what a node spends its time on without
 * opening DevTools. `--from` / `--to` keep the samples of one stretch (seconds since the profile started), e.g.
 * one phase of a round that the logs' timestamps place.
 */
import { readFileSync } from "node:fs";

import { z } from "zod";

import { numberOption, option } from "./common.ts";

const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

/** Collapses a script URL to the package (or project folder) it belongs to. */
export function packageOf(url: string): string {
  if (url === "") return "(native / V8)";
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const rest = url.slice(modules + "node_modules/".length).split("/");
    return rest[0]?.startsWith("@") === true ? `${rest[0]}/${rest[1] ?? ""}` : (rest[0] ?? url);
  }
  if (url.startsWith("node:")) return url;
  const project = url.match(/\/(node|scripts|test)\/(.+)$/);
  return project === null ? url : `${project[1]}/${project[2]}`;
}

function main(): void {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write(
      "usage: cpuprofile-top.ts <file.cpuprofile> [--by=package|function] [--top=25] [--from=S --to=S]\n",
    );
    process.exit(2);
  }
  const by = option("by") ?? "package";
  const top = numberOption("top", 25);
  const profile = profileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  const keyOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
    keyOf.set(
      node.id,
      frame.url === "" && name.startsWith("(")
        ? name
        : by === "function"
          ? `${name} ${packageOf(frame.url)}:${frame.lineNumber + 1}`
          : packageOf(frame.url),
    );
  }
  const fromMicros = numberOption("from", 0) * 1e6;
  const toMicros = numberOption("to", Number.POSITIVE_INFINITY) * 1e6;
  const selfMicros = new Map<string, number>();
  let total = 0;
  let at = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (at < fromMicros || at > toMicros) return;
    const key = keyOf.get(id) ?? "?";
    selfMicros.set(key, (selfMicros.get(key) ?? 0) + dt);
    total += dt;
  });
  const idle = selfMicros.get("(idle)") ?? 0;
  const busy = total - idle;
  process.stdout.write(
    `${file}: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s profiled, ${(total / 1e6).toFixed(1)} s sampled, busy ${(busy / 1e6).toFixed(1)} s (${((busy / total) * 100).toFixed(0)}%)\n`,
  );
  const rows = [...selfMicros.entries()].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]);
  for (const [key, micros] of rows.slice(0, top)) {
    process.stdout.write(`${((micros / busy) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
  }
}

main();

/**
 * One `vain-node start` process of the soak, run through the real binary with the config `init` wrote. The soak
 * is its supervisor: it kills it (SIGKILL, as a power cut or the OOM killer would), restarts it, wipes its state,
 * and tells an exit it caused from a crash (any other exit). Output goes to `<dir>/node<i>.log` for the report.
 */
import type { ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import type { WriteStream } from "node:fs";
import { readFile, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import type { Address } from "viem";
import { directoryBytes } from "../../../node/runtime/disk-quota.ts";
import { spawnTied } from "../../../node/runtime/tied-spawn.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** Files that make the node who it is; a "wiped" node keeps them (as an operator restoring keys would). */
const IDENTITY_FILES = new Set(["config.json", "keystore.json", "node.key"]);
/** Kept in memory per node for failure reports: the end of the log is where a crash explains itself. */
const OUTPUT_TAIL_CHARS = 20_000;
/** A node that never says "node running" within this is reported as a crash (ms; under load start takes ~10 s). */
export const NODE_START_TIMEOUT_MS = 180_000;

export interface NodeCrash {
  readonly node: number;
  readonly at: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly tail: string;
}

export interface RssSample {
  readonly at: number;
  readonly mb: number;
  /** Which process lifetime of this node (increments on every start). */
  readonly life: number;
  /**
   * The main thread's V8 heap in use and allocated, and its external memory (ArrayBuffers, WASM memories of the
   * main isolate), from the node's `/metrics` at the same moment (MB; absent when the node did not answer, e.g.
   * frozen). RSS minus heap total minus external is native memory: worker threads, onnxruntime, malloc arenas.
   */
  readonly heapMB?: number;
  readonly heapTotalMB?: number;
  readonly externalMB?: number;
}

/** How long the soak waits for a node's `/metrics` (ms): a frozen node never answers. */
const METRICS_TIMEOUT_MS = 3_000;

/** The prom-client default metrics the node registers (prefix `vain_process_`, node/runtime/vain-node.ts), in MB. */
export function memoryFromMetrics(text: string): Pick<RssSample, "heapMB" | "heapTotalMB" | "externalMB"> {
  const read = (name: string): number | undefined => {
    const match = new RegExp(`^vain_process_${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
    return match === null ? undefined : Number(match[1]) / 1048576;
  };
  const heapMB = read("nodejs_heap_size_used_bytes");
  const heapTotalMB = read("nodejs_heap_size_total_bytes");
  const externalMB = read("nodejs_external_memory_bytes");
  return {
    ...(heapMB === undefined ? {} : { heapMB }),
    ...(heapTotalMB === undefined ? {} : { heapTotalMB }),
    ...(externalMB === undefined ? {} : { externalMB }),
  };
}

/** The data directory's size, per top-level entry (bytes), at one moment: what grows over a run. */
export interface DiskSample {
  readonly at: number;
  /** How many times the data directory had been wiped (a wipe starts a new series). */
  readonly wipes: number;
  readonly entries: Readonly<Record<string, number>>;
}

export class SoakNode {
  address: Address | undefined;
  /** The port of the node's status API (its config's `apiPort`), where the soak reads `/metrics`. */
  apiPort: number | undefined;
  /** VAIN its operator stakes at set-up, and tops back up to after a slash below the minimum (operator.ts). */
  stakeVain = 0;
  addresses: string[] = [];
  child: ChildProcess | undefined;
  life = 0;
  readonly crashes: NodeCrash[] = [];
  readonly rss: RssSample[] = [];
  readonly disk: DiskSample[] = [];
  /** Files and directories the node's disk quota guard deleted (its log lines, disk-quota.ts), over all lives. */
  quotaDeletions = 0;
  private wipes = 0;
  private tail = "";
  private readonly watchers = new Set<{ readonly pattern: RegExp; seen: boolean }>();
  private expectingExit = false;
  private readonly log: WriteStream;

  readonly index: number;
  readonly dataDir: string;
  private readonly env: Record<string, string>;

  constructor(index: number, dataDir: string, logDir: string, env: Record<string, string>) {
    this.index = index;
    this.dataDir = dataDir;
    this.env = env;
    this.log = createWriteStream(join(logDir, `node${index}.log`), { flags: "a" });
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get output(): string {
    return this.tail;
  }

  /** Starts the node and resolves with its listen addresses once it logged "node running". */
  start(bootstrap: readonly string[]): Promise<string[]> {
    const args = [join(ROOT, "node/bin/vain-node.js"), "start", "--data-dir", this.dataDir];
    for (const address of bootstrap) args.push("--bootstrap", address);
    // Tied: the node dies with the soak, however the soak dies (a test runner's timeout, SIGKILL).
    const child = spawnTied(join(ROOT, "node_modules/.bin/node"), args, {
      cwd: ROOT,
      env: { ...process.env, ...this.env, FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.life += 1;
    this.expectingExit = false;
    this.write(`\n=== soak: start (life ${this.life}) ${new Date().toISOString()}\n`);
    return new Promise((resolve, reject) => {
      let pending = "";
      const timer = setTimeout(() => {
        reject(new Error(`node ${this.index} did not start within ${NODE_START_TIMEOUT_MS} ms`));
        this.kill();
      }, NODE_START_TIMEOUT_MS);
      timer.unref();
      child.stdout?.on("data", (chunk: Buffer) => {
        const text = chunk.toString();
        this.write(text);
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          if (line.includes('"msg":"disk quota: deleted old round state or model"')) this.quotaDeletions += 1;
          if (!line.includes('"msg":"node running"')) continue;
          this.addresses = (JSON.parse(line) as { addresses: string[] }).addresses;
          clearTimeout(timer);
          resolve(this.addresses);
        }
      });
      child.stderr?.on("data", (chunk: Buffer) => this.write(chunk.toString()));
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        this.write(`=== soak: exit code ${code} signal ${signal} ${new Date().toISOString()}\n`);
        if (!this.expectingExit) {
          this.crashes.push({
            node: this.index,
            at: Date.now(),
            code,
            signal,
            tail: this.tail.slice(-4_000),
          });
        }
        reject(new Error(`node ${this.index} exited with ${code ?? signal} before running`));
      });
    });
  }

  /** SIGKILL (the soak's fault, not a crash); resolves once the process is gone. */
  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return Promise.resolve();
    this.expectingExit = true;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    return exited;
  }

  /** SIGSTOP for `ms`, then SIGCONT: a hung process (swap storm, frozen VM), not a crash. */
  async freeze(ms: number): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    process.kill(pid, "SIGSTOP");
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
    } finally {
      // Gone meanwhile (the run ended): nothing to resume.
      if (this.pid === pid) process.kill(pid, "SIGCONT");
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`: the clean stop at the end of a run. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    this.expectingExit = true;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Deletes everything but the identity (keys, config): rounds, models, history, reputation, locks. */
  async wipe(): Promise<void> {
    if (this.running) throw new Error(`node ${this.index} must be stopped before its data is wiped`);
    for (const entry of await readdir(this.dataDir)) {
      if (!IDENTITY_FILES.has(entry)) await rm(join(this.dataDir, entry), { recursive: true, force: true });
    }
    this.wipes += 1;
    this.write(`=== soak: data directory wiped ${new Date().toISOString()}\n`);
  }

  /** Samples the process's resident set size from /proc (worker threads included). */
  async sampleRss(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    const life = this.life;
    const [status, metrics] = await Promise.all([
      readFile(`/proc/${pid}/status`, "utf8").catch(() => ""),
      this.apiPort === undefined
        ? ""
        : fetch(`http://127.0.0.1:${this.apiPort}/metrics`, {
            signal: AbortSignal.timeout(METRICS_TIMEOUT_MS),
          })
            .then((res) => (res.ok ? res.text() : ""))
            .catch(() => ""),
    ]);
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (match === null) return;
    this.rss.push({ at: Date.now(), mb: Number(match[1]) / 1024, life, ...memoryFromMetrics(metrics) });
  }

  /** Measures the data directory, entry by entry (a wipe in progress reads as missing entries, not an error). */
  async sampleDisk(): Promise<void> {
    const entries: Record<string, number> = {};
    for (const name of await readdir(this.dataDir).catch((): string[] => [])) {
      const path = join(this.dataDir, name);
      const bytes = await directoryBytes(path);
      entries[name] =
        bytes > 0
          ? bytes
          : await stat(path).then(
              (s) => (s.isFile() ? s.size : 0),
              () => 0,
            );
    }
    this.disk.push({ at: Date.now(), wipes: this.wipes, entries });
  }

  /** Lines of the node's output since the soak started that match `pattern` (for the report). */
  note(text: string): void {
    this.write(`=== soak: ${text} ${new Date().toISOString()}\n`);
  }

  close(): void {
    this.log.end();
  }

  /** Starts looking for `pattern` in the output; `seen` turns true on the first match. Stop with `unwatch`. */
  watch(pattern: RegExp): { readonly pattern: RegExp; seen: boolean } {
    const watcher = { pattern, seen: false };
    this.watchers.add(watcher);
    return watcher;
  }

  unwatch(watcher: { readonly pattern: RegExp; seen: boolean }): void {
    this.watchers.delete(watcher);
  }

  private write(text: string): void {
    for (const watcher of this.watchers) if (watcher.pattern.test(text)) watcher.seen = true;
    this.tail = (this.tail + text).slice(-OUTPUT_TAIL_CHARS);
    this.log.write(text);
  }
}

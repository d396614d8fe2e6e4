/**
 * The `vain-node` package's npm-shrinkwrap.json, cut from the repository's package-lock.json: every package the
 * node's run-time dependencies reach, at the version (and integrity) the repository installs and tests with.
 * npm honours a dependency's shrinkwrap, so an operator's `npm install vain-node-*.tgz` gets the tested tree,
 * not whatever newer transitive versions the registry holds that day. Paths stay as the root lockfile hoists
 * them: a subset of a valid node_modules layout that holds every target its packages resolve to is valid too.
 */

/** One `packages` entry of a lockfile v3 (the fields this needs; the rest is copied as it is). */
export interface LockEntry {
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly [field: string]: unknown;
}

export interface Lockfile {
  readonly lockfileVersion: number;
  readonly packages: Record<string, LockEntry>;
}

/** A lockfile has no run-time tree that can be cut for the package. */
export class ShrinkwrapError extends Error {
  override readonly name = "ShrinkwrapError";
  readonly code = "SHRINKWRAP";
}

/** The path Node resolves `name` to from the package at `from` ("" is the root), or undefined. */
function resolveFrom(packages: Lockfile["packages"], from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === "" ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === "") return undefined;
    const up = base.lastIndexOf("/node_modules/");
    base = up === -1 ? "" : base.slice(0, up);
  }
}

/** Fields of the root lockfile that describe the repository's install, not the package's. */
const REPOSITORY_ONLY_FIELDS = new Set(["dev", "devOptional", "extraneous"]);

/**
 * The shrinkwrap of the workspace package at `workspace` (its path in the root lockfile, e.g. "node"), whose
 * package.json is `manifest`.
 */
export function shrinkwrapFromLock(
  lock: Lockfile,
  workspace: string,
  manifest: { name: string; version: string; dependencies: Record<string, string> } & Record<string, unknown>,
): Lockfile & { name: string; version: string; requires: true } {
  if (lock.lockfileVersion < 2) throw new ShrinkwrapError("the root lockfile has no `packages` (npm < 7)");
  const nested = Object.keys(lock.packages).filter((path) => path.startsWith(`${workspace}/node_modules/`));
  if (nested.length > 0) {
    // The workspace's own node_modules would collide with the root's once both become the package's.
    throw new ShrinkwrapError(`${workspace} has packages of its own in the lockfile: ${nested.join(", ")}`);
  }
  const reached = new Set<string>();
  const visit = (from: string, names: Record<string, string>, optional: (name: string) => boolean) => {
    for (const name of Object.keys(names)) {
      const path = resolveFrom(lock.packages, from, name);
      if (path === undefined) {
        if (optional(name)) continue;
        throw new ShrinkwrapError(
          `${name}, needed by ${from === workspace ? manifest.name : from}, is not in the lockfile`,
        );
      }
      if (reached.has(path)) continue;
      reached.add(path);
      const entry = lock.packages[path]!;
      visit(path, entry.dependencies ?? {}, () => false);
      visit(path, entry.optionalDependencies ?? {}, () => true);
      // Optional peers (viem's `typescript`) are the installer's choice: npm leaves them out, so does this.
      const peers = Object.entries(entry.peerDependencies ?? {}).filter(
        ([peer]) => entry.peerDependenciesMeta?.[peer]?.optional !== true,
      );
      visit(path, Object.fromEntries(peers), () => false);
    }
  };
  visit(workspace, manifest.dependencies, () => false);
  const packages: Record<string, LockEntry> = {
    "": {
      name: manifest.name,
      version: manifest.version,
      license: manifest["license"],
      dependencies: manifest.dependencies,
      bin: manifest["bin"],
      engines: manifest["engines"],
    },
  };
  for (const path of [...reached].sort()) {
    packages[path] = Object.fromEntries(
      Object.entries(lock.packages[path]!).filter(([field]) => !REPOSITORY_ONLY_FIELDS.has(field)),
    );
  }
  return { name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages };
}

/**
 * Connection slots by network prefix. An attacker's cost is addresses, not peer IDs (keys are free), and
 * addresses come in blocks: one host on IPv4 usually means its /24 is cheap, and one IPv6 customer gets a whole
 * /56 (billions of /64s). So budgets count connections per prefix, and when a budget is full the oldest holder
 * of a slot yields to the newcomer: a slot is a short lease, never a possession.
 */
import type { Multiaddr } from "@multiformats/multiaddr";

/** IPv4 prefix length that counts as one source: one /24 is what a single host or small provider controls. */
export const IPV4_PREFIX_BITS = 24;
/** IPv6 prefix length that counts as one source: providers delegate a /56 (sometimes a /48) per customer. */
export const IPV6_PREFIX_BITS = 56;

/** The network prefix of an IP address (`"ip4:10.1.2.0/24"`), or undefined for non-IP addresses. */
export function prefixOfIp(ip: string, family: "ip4" | "ip6"): string | undefined {
  if (family === "ip4") {
    const parts = ip.split(".");
    if (parts.length !== 4) return undefined;
    return `ip4:${parts.slice(0, IPV4_PREFIX_BITS / 8).join(".")}/${IPV4_PREFIX_BITS}`;
  }
  const groups = expandIpv6(ip);
  if (groups === undefined) return undefined;
  const whole = Math.floor(IPV6_PREFIX_BITS / 16);
  const kept = groups.slice(0, whole);
  const rest = IPV6_PREFIX_BITS % 16;
  if (rest > 0) {
    const mask = (0xffff << (16 - rest)) & 0xffff;
    kept.push((groups[whole] ?? 0) & mask);
  }
  return `ip6:${kept.map((g) => g.toString(16)).join(":")}/${IPV6_PREFIX_BITS}`;
}

/** The prefix of a connection's remote address (its first `ip4`/`ip6` component). */
export function prefixOf(address: Multiaddr): string | undefined {
  const [first] = address.getComponents();
  if (first?.value === undefined || (first.name !== "ip4" && first.name !== "ip6")) return undefined;
  return prefixOfIp(first.value, first.name);
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function expandIpv6(ip: string): number[] | undefined {
  const zone = ip.indexOf("%");
  const bare = zone >= 0 ? ip.slice(0, zone) : ip;
  const halves = bare.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    for (const group of part.split(":")) {
      if (group.includes(".")) {
        // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
        const octets = group.split(".").map(Number);
        if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) return undefined;
        out.push(((octets[0] ?? 0) << 8) | (octets[1] ?? 0), ((octets[2] ?? 0) << 8) | (octets[3] ?? 0));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
        out.push(Number.parseInt(group, 16));
      }
    }
    return out;
  };
  const head = parse(halves[0] ?? "");
  const tail = halves.length === 2 ? parse(halves[1] ?? "") : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  return [...head, ...Array<number>(missing).fill(0), ...tail];
}

/**
 * Holders of slots, oldest first, counted in total and per prefix. Pure bookkeeping: the caller decides what
 * "yield" means for a holder (abort a socket, close a connection).
 */
export class SlotTable<K> {
  private readonly holders = new Map<K, string>();
  private readonly perPrefix = new Map<string, number>();

  get size(): number {
    return this.holders.size;
  }

  has(key: K): boolean {
    return this.holders.has(key);
  }

  count(prefix: string): number {
    return this.perPrefix.get(prefix) ?? 0;
  }

  add(key: K, prefix: string): void {
    if (this.holders.has(key)) return;
    this.holders.set(key, prefix);
    this.perPrefix.set(prefix, this.count(prefix) + 1);
  }

  delete(key: K): void {
    const prefix = this.holders.get(key);
    if (prefix === undefined) return;
    this.holders.delete(key);
    const left = this.count(prefix) - 1;
    if (left > 0) this.perPrefix.set(prefix, left);
    else this.perPrefix.delete(prefix);
  }

  /** The longest-held slot, of `prefix` when given. */
  oldest(prefix?: string): K | undefined {
    for (const [key, holderPrefix] of this.holders) {
      if (prefix === undefined || holderPrefix === prefix) return key;
    }
    return undefined;
  }

  keys(): IterableIterator<K> {
    return this.holders.keys();
  }
}

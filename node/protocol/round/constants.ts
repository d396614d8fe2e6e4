/**
 * Defaults of the round protocol's data spreading (docs/protocol.md §5), with their units and why each number is
 * what it is. How a proven round's updates reach every watcher (update-relay.ts, round-data.ts `distribute`).
 */

/**
 * Peers (count) a proven round's aggregator pushes each screened update to after posting: the seeds. Each seed
 * that checked the update against its trainer's commitment relays it on (RELAY_COPIES_PER_BLOB), so the
 * aggregator uploads UPDATE_SEED_PEERS × the round's update bytes whatever the number of watchers (pushing to every
 * admitted peer cost 1.80 / 5.15 / 5.24 MB at 128 / 256 / 512 nodes, session 20). Three, as the aggregate's seeds
 * (AGGREGATE_SEED_PEERS): one seed lost or lying still leaves two.
 */
export const UPDATE_SEED_PEERS = 3;
/**
 * Pushes (count) the aggregator tries per update to land its UPDATE_SEED_PEERS seeds: a peer that answers "held"
 * (it fetched the update already, or it is not in the task) costs a header, not a body, and the next is asked.
 */
export const UPDATE_SEED_TRIES = 8;
/**
 * Bodies (count) a node relays of one update it received pushed and checked: three new holders a hop, so a group
 * of 16 is covered in two or three hops (3 → 12 → 16) and a task of 1,000 watchers in about six; watchers a relay
 * missed fetch the update from its holders after the push grace (aggregate-watcher.ts), as before.
 */
export const RELAY_COPIES_PER_BLOB = 3;
/**
 * Pushes (count) a node tries per relayed update: a "held" answer (the peer has it: duplicates cost a header) or a
 * failure moves on to the next peer, so a relay near the end of the spread ends after a few headers.
 */
export const RELAY_TRIES_PER_BLOB = 8;
/**
 * Relayed bodies (count) a node sends per RELAY_WINDOW_MS, over every update: a proven round has at most 16
 * trainers (MAX_TRAINERS_PER_ROUND for a proven round's chained proof), so one round costs at most
 * 16 × RELAY_COPIES_PER_BLOB = 48 bodies, and a node in a leaf group and the round above (two proven rounds
 * posted within a minute) 96. Past it a node relays nothing until the window turns: its peers fetch late. What
 * a peer flooding us with valid relays can make us upload is bounded by it (and each update is relayed once).
 */
export const RELAY_COPIES_PER_WINDOW = 128;
/** The window of RELAY_COPIES_PER_WINDOW (ms): a minute, the time a round's updates take to spread at load. */
export const RELAY_WINDOW_MS = 60_000;
/**
 * Updates (count) whose relay a node remembers (each is relayed once): a round of 16 updates, ROUNDS_KEPT rounds
 * and several tasks fit many times over; the oldest are forgotten first (a forgotten one that comes again pushed
 * is relayed again, within the window's budget).
 */
export const RELAY_TRACKED_BLOBS = 1_024;
/**
 * How long a node that checked a pushed update waits for the aggregator's announcement that lists it before it
 * gives up relaying it (ms): the announcement is gossiped before the aggregator's first push, so it is usually
 * there already; only an update the round's aggregator signed it screened is relayed.
 */
export const RELAY_ANNOUNCEMENT_WAIT_MS = 5_000;

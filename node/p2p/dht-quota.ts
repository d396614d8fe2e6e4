/**
 * Record quotas of the DHT. kad-dht 16 stores what peers send (ADD_PROVIDER, PUT_VALUE) in libp2p's datastore
 * and has no per-peer limit of its own (issue #19: never-admitted peers stored 330,604 provider records in
 * 40 s, +590 MB). The DHT is behind admission and its streams are rate-limited per peer (protocol-gate.ts), but
 * an admitted peer could still fill memory at its stream rate. This datastore is the bound: kad-dht keys a
 * provider record `/dht/provider/<cid>/<provider peer ID>` and stores only providers equal to the sender, so the
 * key names the peer to charge; value records (`/dht/record/<key>`) name no sender and get a total cap. Past a
 * quota the put throws, kad-dht's handler fails and the record is not stored. vAIn itself uses the DHT only for
 * peer routing (it never provides or puts values), so the quotas leave room for other software and no more.
 */
import { MemoryDatastore } from "datastore-core/memory";

import { MeshError } from "./errors.ts";

export interface DhtRecordQuotas {
  /** Provider records one provider peer may have stored here. */
  readonly providersPerPeer: number;
  /** Provider records of all peers together. */
  readonly providersTotal: number;
  /** Value records (PUT_VALUE) together. */
  readonly valuesTotal: number;
}

/** 64 records per peer × the connection cap stays far below the total; the totals bound memory to a few MB. */
export const DEFAULT_DHT_RECORD_QUOTAS: DhtRecordQuotas = {
  providersPerPeer: 64,
  providersTotal: 4_096,
  valuesTotal: 256,
};

type Key = Parameters<MemoryDatastore["put"]>[0];

const PROVIDER_PREFIX = "/dht/provider/";
const VALUE_PREFIX = "/dht/record/";

export class QuotaDatastore extends MemoryDatastore {
  private readonly quotas: DhtRecordQuotas;
  private readonly perPeer = new Map<string, number>();
  private providers = 0;
  private values = 0;
  /** Records refused for a quota. */
  readonly refused = { providers: 0, values: 0 };

  constructor(quotas: DhtRecordQuotas = DEFAULT_DHT_RECORD_QUOTAS) {
    super();
    this.quotas = quotas;
  }

  /** Provider records stored now, and how many of them `peerId` holds. */
  providerRecords(peerId?: string): number {
    return peerId === undefined ? this.providers : (this.perPeer.get(peerId) ?? 0);
  }

  override async put(key: Key, val: Uint8Array): Promise<Key> {
    const text = key.toString();
    if (!(await super.has(key))) {
      if (text.startsWith(PROVIDER_PREFIX)) {
        const peer = text.slice(text.lastIndexOf("/") + 1);
        const held = this.perPeer.get(peer) ?? 0;
        if (held >= this.quotas.providersPerPeer || this.providers >= this.quotas.providersTotal) {
          this.refused.providers += 1;
          throw new MeshError("RATE_LIMITED", "DHT provider record quota reached");
        }
        this.perPeer.set(peer, held + 1);
        this.providers += 1;
      } else if (text.startsWith(VALUE_PREFIX)) {
        if (this.values >= this.quotas.valuesTotal) {
          this.refused.values += 1;
          throw new MeshError("RATE_LIMITED", "DHT value record quota reached");
        }
        this.values += 1;
      }
    }
    return super.put(key, val);
  }

  override async delete(key: Key): Promise<void> {
    const text = key.toString();
    if (await super.has(key)) {
      if (text.startsWith(PROVIDER_PREFIX)) {
        const peer = text.slice(text.lastIndexOf("/") + 1);
        const left = (this.perPeer.get(peer) ?? 1) - 1;
        if (left > 0) this.perPeer.set(peer, left);
        else this.perPeer.delete(peer);
        this.providers -= 1;
      } else if (text.startsWith(VALUE_PREFIX)) this.values -= 1;
    }
    await super.delete(key);
  }
}

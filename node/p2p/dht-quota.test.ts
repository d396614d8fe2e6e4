/**
 * DHT record quotas (dht-quota.ts) on the keys kad-dht 16 writes: provider records are charged to the provider
 * peer named in the key, value records to a total; deleting a record (kad-dht's expiry) frees its place.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Key } from "interface-datastore";

import { QuotaDatastore } from "./dht-quota.ts";

const provider = (cid: number, peer: string): Key => new Key(`/dht/provider/bafy${cid}/${peer}`);

describe("QuotaDatastore", () => {
  it("caps provider records per provider peer and in total, and frees them on delete", async () => {
    const store = new QuotaDatastore({ providersPerPeer: 3, providersTotal: 5, valuesTotal: 1 });
    const value = new Uint8Array([1]);
    for (let i = 0; i < 3; i++) await store.put(provider(i, "peerA"), value);
    await store.put(provider(0, "peerA"), value); // a refresh of a record it holds is free
    await assert.rejects(store.put(provider(3, "peerA"), value), /quota/);
    await store.put(provider(0, "peerB"), value);
    await store.put(provider(1, "peerB"), value);
    await assert.rejects(store.put(provider(2, "peerC"), value), /quota/, "the total is reached");
    assert.equal(store.providerRecords(), 5);
    assert.equal(store.providerRecords("peerA"), 3);
    await store.delete(provider(0, "peerA"));
    await store.put(provider(9, "peerC"), value);
    assert.deepEqual(store.refused, { providers: 2, values: 0 });
    await store.put(new Key("/dht/record/abc"), value);
    await assert.rejects(store.put(new Key("/dht/record/def"), value), /quota/);
    // Other libp2p data (the peer store lives elsewhere; anything else) is not charged.
    await store.put(new Key("/other/thing"), value);
  });
});

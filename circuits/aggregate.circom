pragma circom 2.1.0;

// Proves that one chunk of an aggregate is the floor-weighted average of the same chunk of K trainers'
// committed updates (docs/protocol.md §4-5).
//
// Values are offset fixed point: u = x·2^FRAC + 2^(VBITS-1), range-checked to VBITS bits. For every
// coordinate j:   agg[j]·W + rem[j] == Σ_k w[k]·u[k][j],  0 <= rem[j] < W,  W = Σ_k w[k] > 0.
// Because Σ_k w[k]·2^(VBITS-1) = W·2^(VBITS-1), the aggregate in offset form is the offset aggregate.
//
// A chunk hash is Poseidon over the chunk's values packed PACK per field element (PACK·VBITS <= 253), so a
// chunk of C values costs VBITS range-check constraints per value and one Poseidon call.
//
// Public inputs (in this order): trainerHash[K], aggregateHash, weightsPacked[WP], roundChunk
//   weightsPacked[i] = Σ_{k in group i} w[k]·2^(WBITS·(k - i·WPER));  roundChunk = roundId·2^32 + chunkIndex
// roundChunk only binds the proof to its round and chunk (it is not used in constraints beyond that).

include "../node_modules/circomlib/circuits/poseidon.circom";
include "../node_modules/circomlib/circuits/bitify.circom";

template PackedHash(C, VBITS) {
    var PACK = 253 \ VBITS;
    var N = (C + PACK - 1) \ PACK;
    signal input values[C];
    signal output out;
    component hash = Poseidon(N);
    for (var e = 0; e < N; e++) {
        var acc = 0;
        for (var i = 0; i < PACK; i++) {
            if (e * PACK + i < C) {
                acc += values[e * PACK + i] * (1 << (VBITS * i));
            }
        }
        hash.inputs[e] <== acc;
    }
    out <== hash.out;
}

template AggregateChunk(K, C, VBITS, WBITS) {
    var WPER = 253 \ WBITS;
    var WP = (K + WPER - 1) \ WPER;
    var SUMBITS = WBITS + 4; // K <= 16 trainers

    signal input trainerHash[K];
    signal input aggregateHash;
    signal input weightsPacked[WP];
    signal input roundChunk;

    signal input u[K][C];
    signal input w[K];
    signal input agg[C];
    signal input rem[C];

    // Weights: WBITS each, bound to the public packed weights.
    component wBits[K];
    var packed[WP];
    for (var i = 0; i < WP; i++) packed[i] = 0;
    var total = 0;
    for (var k = 0; k < K; k++) {
        wBits[k] = Num2Bits(WBITS);
        wBits[k].in <== w[k];
        packed[k \ WPER] += w[k] * (1 << (WBITS * (k % WPER)));
        total += w[k];
    }
    for (var i = 0; i < WP; i++) weightsPacked[i] === packed[i];
    signal W;
    W <== total;
    // W > 0: W - 1 fits in SUMBITS bits (a field wrap of 0 - 1 does not).
    component wPositive = Num2Bits(SUMBITS);
    wPositive.in <== W - 1;

    // Each trainer's chunk: range checks and hash.
    component uBits[K][C];
    component tHash[K];
    for (var k = 0; k < K; k++) {
        tHash[k] = PackedHash(C, VBITS);
        for (var j = 0; j < C; j++) {
            uBits[k][j] = Num2Bits(VBITS);
            uBits[k][j].in <== u[k][j];
            tHash[k].values[j] <== u[k][j];
        }
        trainerHash[k] === tHash[k].out;
    }

    // Weighted sums and floor division.
    signal products[C][K];
    component aggBits[C];
    component remBits[C];
    component remBelowW[C];
    component aHash = PackedHash(C, VBITS);
    for (var j = 0; j < C; j++) {
        var sum = 0;
        for (var k = 0; k < K; k++) {
            products[j][k] <== w[k] * u[k][j];
            sum += products[j][k];
        }
        agg[j] * W + rem[j] === sum;
        aggBits[j] = Num2Bits(VBITS);
        aggBits[j].in <== agg[j];
        remBits[j] = Num2Bits(SUMBITS);
        remBits[j].in <== rem[j];
        remBelowW[j] = Num2Bits(SUMBITS);
        remBelowW[j].in <== W - 1 - rem[j];
        aHash.values[j] <== agg[j];
    }
    aggregateHash === aHash.out;

    // Bind roundChunk into the proof (a square constraint so it is not optimised away).
    signal roundChunkSquared;
    roundChunkSquared <== roundChunk * roundChunk;
}

component main {public [trainerHash, aggregateHash, weightsPacked, roundChunk]} = AggregateChunk(8, 64, 16, 16);

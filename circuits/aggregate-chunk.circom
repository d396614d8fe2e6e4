pragma circom 2.1.0;

// Proves that one chunk of an aggregate is the floor-weighted average of the same chunk of K trainers'
// committed updates (docs/protocol.md §4-5). Templates only: circuits/aggregate.circom instantiates the
// production circuit; the benchmark instantiates other fan-ins.
//
// Values are offset fixed point: u = x·2^FRAC + 2^(VBITS-1), range-checked to VBITS bits. For every
// coordinate j:   agg[j]·W + rem[j] == Σ_k w[k]·u[k][j],  0 <= rem[j] < W,  W = Σ_k w[k] (> 0, implied by
// 0 <= rem < W). Because Σ_k w[k]·2^(VBITS-1) = W·2^(VBITS-1), the offset aggregate is the aggregate's offset.
//
// The one public input is the statement hash
//   Poseidon(trainerHash[0..K-1], aggregateHash, weightsPacked[0..WP-1], roundChunk)
// (two levels when that is more than 16 inputs), recomputed here from private values, so the verifier pays
// for one public input whatever K is.

include "../node_modules/circomlib/circuits/poseidon.circom";
include "../node_modules/circomlib/circuits/bitify.circom";

function ceilLog2(n) {
    var r = 0;
    while ((1 << r) < n) r++;
    return r;
}

// Poseidon over a chunk's values packed 253 \ VBITS per field element (little-endian VBITS-bit slots). The
// caller range-checks every value, which makes the packing injective.
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

// The statement hash (see the header). Inputs beyond 16 are folded by hashing the trainer hashes first.
template StatementHash(K, WP) {
    signal input trainerHash[K];
    signal input aggregateHash;
    signal input weightsPacked[WP];
    signal input roundChunk;
    signal output out;
    var N = K + WP + 2;
    if (N <= 16) {
        component h = Poseidon(N);
        for (var k = 0; k < K; k++) h.inputs[k] <== trainerHash[k];
        h.inputs[K] <== aggregateHash;
        for (var i = 0; i < WP; i++) h.inputs[K + 1 + i] <== weightsPacked[i];
        h.inputs[K + 1 + WP] <== roundChunk;
        out <== h.out;
    } else {
        component inner = Poseidon(K);
        for (var k = 0; k < K; k++) inner.inputs[k] <== trainerHash[k];
        component outer = Poseidon(WP + 3);
        outer.inputs[0] <== inner.out;
        outer.inputs[1] <== aggregateHash;
        for (var i = 0; i < WP; i++) outer.inputs[2 + i] <== weightsPacked[i];
        outer.inputs[2 + WP] <== roundChunk;
        out <== outer.out;
    }
}

template AggregateChunk(K, C, VBITS, WBITS) {
    var LOGK = ceilLog2(K);
    // W = Σ w <= K·(2^WBITS - 1) < 2^SUMBITS, so rem < W fits in SUMBITS bits.
    var SUMBITS = WBITS + LOGK;
    // Σ_k w·u < K·2^(WBITS+VBITS) <= 2^SLOT and agg·W + rem < 2^VBITS·W <= 2^SLOT: per-coordinate sums fit in
    // SLOT bits, so SPER of them packed in one field element (SPER·SLOT <= 253) never carry into each other.
    var SLOT = VBITS + WBITS + LOGK;
    var SPER = 253 \ SLOT;
    var NS = (C + SPER - 1) \ SPER;
    var WPER = 253 \ WBITS;
    var WP = (K + WPER - 1) \ WPER;

    signal input statement; // the only public input

    signal input roundChunk;
    signal input u[K][C];
    signal input w[K];
    signal input agg[C];
    signal input rem[C];

    // Weights: WBITS each, packed as the chain packs them.
    component wBits[K];
    var packed[WP];
    for (var i = 0; i < WP; i++) packed[i] = 0;
    var W = 0;
    for (var k = 0; k < K; k++) {
        wBits[k] = Num2Bits(WBITS);
        wBits[k].in <== w[k];
        packed[k \ WPER] += w[k] * (1 << (WBITS * (k % WPER)));
        W += w[k];
    }

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
    }

    // agg·W + rem == Σ_k w·u for SPER coordinates at once: one product per trainer per group instead of
    // one per trainer per coordinate. Both sides are sums of SPER slot values below 2^SLOT, so equality in
    // the field is equality of every slot.
    signal wu[NS][K];
    signal aggW[NS];
    for (var s = 0; s < NS; s++) {
        var lhs = 0;
        for (var k = 0; k < K; k++) {
            var pu = 0;
            for (var i = 0; i < SPER; i++) {
                if (s * SPER + i < C) pu += u[k][s * SPER + i] * (1 << (SLOT * i));
            }
            wu[s][k] <== w[k] * pu;
            lhs += wu[s][k];
        }
        var pa = 0;
        var pr = 0;
        for (var i = 0; i < SPER; i++) {
            if (s * SPER + i < C) {
                pa += agg[s * SPER + i] * (1 << (SLOT * i));
                pr += rem[s * SPER + i] * (1 << (SLOT * i));
            }
        }
        aggW[s] <== W * pa;
        lhs === aggW[s] + pr;
    }

    // Ranges: agg in VBITS (makes its packed hash injective), 0 <= rem < W (floor division).
    component aggBits[C];
    component remBits[C];
    component remBelowW[C];
    component aHash = PackedHash(C, VBITS);
    for (var j = 0; j < C; j++) {
        aggBits[j] = Num2Bits(VBITS);
        aggBits[j].in <== agg[j];
        remBits[j] = Num2Bits(SUMBITS);
        remBits[j].in <== rem[j];
        remBelowW[j] = Num2Bits(SUMBITS);
        remBelowW[j].in <== W - 1 - rem[j];
        aHash.values[j] <== agg[j];
    }

    component st = StatementHash(K, WP);
    for (var k = 0; k < K; k++) st.trainerHash[k] <== tHash[k].out;
    st.aggregateHash <== aHash.out;
    for (var i = 0; i < WP; i++) st.weightsPacked[i] <== packed[i];
    st.roundChunk <== roundChunk;
    statement === st.out;
}

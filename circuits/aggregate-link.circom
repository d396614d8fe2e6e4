pragma circom 2.1.0;

// One link of a chained aggregation proof: a round with any number of trainers N is proven chunk by chunk in
// ceil(N / K) links of K trainers each (docs/scaling.md "Chained proofs"). Link i takes the running weighted
// sums of trainers [0, iK) for one chunk (committed by their hash) and the running total weight, adds its K
// trainers' w·u, and outputs the new running sums' hash and total; every link also proves the floor average of
// its running sums (agg·W + rem == sum, 0 <= rem < W), so the last link's aggregate hash is the round's
// aggregate chunk. Link 0 starts from zero sums and zero weight; the chain is checked by the statements
// (link i's sumIn hash and wIn are link i-1's sumOut hash and wOut).
//
// Sums are unnormalised: sum[j] = Σ w·u < N·2^(WBITS+VBITS) <= 2^SBITS, SBITS = VBITS + WBITS + NBITS. They
// are committed packed SPER = 253 \ SBITS per field element, the same packing the sum constraint uses, so the
// incoming packed sums need no range check: the constraint adds to them slot-wise without carries, and the
// outgoing sums are range-checked (which makes their packing injective for the next link).
//
// The one public input is Poseidon(Poseidon(trainerHash[0..K-1]), sumInHash, sumOutHash, aggregateHash,
// weightsPacked[0..WP-1], wIn, wOut, roundChunk, link).

include "aggregate-chunk.circom";
include "../node_modules/circomlib/circuits/comparators.circom";

template AggregateLink(K, C, VBITS, WBITS, NBITS) {
    var SBITS = VBITS + WBITS + NBITS;
    var SPER = 253 \ SBITS;
    var NS = (C + SPER - 1) \ SPER;
    var WBITS_ALL = WBITS + NBITS; // total weight of the whole chain < 2^WBITS_ALL
    var WPER = 253 \ WBITS;
    var WP = (K + WPER - 1) \ WPER;

    signal input statement; // the only public input

    signal input roundChunk;
    signal input link;
    signal input u[K][C];
    signal input w[K];
    signal input wIn;
    signal input sumInPacked[NS];
    signal input sumOut[C];
    signal input agg[C];
    signal input rem[C];

    // Weights: WBITS each, packed as the chain packs them; the running total.
    component wBits[K];
    var packed[WP];
    for (var i = 0; i < WP; i++) packed[i] = 0;
    var wSum = 0;
    for (var k = 0; k < K; k++) {
        wBits[k] = Num2Bits(WBITS);
        wBits[k].in <== w[k];
        packed[k \ WPER] += w[k] * (1 << (WBITS * (k % WPER)));
        wSum += w[k];
    }
    component wInBits = Num2Bits(WBITS_ALL);
    wInBits.in <== wIn;
    signal wOut;
    wOut <== wIn + wSum;
    component wOutBits = Num2Bits(WBITS_ALL);
    wOutBits.in <== wOut;
    // The divisor: wOut, or 1 while every trainer so far had weight 0 (sums 0, agg 0, rem 0), so a chain whose
    // first links are all rejected trainers still proves. The last link's wOut is the round's total (> 0).
    component noWeight = IsZero();
    noWeight.in <== wOut;
    signal divisor;
    divisor <== wOut + noWeight.out;

    // Each trainer's chunk: range checks and hash (as in the flat circuit).
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

    // sumOut = sumIn + Σ_k w·u, SPER coordinates at a time (slot-wise: no slot exceeds 2^SBITS).
    component sumOutBits[C];
    for (var j = 0; j < C; j++) {
        sumOutBits[j] = Num2Bits(SBITS);
        sumOutBits[j].in <== sumOut[j];
    }
    signal wu[NS][K];
    signal sumOutPacked[NS];
    signal aggW[NS];
    for (var s = 0; s < NS; s++) {
        var lhs = sumInPacked[s];
        for (var k = 0; k < K; k++) {
            var pu = 0;
            for (var i = 0; i < SPER; i++) {
                if (s * SPER + i < C) pu += u[k][s * SPER + i] * (1 << (SBITS * i));
            }
            wu[s][k] <== w[k] * pu;
            lhs += wu[s][k];
        }
        var po = 0;
        var pa = 0;
        var pr = 0;
        for (var i = 0; i < SPER; i++) {
            if (s * SPER + i < C) {
                po += sumOut[s * SPER + i] * (1 << (SBITS * i));
                pa += agg[s * SPER + i] * (1 << (SBITS * i));
                pr += rem[s * SPER + i] * (1 << (SBITS * i));
            }
        }
        sumOutPacked[s] <== po;
        sumOutPacked[s] === lhs;
        // The running average: agg·W + rem == sumOut slot-wise (agg·W + rem < 2^VBITS·W <= 2^SBITS).
        aggW[s] <== divisor * pa;
        sumOutPacked[s] === aggW[s] + pr;
    }

    component aggBits[C];
    component remBits[C];
    component remBelowW[C];
    component aHash = PackedHash(C, VBITS);
    for (var j = 0; j < C; j++) {
        aggBits[j] = Num2Bits(VBITS);
        aggBits[j].in <== agg[j];
        remBits[j] = Num2Bits(WBITS_ALL);
        remBits[j].in <== rem[j];
        remBelowW[j] = Num2Bits(WBITS_ALL);
        remBelowW[j].in <== divisor - 1 - rem[j];
        aHash.values[j] <== agg[j];
    }

    component inHash = Poseidon(NS);
    component outHash = Poseidon(NS);
    for (var s = 0; s < NS; s++) {
        inHash.inputs[s] <== sumInPacked[s];
        outHash.inputs[s] <== sumOutPacked[s];
    }
    component trainers = Poseidon(K);
    for (var k = 0; k < K; k++) trainers.inputs[k] <== tHash[k].out;
    component st = Poseidon(WP + 8);
    st.inputs[0] <== trainers.out;
    st.inputs[1] <== inHash.out;
    st.inputs[2] <== outHash.out;
    st.inputs[3] <== aHash.out;
    for (var i = 0; i < WP; i++) st.inputs[4 + i] <== packed[i];
    st.inputs[4 + WP] <== wIn;
    st.inputs[5 + WP] <== wOut;
    st.inputs[6 + WP] <== roundChunk;
    st.inputs[7 + WP] <== link;
    statement === st.out;
}

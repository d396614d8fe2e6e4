pragma circom 2.1.0;

// The production aggregation circuit: K = 8 trainers, 64-value chunks, 16-bit values and weights
// (constants in node/proofs/constants.ts). The templates are in aggregate-chunk.circom.
include "aggregate-chunk.circom";

component main {public [statement]} = AggregateChunk(8, 64, 16, 16);

/**
 * Renders an on-chain Poseidon hash that equals circomlib's `Poseidon(n)` (and circomlibjs' `poseidon`),
 * for the statement hash the aggregation verifier computes (docs/protocol.md §5). Our own generator
 * (Apache-2.0): it uses the optimized round structure of circomlibjs' `poseidon_opt.js` (sparse partial
 * rounds, Filecoin neptune's optimization) with its published constants.
 *
 * A 12-wide Poseidon is ~2,700 multiply-adds with 32-byte constants: ~115 KB of straight-line code, over
 * the 24 KB contract limit. So the permutation is cut into segments of whole rounds, each a contract whose
 * fallback takes the 12-word state as calldata, applies its rounds and calls the next segment (the last
 * returns the state). Deploy from the last segment to the first; the first is the hash's address.
 * Calldata to the first segment: the state (0, inputs...). It returns the final state; word 0 is the hash.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface OptConstants {
  readonly C: readonly (readonly string[])[];
  readonly S: readonly (readonly string[])[];
  readonly M: readonly (readonly (readonly string[])[])[];
  readonly P: readonly (readonly (readonly string[])[])[];
}

const N_ROUNDS_F = 8;
const N_ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];
/** Estimated bytecode bytes per generated multiply-add (PUSH32 constant, MLOAD, MULMOD, ADDMOD, stack ops). */
const BYTES_PER_TERM = 44;
/** Segment budget, under the 24,576-byte EIP-170 limit with room for the estimate's error. */
const SEGMENT_BYTES = 20_000;

function loadConstants(): OptConstants {
  const path = fileURLToPath(
    new URL("../../node_modules/circomlibjs/src/poseidon_constants_opt.json", import.meta.url),
  );
  return JSON.parse(readFileSync(path, "utf8")) as OptConstants;
}

const hex = (decimal: string): string => `0x${BigInt(decimal).toString(16)}`;

/** One round (or step) of the permutation, rendered for a state in memory buffer `cur`. */
interface Step {
  readonly terms: number;
  render(cur: number, other: number): { code: string; cur: number };
}

/** The rendered segments: contract names and the Solidity source holding them. */
export interface PoseidonSegments {
  readonly names: readonly string[];
  readonly source: string;
}

/** Renders the segment contracts of Poseidon with `nInputs` inputs (t = nInputs + 1), prefix `name`. */
export function renderPoseidonSegments(nInputs: number, name: string): PoseidonSegments {
  const t = nInputs + 1;
  const nRoundsP = N_ROUNDS_P[t - 2];
  if (nRoundsP === undefined) throw new RangeError(`Poseidon supports 1..16 inputs, got ${nInputs}`);
  const opt = loadConstants();
  const C = opt.C[t - 2]!;
  const S = opt.S[t - 2]!;
  const M = opt.M[t - 2]!;
  const P = opt.P[t - 2]!;
  const c = (i: number) => hex(C[i]!);
  const slot = (buf: number, i: number) => `0x${(buf + 32 * i).toString(16)}`;
  const A = 0;
  const B = 32 * t;

  const addConstants = (offset: number): Step => ({
    terms: t,
    render: (cur) => ({
      code: Array.from(
        { length: t },
        (_, i) => `mstore(${slot(cur, i)}, addmod(mload(${slot(cur, i)}), ${c(offset + i)}, q))`,
      ).join("\n"),
      cur,
    }),
  });
  const sbox = (i: number, cur: number) => `mstore(${slot(cur, i)}, pow5(mload(${slot(cur, i)}), q))`;
  const mix = (matrix: readonly (readonly string[])[]): Step => ({
    terms: t * t,
    render: (cur, other) => {
      const lines: string[] = [];
      for (let i = 0; i < t; i++) {
        let expr = `mulmod(mload(${slot(cur, 0)}), ${hex(matrix[0]![i]!)}, q)`;
        lines.push(`{ let acc := ${expr}`);
        for (let j = 1; j < t; j++) {
          expr = `acc := addmod(acc, mulmod(mload(${slot(cur, j)}), ${hex(matrix[j]![i]!)}, q), q)`;
          lines.push(expr);
        }
        lines.push(`mstore(${slot(other, i)}, acc) }`);
      }
      return { code: lines.join("\n"), cur: other };
    },
  });
  const fullRound = (constantsOffset: number | undefined, matrix: readonly (readonly string[])[]): Step => ({
    terms: 2 * t + t * t,
    render: (cur, other) => {
      const head = Array.from({ length: t }, (_, i) => sbox(i, cur));
      if (constantsOffset !== undefined) head.push(addConstants(constantsOffset).render(cur, other).code);
      const mixed = mix(matrix).render(cur, other);
      return { code: `${head.join("\n")}\n${mixed.code}`, cur: mixed.cur };
    },
  });
  const partialRound = (r: number): Step => ({
    terms: 2 * t + 2,
    render: (cur) => {
      const s = (k: number) => hex(S[(2 * t - 1) * r + k]!);
      const lines = [
        `{ let x := addmod(pow5(mload(${slot(cur, 0)}), q), ${c((N_ROUNDS_F / 2 + 1) * t + r)}, q)`,
        `let s0 := mulmod(x, ${s(0)}, q)`,
      ];
      for (let j = 1; j < t; j++)
        lines.push(`s0 := addmod(s0, mulmod(mload(${slot(cur, j)}), ${s(j)}, q), q)`);
      for (let k = 1; k < t; k++)
        lines.push(
          `mstore(${slot(cur, k)}, addmod(mload(${slot(cur, k)}), mulmod(x, ${s(t + k - 1)}, q), q))`,
        );
      lines.push(`mstore(${slot(cur, 0)}, s0) }`);
      return { code: lines.join("\n"), cur };
    },
  });

  const steps: Step[] = [addConstants(0)];
  for (let r = 0; r < N_ROUNDS_F / 2 - 1; r++) steps.push(fullRound((r + 1) * t, M));
  steps.push(fullRound((N_ROUNDS_F / 2) * t, P));
  for (let r = 0; r < nRoundsP; r++) steps.push(partialRound(r));
  for (let r = 0; r < N_ROUNDS_F / 2 - 1; r++)
    steps.push(fullRound((N_ROUNDS_F / 2 + 1) * t + nRoundsP + r * t, M));
  steps.push(fullRound(undefined, M));

  // Group whole steps into segments by estimated code size.
  const groups: Step[][] = [[]];
  let bytes = 0;
  for (const step of steps) {
    const size = step.terms * BYTES_PER_TERM;
    if (bytes + size > SEGMENT_BYTES && groups.at(-1)!.length > 0) {
      groups.push([]);
      bytes = 0;
    }
    groups.at(-1)!.push(step);
    bytes += size;
  }

  const names = groups.map((_, i) => `${name}Segment${i}`);
  const contracts = groups.map((group, g) => {
    let cur = A;
    const body: string[] = [];
    for (const step of group) {
      const out = step.render(cur, cur === A ? B : A);
      body.push(out.code);
      cur = out.cur;
    }
    const last = g === groups.length - 1;
    const tail = last
      ? `return(${slot(cur, 0)}, ${32 * t})`
      : `if iszero(staticcall(gas(), next, ${slot(cur, 0)}, ${32 * t}, 0, ${32 * t})) { revert(0, 0) }\nreturn(0, ${32 * t})`;
    const indent = (s: string) =>
      s
        .split("\n")
        .map((l) => `            ${l}`)
        .join("\n");
    return `/// @notice Rounds ${g + 1} of ${groups.length} of Poseidon(${nInputs}); see ${name}Segment0.
contract ${names[g]} {
${last ? "" : `    address private immutable _next;\n\n    /// @param next the following segment\n    constructor(address next) {\n        _next = next;\n    }\n\n`}    /// @dev Calldata: the ${t}-word state; returns the final state (word 0 is the hash).
    fallback() external {
${last ? "" : "        address next = _next;\n"}        assembly {
            function pow5(v, q) -> r {
                let v2 := mulmod(v, v, q)
                r := mulmod(mulmod(v2, v2, q), v, q)
            }
            let q := 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001
            if iszero(eq(calldatasize(), ${32 * t})) { revert(0, 0) }
            calldatacopy(0, 0, ${32 * t})
${indent(body.join("\n"))}
${indent(tail)}
        }
    }
}`;
  });
  const source = `// SPDX-License-Identifier: Apache-2.0
// Generated by scripts/zk/poseidon-sol.ts (npm run zk:poseidon). Do not edit by hand.
// Poseidon(${nInputs}) over BN254, equal to circomlib's Poseidon(${nInputs}) (constants from circomlibjs'
// poseidon_constants_opt.json), cut into ${groups.length} contracts to stay under the contract size limit.
pragma solidity ^0.8.28;

${contracts.join("\n\n")}
`;
  return { names, source };
}

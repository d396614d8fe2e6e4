/**
 * EIP-712 messages of the round game (contracts/rounds/RoundFaults.sol): a trainer signs `Commitment`
 * (roundId, commitment, sampleCount) and an aggregator `Aggregate` (roundId, aggregateCommitment,
 * modelRef). Nodes keep, per round, the distinct values each signer signed; two different values from one
 * signer for one round are the evidence `reportEquivocation` slashes on.
 */
import { recoverTypedDataAddress } from "viem";
import type { Account, Address, Chain, Hex, Transport, WalletClient } from "viem";
import { pad, toHex } from "viem";

/** The rounds contract's EIP-712 domain name and version (its constructor's `EIP712(...)`). */
export const ROUNDS_DOMAIN_NAME = "vAIn TrainingRounds";
export const ROUNDS_DOMAIN_VERSION = "1";

const TYPES = {
  Commitment: [
    { name: "roundId", type: "uint256" },
    { name: "commitment", type: "bytes32" },
    { name: "sampleCount", type: "uint256" },
  ],
  Aggregate: [
    { name: "roundId", type: "uint256" },
    { name: "aggregateCommitment", type: "bytes32" },
    { name: "modelRef", type: "bytes32" },
  ],
} as const;

export type SignedKind = keyof typeof TYPES;

/** A signed value pair as `reportEquivocation` takes it: (commitment, sampleCount) or (aggregateCommitment, modelRef). */
export type SignedPair = readonly [Hex, Hex];

export interface SignedValue {
  readonly kind: SignedKind;
  readonly roundId: bigint;
  readonly pair: SignedPair;
  readonly signature: Hex;
}

export interface RoundsDomain {
  readonly chainId: number;
  readonly verifyingContract: Address;
}

function typedData(domain: RoundsDomain, kind: SignedKind, roundId: bigint, pair: SignedPair) {
  const base = {
    domain: {
      name: ROUNDS_DOMAIN_NAME,
      version: ROUNDS_DOMAIN_VERSION,
      chainId: domain.chainId,
      verifyingContract: domain.verifyingContract,
    },
    types: TYPES,
  } as const;
  return kind === "Commitment"
    ? {
        ...base,
        primaryType: "Commitment" as const,
        message: { roundId, commitment: pair[0], sampleCount: BigInt(pair[1]) },
      }
    : {
        ...base,
        primaryType: "Aggregate" as const,
        message: { roundId, aggregateCommitment: pair[0], modelRef: pair[1] },
      };
}

/** The pair a `Commitment` signs (the sample count as the contract's `bytes32(sampleCount)`). */
export function commitmentPair(commitment: Hex, sampleCount: bigint): SignedPair {
  return [commitment, pad(toHex(sampleCount), { size: 32 })];
}

/** Signs a round message with the operator's key (no transaction). */
export async function signRoundMessage(
  wallet: WalletClient<Transport, Chain, Account>,
  domain: RoundsDomain,
  kind: SignedKind,
  roundId: bigint,
  pair: SignedPair,
): Promise<SignedValue> {
  const signature = await wallet.signTypedData({
    account: wallet.account,
    ...typedData(domain, kind, roundId, pair),
  });
  return { kind, roundId, pair, signature };
}

/** The address that signed `value`, or undefined for a malformed signature. */
export async function signerOf(domain: RoundsDomain, value: SignedValue): Promise<Address | undefined> {
  try {
    return await recoverTypedDataAddress({
      ...typedData(domain, value.kind, value.roundId, value.pair),
      signature: value.signature,
    });
  } catch {
    return undefined;
  }
}

/** Two different values one signer signed for one round. */
export interface Equivocation {
  readonly signer: string;
  readonly kind: SignedKind;
  readonly roundId: bigint;
  readonly a: SignedValue;
  readonly b: SignedValue;
}

/** Whether two signed pairs carry the same values. */
export const samePair = (x: SignedPair, y: SignedPair): boolean =>
  x[0].toLowerCase() === y[0].toLowerCase() && BigInt(x[1]) === BigInt(y[1]);

/**
 * What peers signed in one round, by signer and kind: the first value, and the first different one if any
 * (one pair of signatures is all the evidence needs; further values are not kept, so a flood costs nothing).
 */
export class SignedLedger {
  private readonly values = new Map<string, { first: SignedValue; second?: SignedValue }>();

  /** Records a value whose signer was recovered; returns the equivocation it completes, if any. */
  record(signer: Address, value: SignedValue): Equivocation | undefined {
    const key = `${signer.toLowerCase()}/${value.kind}`;
    const held = this.values.get(key);
    if (held === undefined) {
      this.values.set(key, { first: value });
      return undefined;
    }
    if (held.second !== undefined || samePair(held.first.pair, value.pair)) return undefined;
    held.second = value;
    return {
      signer: signer.toLowerCase(),
      kind: value.kind,
      roundId: value.roundId,
      a: held.first,
      b: value,
    };
  }

  /** Every value held, with its signer (lower case). */
  signed(): { signer: string; value: SignedValue }[] {
    return [...this.values.entries()].flatMap(([key, { first, second }]) => {
      const signer = key.split("/")[0]!;
      return [first, ...(second === undefined ? [] : [second])].map((value) => ({ signer, value }));
    });
  }

  /** Every equivocation seen so far. */
  equivocations(): Equivocation[] {
    return [...this.values.entries()].flatMap(([key, { first, second }]) =>
      second === undefined
        ? []
        : [{ signer: key.split("/")[0]!, kind: first.kind, roundId: first.roundId, a: first, b: second }],
    );
  }
}

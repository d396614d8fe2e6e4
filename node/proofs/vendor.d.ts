// Minimal typings for the parts of circomlibjs and snarkjs vAIn uses (neither ships types).
declare module "circomlibjs" {
  interface PoseidonField {
    toObject(value: unknown): bigint;
  }
  interface PoseidonFn {
    (inputs: readonly bigint[]): unknown;
    F: PoseidonField;
  }
  export function buildPoseidon(): Promise<PoseidonFn>;
  /** circomlibjs' EVM bytecode generator for Poseidon (1..6 inputs here); used by the benchmark only. */
  export const poseidonContract: {
    createCode(nInputs: number): string;
    generateABI(nInputs: number): unknown[];
  };
}

declare module "snarkjs" {
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export type PublicSignals = string[];
  export const groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasmFile: string | Uint8Array,
      zkeyFile: string | Uint8Array,
      logger?: unknown,
      wtnsCalcOptions?: unknown,
      proverOptions?: { singleThread?: boolean },
    ): Promise<{ proof: Groth16Proof; publicSignals: PublicSignals }>;
    /** Proves from a computed witness (a file, or `{ type: "mem" }` filled by `wtns.calculate`). */
    prove(
      zkeyFile: string | Uint8Array,
      witnessFile: string | { type: "mem"; data?: Uint8Array },
      logger?: unknown,
      options?: { singleThread?: boolean },
    ): Promise<{ proof: Groth16Proof; publicSignals: PublicSignals }>;
    verify(verificationKey: unknown, publicSignals: PublicSignals, proof: Groth16Proof): Promise<boolean>;
    exportSolidityCallData(proof: Groth16Proof, publicSignals: PublicSignals): Promise<string>;
  };
  export const wtns: {
    calculate(
      input: Record<string, unknown>,
      wasmFile: string | Uint8Array,
      wtnsFile: { type: "mem"; data?: Uint8Array },
    ): Promise<void>;
  };
  export const zKey: {
    exportVerificationKey(zkeyFile: string | Uint8Array): Promise<unknown>;
    exportSolidityVerifier(zkeyFile: string | Uint8Array, templates: Record<string, string>): Promise<string>;
  };
}

declare module "ffjavascript" {
  export function buildBn128(singleThread?: boolean): Promise<unknown>;
}

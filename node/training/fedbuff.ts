/**
 * FedBuff (Nguyen et al. 2022, "Federated Learning with Buffered Asynchronous Aggregation"): nodes train from
 * the latest model they have and send their update whenever they finish; the server folds each arrival into a
 * buffer with a staleness weight (1 + τ)^-a, τ being the server steps taken since the update's base model, and
 * steps once K updates are in: model += lr · (Σ weightᵢ · updateᵢ) / K. A slow node's late update still
 * counts (discounted), where a synchronous round with a deadline drops it.
 */
import { FEDBUFF_BUFFER_SIZE, FEDBUFF_SERVER_LR, FEDBUFF_STALENESS_EXPONENT } from "./constants.ts";

export interface FedBuffOptions {
  /** Updates per server step (K). */
  readonly bufferSize?: number;
  readonly serverLr?: number;
  /** a in the staleness weight (1 + τ)^-a; 0 ignores staleness. */
  readonly stalenessExponent?: number;
}

export class FedBuffServer {
  private params: Float32Array;
  private readonly buffer: Float32Array;
  private buffered = 0;
  private steps = 0;
  private readonly bufferSize: number;
  private readonly serverLr: number;
  private readonly exponent: number;

  constructor(initial: Float32Array, options: FedBuffOptions = {}) {
    this.bufferSize = options.bufferSize ?? FEDBUFF_BUFFER_SIZE;
    this.serverLr = options.serverLr ?? FEDBUFF_SERVER_LR;
    this.exponent = options.stalenessExponent ?? FEDBUFF_STALENESS_EXPONENT;
    if (!Number.isInteger(this.bufferSize) || this.bufferSize < 1)
      throw new RangeError(`FedBuff buffer size must be a positive integer, got ${this.bufferSize}`);
    if (!(this.serverLr > 0)) throw new RangeError(`FedBuff server lr must be > 0, got ${this.serverLr}`);
    if (!(this.exponent >= 0))
      throw new RangeError(`FedBuff staleness exponent must be >= 0, got ${this.exponent}`);
    this.params = Float32Array.from(initial);
    this.buffer = new Float32Array(initial.length);
  }

  /** The current global model (a copy: nodes train from it while the server moves on). */
  model(): Float32Array {
    return Float32Array.from(this.params);
  }

  /** Server steps taken so far: the version a node's base model is named by. */
  get version(): number {
    return this.steps;
  }

  /** The weight of an update trained from version `base`, arriving now. */
  stalenessWeight(base: number): number {
    if (!Number.isInteger(base) || base < 0 || base > this.steps)
      throw new RangeError(`base version ${base} is not one this server issued (now ${this.steps})`);
    return (1 + this.steps - base) ** -this.exponent;
  }

  /**
   * Folds in `update` (local − base model) trained from version `base`; returns true when it completed the
   * buffer and the server stepped.
   */
  receive(update: Float32Array, base: number): boolean {
    if (update.length !== this.params.length)
      throw new RangeError(`update has ${update.length} parameters, the model ${this.params.length}`);
    const weight = this.stalenessWeight(base);
    for (let i = 0; i < update.length; i++) this.buffer[i]! += weight * update[i]!;
    this.buffered += 1;
    if (this.buffered < this.bufferSize) return false;
    const scale = this.serverLr / this.bufferSize;
    for (let i = 0; i < this.params.length; i++) {
      this.params[i]! += scale * this.buffer[i]!;
      this.buffer[i] = 0;
    }
    this.buffered = 0;
    this.steps += 1;
    return true;
  }
}

/**
 * The pure-TypeScript baseline for `bench:training`: the same 784-128-10 MLP step (forward, softmax
 * cross-entropy, backward, SGD) written as plain loops over Float32Arrays, as a careful hand-written
 * implementation would be without a tensor runtime.
 */
export class ReferenceMlp {
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;
  private readonly input: number;
  private readonly hidden: number;
  private readonly classes: number;

  constructor(input: number, hidden: number, classes: number, params: Float32Array) {
    this.input = input;
    this.hidden = hidden;
    this.classes = classes;
    let o = 0;
    const take = (n: number) => params.slice(o, (o += n));
    this.w1 = take(input * hidden);
    this.b1 = take(hidden);
    this.w2 = take(hidden * classes);
    this.b2 = take(classes);
  }

  /** One SGD step on a batch; returns the mean loss. */
  step(x: Float32Array, labels: Uint8Array, batch: number, lr: number): number {
    const { input: I, hidden: H, classes: C } = this;
    const h = new Float32Array(batch * H);
    const logits = new Float32Array(batch * C);
    for (let n = 0; n < batch; n++) {
      for (let j = 0; j < H; j++) h[n * H + j] = this.b1[j]!;
      for (let i = 0; i < I; i++) {
        const xv = x[n * I + i]!;
        if (xv === 0) continue;
        const row = i * H;
        for (let j = 0; j < H; j++) h[n * H + j]! += xv * this.w1[row + j]!;
      }
      for (let j = 0; j < H; j++) if (h[n * H + j]! < 0) h[n * H + j] = 0;
      for (let c = 0; c < C; c++) {
        let s = this.b2[c]!;
        for (let j = 0; j < H; j++) s += h[n * H + j]! * this.w2[j * C + c]!;
        logits[n * C + c] = s;
      }
    }
    let loss = 0;
    const dlogits = new Float32Array(batch * C);
    for (let n = 0; n < batch; n++) {
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, logits[n * C + c]!);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(logits[n * C + c]! - max);
      for (let c = 0; c < C; c++) dlogits[n * C + c] = Math.exp(logits[n * C + c]! - max) / sum / batch;
      const label = labels[n]!;
      dlogits[n * C + label]! -= 1 / batch;
      loss += Math.log(sum) - (logits[n * C + label]! - max);
    }
    const dh = new Float32Array(batch * H);
    for (let n = 0; n < batch; n++) {
      for (let j = 0; j < H; j++) {
        if (h[n * H + j]! <= 0) continue;
        let s = 0;
        for (let c = 0; c < C; c++) s += dlogits[n * C + c]! * this.w2[j * C + c]!;
        dh[n * H + j] = s;
      }
    }
    for (let j = 0; j < H; j++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let n = 0; n < batch; n++) s += h[n * H + j]! * dlogits[n * C + c]!;
        this.w2[j * C + c]! -= lr * s;
      }
    }
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < batch; n++) s += dlogits[n * C + c]!;
      this.b2[c]! -= lr * s;
    }
    for (let n = 0; n < batch; n++) {
      for (let i = 0; i < I; i++) {
        const xv = x[n * I + i]!;
        if (xv === 0) continue;
        const row = i * H;
        for (let j = 0; j < H; j++) this.w1[row + j]! -= lr * xv * dh[n * H + j]!;
      }
      for (let j = 0; j < H; j++) this.b1[j]! -= lr * dh[n * H + j]!;
    }
    return loss / batch;
  }
}

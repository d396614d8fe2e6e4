/** Defaults of node/training, each with its unit and the reason for its value. */

/** Seed of data shuffles, partitions and simulations when none is given: runs are reproducible by default. */
export const DEFAULT_SEED = 1;
/** Held-out share of a dataset split into train and test (MNIST: 8,000 / 2,000 digits). */
export const DEFAULT_TEST_FRACTION = 0.2;
/** Classes of an IDX dataset without a stated count: MNIST and Fashion-MNIST both have ten. */
export const DEFAULT_IDX_CLASSES = 10;

/** FedAdam / FedYogi server learning rate: Reddi et al. 2021's default. */
export const ADAPTIVE_SERVER_LR = 0.01;
/** FedAdam / FedYogi first-moment decay: Reddi et al. 2021's default (Adam's). */
export const ADAPTIVE_SERVER_BETA1 = 0.9;
/** FedAdam / FedYogi second-moment decay: Reddi et al. 2021's default. */
export const ADAPTIVE_SERVER_BETA2 = 0.99;
/** FedAdam / FedYogi adaptivity bound tau; Reddi et al. tune it in [1e-3, 1e-1] for image tasks. */
export const ADAPTIVE_SERVER_TAU = 1e-3;
/**
 * FedAvg's server learning rate when a task names none: 2, not McMahan's 1. Top-k with error feedback sends
 * each round only part of the update and holds the rest back for later rounds, so plain FedAvg trails dense
 * FedAvg by 1.5-2.3 pt after 12 rounds; a step of 2 makes up for it (bench:compression --only task --rounds 12
 * --rule guarded-mean, seeds 1-5, 8 IID trainers: gap to dense fp32 FedAvg 0.25/0.75/1.0/1.2/0.7 pt, mean 0.78,
 * against 1.25/1.75 pt at lr 1). 2.5 and 3 were worse (the step overshoots: 1.5 and 3.3 pt at worst). On the
 * real network (bench:round --compression --rounds 12, 8 nodes, the demo network's split): −0.80 pt at 460× smaller updates.
 */
export const TASK_FEDAVG_SERVER_LR = 2;
/** DiLoCo outer learning rate: Douillard et al. 2023 use 0.7. */
export const DILOCO_OUTER_LR = 0.7;
/** DiLoCo outer Nesterov momentum: Douillard et al. 2023 use 0.9. */
export const DILOCO_OUTER_MOMENTUM = 0.9;

/** Character vocabulary of the text task: padding, space, a–z, 0–9 and punctuation fit in 64 (text/alphabet.ts). */
export const TRANSFORMER_VOCAB = 64;
/** Context length in characters: 64 covers most of a WordNet gloss's words; attention cost grows as T². */
export const TRANSFORMER_CONTEXT = 64;
/** Model width: 128 is the bench's goal width (≥ 40% of SGEMM peak) and trains in minutes on one core. */
export const TRANSFORMER_WIDTH = 128;
/** Decoder blocks: two already learn word shapes from characters; each adds ~12·width² parameters. */
export const TRANSFORMER_LAYERS = 2;
/** Attention heads: 4 heads of 32 at width 128. */
export const TRANSFORMER_HEADS = 4;
/** MLP hidden width as a multiple of the model width: GPT-2's 4. */
export const TRANSFORMER_MLP_RATIO = 4;
/** Std of initial weights: GPT-2's 0.02. */
export const TRANSFORMER_INIT_STD = 0.02;
/**
 * Largest ONNX graph (weights split off, by content hash) a task spec may carry, in base64 characters: 1 MiB
 * holds thousands of nodes (an op is ~100 bytes), and every node parses the spec on start.
 */
export const ONNX_GRAPH_MAX_BASE64 = 2 ** 20;
/**
 * FedBuff buffer size K: the server steps once K updates arrived. Nguyen et al. 2022 use K = 10 of 100s of
 * concurrent clients; with 10 simulated nodes a buffer of 3 steps about 3× as often as a synchronous round
 * would with the fastest nodes, and still averages over more than one node.
 */
export const FEDBUFF_BUFFER_SIZE = 3;
/** FedBuff server learning rate: 1 applies the buffer's mean update as FedAvg would (the paper tunes it near 1). */
export const FEDBUFF_SERVER_LR = 1;
/**
 * FedBuff staleness exponent a in the update weight (1 + τ)^-a, τ = server steps since the update's base model:
 * Nguyen et al. 2022's 1/sqrt(1 + τ).
 */
export const FEDBUFF_STALENESS_EXPONENT = 0.5;
/**
 * Oldest base a FedBuff update may name on the network, in model steps: nodes keep a round's data for the last
 * few rounds (ROUNDS_KEPT) and derive models at most 8 rounds back, and at τ = 8 the weight is already 1/3.
 */
export const FEDBUFF_MAX_STALENESS = 8;
/**
 * Local fine-tuning steps of the operator's personalized model: 0, off, because it helps only under strong label
 * skew (bench:simulate --only personalization measures 20 steps, about one pass over a 600-row MNIST shard at
 * batch 32); an operator whose data is skewed turns it on.
 */
export const PERSONALIZATION_DEFAULT_STEPS = 0;
/** Share of the node's rows held out to score the personalized model against the global one (0.2: 1 in 5). */
export const PERSONALIZATION_HOLDOUT_SHARE = 0.2;

/**
 * How long a closing training pool waits for a worker still inside a training step (ms) before terminating it.
 * Terminating a thread while onnxruntime's native run will call back into it aborts the whole process
 * ("terminate called after throwing an instance of 'Napi::Error'": isolated-node.test in CI, 2026-12-07, after
 * its test had passed); the worker is told to stop between batches, and one batch takes well under a second.
 */
export const POOL_CLOSE_DRAIN_MS = 10_000;

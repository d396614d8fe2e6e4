/**
 * bench:simulate's transformer rows: federated next-character accuracy on held-out WordNet glosses, 10
 * nodes each holding whole topics (non-IID, like LEAF's Shakespeare by role), FedAvg and the adaptive /
 * outer-momentum server optimizers, against centralized training of the same model on the same data for the
 * same compute.
 *
 * Same compute = the same tokens processed on the same 10 workers with the same batch per worker. Every
 * federated round is one local epoch on every node (batch 32 each), so round r has processed r epochs of
 * tokens. The centralized baseline pools the data and trains it synchronously data-parallel on the same 10
 * workers: one step per batch of 10 x 32 rows (the mean of the 10 workers' gradients), r epochs; its learning
 * rate is the best of a sweep (DATA_PARALLEL_LR). `textGapPts` is measured against it, as DiLoCo (Douillard
 * et al. 2023) compares with data-parallel training of the same compute.
 *
 * Also reported, not the goal: one worker alone at batch 32 for the same tokens (`textSequentialGapPts`). It
 * takes 10x the sequential steps (10x the wall time on the same hardware) and stays ahead; smaller local
 * batches (more local steps per round, the FedAvg batch-4 row) narrow that gap only a little.
 * Each simulated node keeps its Adam moments between rounds, as a network node does.
 *
 * The `short-rounds` arm closes it (session 9): rounds of SHORT_ROUND_STEPS local steps at batch 4 instead of
 * a local epoch, so R epochs of tokens take ~8.5 R rounds on the quick task (every node processes the same 40
 * rows a round), with the nodes' Adam moments averaged by the server (optimizer-state-average.ts; a network node
 * keeps its own). Its budget row r is the round at which it has processed r epochs of tokens.
 *
 * `--text-rounds <R>` sets the budget (default 10, quick 3), `--text-glosses <G>` the glosses per topic
 * (default 200, quick 40), `--text-arms a,b` runs only the named arms (TEXT_ARMS; FedAvg always runs, the
 * gaps need it): the full task's every arm takes hours on two shared cores. `--text-seed <s>` (default 1) seeds
 * the model's initialisation, the topics' assignment to nodes and every shuffle; the glosses and the held-out
 * set stay those of seed 1, so seeds differ only in training.
 */
import { createModel, loadWordnetTask, runSimulation } from "../../node/training/index.ts";
import type {
  ModelSpec,
  OptimizerState,
  ServerOptimizerName,
  SimulationConfig,
  TrainingPool,
} from "../../node/training/index.ts";
import { option } from "./common.ts";
import type { Row } from "./common.ts";

/** Small enough that the five runs take minutes on two cores; the gap to centralized is what is measured. */
const TEXT_MODEL: ModelSpec = { kind: "transformer", width: 64, layers: 2, heads: 2, context: 32 };
const LOCAL_LR = 0.003;
/** Rows per step on each worker: a node's local batch and a data-parallel worker's share. */
const BATCH = 32;
const NODES = 10;
/**
 * The data-parallel baseline's Adam learning rate at batch 10 x 32: the best final accuracy after 20 epochs of
 * the quick task among 0.00075, 0.0015, 0.003, 0.006, 0.012 (34.3, 37.4, 35.3, 29.3, 29.5%; 2026-12-05).
 */
const DATA_PARALLEL_LR = 0.0015;
/** The FedAvg row with more local steps per round: local batch 4 (8x the steps of batch 32, same tokens). */
const SMALL_LOCAL_BATCH = 4;
/** The short-rounds arm's local steps per round and local batch: 40 rows per node per round. */
const SHORT_ROUND_STEPS = 10;
const SHORT_ROUND_BATCH = 4;
/** Every arm `--text-arms` may name. */
const TEXT_ARMS = [
  "fedavg",
  "fedadam",
  "fedyogi",
  "diloco",
  "small-batch",
  "short-rounds",
  "parallel",
  "sequential",
] as const;
type TextArm = (typeof TEXT_ARMS)[number];

function chosenArms(): ReadonlySet<TextArm> {
  const named = option("text-arms");
  if (named === undefined) return new Set(TEXT_ARMS);
  const arms = named.split(",").map((a) => a.trim());
  const unknown = arms.filter((a) => !(TEXT_ARMS as readonly string[]).includes(a));
  if (unknown.length > 0)
    throw new RangeError(`--text-arms: unknown ${unknown.join(", ")} (${TEXT_ARMS.join(", ")})`);
  return new Set(["fedavg", ...arms] as TextArm[]);
}

export interface TextFigures {
  readonly rows: Row[];
  readonly metrics: Record<string, number>;
}

export async function textRows(pool: TrainingPool, quick: boolean): Promise<TextFigures> {
  const rounds = Number(option("text-rounds") ?? (quick ? 3 : 10));
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`--text-rounds must be >= 1`);
  const glosses = Number(option("text-glosses") ?? (quick ? 40 : 200));
  if (!Number.isInteger(glosses) || glosses < 1) throw new RangeError(`--text-glosses must be >= 1`);
  const arms = chosenArms();
  const seed = Number(option("text-seed") ?? 1);
  if (!Number.isInteger(seed) || seed < 1) throw new RangeError(`--text-seed must be >= 1`);
  const data = loadWordnetTask({ context: 32, maxGlossesPerTopic: glosses, seed: 1 });
  const rows: Row[] = [];
  const tokens = data.train.count * 32;
  const base: SimulationConfig = {
    model: TEXT_MODEL,
    optimizer: { kind: "adam" },
    server: "fedavg",
    nodes: NODES,
    rounds,
    partition: { kind: "group" },
    localEpochs: 1,
    batchSize: BATCH,
    learningRate: LOCAL_LR,
    seed,
    keepLocalState: true,
  };
  const curves = new Map<ServerOptimizerName, number[]>();
  let smallBatch: number[] = [];
  const federated = async (server: ServerOptimizerName, batchSize = BATCH) => {
    const started = performance.now();
    const result = await runSimulation(pool, { ...base, server, batchSize }, data, {
      onRound: (r) =>
        process.stdout.write(
          `\rtext ${server} B=${batchSize}: round ${r.round}/${rounds} accuracy ${(r.accuracy * 100).toFixed(2)}%   `,
        ),
    });
    process.stdout.write("\n");
    const curve = result.history.map((r) => r.accuracy);
    if (batchSize === BATCH) curves.set(server, curve);
    else smallBatch = curve;
    rows.push({
      run: `transformer ${server}, ${NODES} nodes by topic, local batch ${batchSize}`,
      rounds,
      finalAccuracy: curve.at(-1)!,
      bestAccuracy: Math.max(...curve),
      roundsToTarget: -1,
      seconds: (performance.now() - started) / 1000,
    });
  };
  for (const server of ["fedavg", "fedadam", "fedyogi", "diloco"] as const)
    if (arms.has(server)) await federated(server);
  if (arms.has("small-batch")) await federated("fedavg", SMALL_LOCAL_BATCH);

  // Short rounds: the same tokens in rounds of SHORT_ROUND_STEPS local steps, Adam moments averaged.
  const rowsPerRound = NODES * SHORT_ROUND_STEPS * SHORT_ROUND_BATCH;
  const roundsAtEpoch = (r: number) => Math.max(1, Math.round((r * data.train.count) / rowsPerRound));
  let shortRounds: number[] = [];
  if (arms.has("short-rounds")) {
    const started = performance.now();
    const total = roundsAtEpoch(rounds);
    const result = await runSimulation(
      pool,
      {
        ...base,
        rounds: total,
        localEpochs: undefined,
        localSteps: SHORT_ROUND_STEPS,
        batchSize: SHORT_ROUND_BATCH,
        averageLocalState: true,
      },
      data,
      {
        onRound: (r) =>
          process.stdout.write(
            `\rtext short rounds: round ${r.round}/${total} accuracy ${(r.accuracy * 100).toFixed(2)}%   `,
          ),
      },
    );
    process.stdout.write("\n");
    const curve = result.history.map((r) => r.accuracy);
    shortRounds = Array.from({ length: rounds }, (_, i) => curve[roundsAtEpoch(i + 1) - 1]!);
    rows.push({
      run: `transformer fedavg, ${NODES} nodes by topic, ${total} rounds of ${SHORT_ROUND_STEPS} steps at batch ${SHORT_ROUND_BATCH}, Adam moments averaged`,
      rounds: total,
      finalAccuracy: curve.at(-1)!,
      bestAccuracy: Math.max(...curve),
      roundsToTarget: -1,
      seconds: (performance.now() - started) / 1000,
    });
  }

  // Centralized: the pooled data, one epoch per call with the Adam state kept, evaluated after every epoch;
  // data-parallel on the 10 workers (batch 10 x 32) and one worker alone (batch 32).
  const centralized = async (label: string, batchSize: number, learningRate: number) => {
    const started = performance.now();
    let params = createModel(TEXT_MODEL).init(seed);
    let state: OptimizerState | undefined;
    const curve: number[] = [];
    for (let epoch = 1; epoch <= rounds; epoch++) {
      const trained = await pool.train({
        model: TEXT_MODEL,
        optimizer: { kind: "adam" },
        params,
        state,
        data: data.train,
        // Seed 1 keeps the shuffles every earlier figure was measured with.
        options: {
          epochs: 1,
          batchSize,
          learningRate,
          seed: (seed - 1) * 1_000_003 + epoch,
          keepState: true,
        },
      });
      params = trained.params;
      state = trained.state;
      curve.push((await pool.evaluate(TEXT_MODEL, params, data.test)).accuracy);
      process.stdout.write(
        `\rtext ${label}: epoch ${epoch}/${rounds} ${(curve.at(-1)! * 100).toFixed(2)}%   `,
      );
    }
    process.stdout.write("\n");
    rows.push({
      run: `transformer centralized, ${label} (${rounds} epochs, same tokens)`,
      rounds,
      finalAccuracy: curve.at(-1)!,
      bestAccuracy: Math.max(...curve),
      roundsToTarget: -1,
      seconds: (performance.now() - started) / 1000,
    });
    return curve;
  };
  const parallel = arms.has("parallel")
    ? await centralized(`data-parallel ${NODES}x${BATCH}`, NODES * BATCH, DATA_PARALLEL_LR)
    : [];
  const sequential = arms.has("sequential")
    ? await centralized(`one worker, batch ${BATCH}`, BATCH, LOCAL_LR)
    : [];

  // The gap at every budget: centralized after r epochs minus the best federated model after r rounds (an
  // arm left out by --text-arms leaves its columns out).
  const bestAt = (r: number) => Math.max(...[...curves.values()].map((c) => c[r - 1]!));
  const bestWithSmallAt = (r: number) => Math.max(bestAt(r), smallBatch[r - 1] ?? 0, shortRounds[r - 1] ?? 0);
  for (let r = 1; r <= rounds; r++) {
    const p = parallel[r - 1];
    const q = sequential[r - 1];
    rows.push({
      run: `same tokens: ${r} rounds = ${r} epochs${shortRounds.length > 0 ? ` (short rounds: ${roundsAtEpoch(r)})` : ""}`,
      rounds: r,
      federatedAccuracy: bestWithSmallAt(r),
      ...(p === undefined ? {} : { dataParallelAccuracy: p, gapPoints: (p - bestAt(r)) * 100 }),
      ...(q === undefined
        ? {}
        : { oneWorkerAccuracy: q, oneWorkerGapPoints: (q - bestWithSmallAt(r)) * 100 }),
    });
  }
  const fedAvg = curves.get("fedavg")!.at(-1)!;
  const servers = [...curves.entries()].filter(([name]) => name !== "fedavg").map(([, c]) => c.at(-1)!);
  const bestFederated = Math.max(fedAvg, ...servers);
  const smallBatchFinal = smallBatch.at(-1);
  const shortRoundsFinal = shortRounds.at(-1);
  const bestOverall = Math.max(bestFederated, smallBatchFinal ?? 0, shortRoundsFinal ?? 0);
  const centralFinal = parallel.at(-1);
  const sequentialFinal = sequential.at(-1);
  return {
    rows,
    metrics: {
      textTrainTokens: tokens,
      textRounds: rounds,
      textSeed: seed,
      textGlossesPerTopic: glosses,
      textCentralSequentialSteps: rounds * Math.floor(data.train.count / BATCH),
      textDataParallelSteps: rounds * Math.floor(data.train.count / NODES / BATCH),
      textFederatedSequentialSteps: rounds * Math.floor(data.train.count / NODES / BATCH),
      textFedAvgAccuracy: fedAvg,
      ...(servers.length === 0 ? {} : { textBestServerAccuracy: Math.max(...servers) }),
      textFedAccuracy: bestFederated,
      ...(centralFinal === undefined
        ? {}
        : { textCentralAccuracy: centralFinal, textGapPts: (centralFinal - bestFederated) * 100 }),
      ...(smallBatchFinal === undefined ? {} : { textSmallBatchFedAvgAccuracy: smallBatchFinal }),
      ...(shortRoundsFinal === undefined
        ? {}
        : { textShortRoundsAccuracy: shortRoundsFinal, textShortRoundsRounds: roundsAtEpoch(rounds) }),
      ...(sequentialFinal === undefined
        ? {}
        : {
            textSequentialAccuracy: sequentialFinal,
            textSequentialGapPts: (sequentialFinal - bestOverall) * 100,
          }),
    },
  };
}

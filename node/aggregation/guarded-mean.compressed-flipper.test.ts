/**
 * A sign flipper among eight honest trainers over 16 rounds of top-k 0.5% compressed updates, seeds 2-4
 * (testing/guarded-rounds.ts `describeFlipperRounds` says what it caught). One ratio per file: each is CPU-bound
 * and gets its own file budget, and the files run side by side.
 */
import { describeFlipperRounds } from "./testing/guarded-rounds.ts";

describeFlipperRounds(0.005);

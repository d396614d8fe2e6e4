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
/** DiLoCo outer learning rate: Douillard et al. 2023 use 0.7. */
export const DILOCO_OUTER_LR = 0.7;
/** DiLoCo outer Nesterov momentum: Douillard et al. 2023 use 0.9. */
export const DILOCO_OUTER_MOMENTUM = 0.9;

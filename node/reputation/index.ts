/** Reputation from verified behaviour, with decay and persistence. */
export { ReputationBook, ReputationError, scoreOf } from "./book.ts";
export { feedAbuseToReputation } from "./abuse-feed.ts";
export type {
  Operator,
  ReputationBookOptions,
  ReputationEntry,
  ReputationEvent,
  ReputationEventKind,
} from "./book.ts";
export * from "./constants.ts";

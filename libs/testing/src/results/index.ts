// Results store and ResultsDB-style API (docs/tests.md, "Results").
export { DEFAULT_RESULTS_LIMIT, latestPerTestcase, MemoryResultsStore, resultMatcher, type NewResult, type ResultsdbOutcome, type ResultsdbResult, type ResultsPage, type ResultsQuery, type ResultsStore } from "./store.js";
export { handleResultsRequest, MAX_RESULTS_LIMIT, parseResultsQuery, RESULTS_PATH, ResultsServer, type ResultsServerOptions } from "./http.js";
export { DEFAULT_RESULTS_PREFIX, RedisResultsStore, type RedisResultsStoreOptions } from "./redis.js";
export { DEFAULT_PLANS_KEY, MemoryPlanStore, RedisPlanStore, type PlanStore, type RedisPlanStoreOptions } from "./plans.js";
export { handleRerunRequest, RerunRejected, RerunRequestBody, RERUNS_PATH, type RerunHandler, type RerunRequest, type RerunTarget } from "./reruns.js";

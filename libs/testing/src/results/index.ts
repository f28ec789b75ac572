// Results store and ResultsDB-style API (docs/tests.md, "Results").
export { DEFAULT_RESULTS_LIMIT, latestPerTestcase, MemoryResultsStore, resultMatcher, type NewResult, type ResultsdbOutcome, type ResultsdbResult, type ResultsPage, type ResultsQuery, type ResultsStore } from "./store.js";
export { handleResultsRequest, MAX_RESULTS_LIMIT, parseResultsQuery, RESULTS_PATH, ResultsServer, type ResultsServerOptions } from "./http.js";

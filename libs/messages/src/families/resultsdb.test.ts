import { describe, expect, it } from "vitest";
import { validateBody } from "../validate.js";
import { clone, fixture } from "../fixtures.test-helper.js";
import { resultDataValue, ResultsdbResult, ResultsdbResultNewMessage } from "./resultsdb.js";

const abicheck = fixture("resultsdb.result.new.json").body;
const openqa = fixture("resultsdb.result.new.stg-2019.json").body;

function paths(body: unknown): string[] {
  const result = validateBody(ResultsdbResultNewMessage, body);
  return result.ok ? [] : result.issues.map((i) => i.path);
}

describe("resultsdb.result.new", () => {
  it("reads the item and type from the list-valued data", () => {
    const result = ResultsdbResult.parse(openqa);
    expect(resultDataValue(result, "item")).toBe("FEDORA-2019-9244c8b209");
    expect(resultDataValue(result, "scenario")).toBe("fedora.updates-server.x86_64.64bit");
    expect(resultDataValue(result, "missing")).toBeUndefined();
  });

  it("accepts every ResultsDB outcome and nothing else", () => {
    for (const outcome of ["PASSED", "FAILED", "INFO", "NEEDS_INSPECTION", "QUEUED", "RUNNING", "ERROR"]) {
      expect(paths({ ...abicheck, outcome })).toEqual([]);
    }
    expect(paths({ ...abicheck, outcome: "passed" })).toEqual(["outcome"]);
  });

  it("insists that data values are lists of strings", () => {
    const body = clone(abicheck) as { data: Record<string, unknown> };
    body.data.item = "bodhi-5.1.1-1.fc32";
    body.data.arch = [1];
    expect(paths(body)).toEqual(["data.arch.0", "data.item"]);
  });

  it("names the package of a koji_build result only", () => {
    expect(ResultsdbResultNewMessage.packages?.(ResultsdbResult.parse(abicheck))).toEqual(["bodhi"]);
    expect(ResultsdbResultNewMessage.packages?.(ResultsdbResult.parse(openqa))).toEqual([]);
    expect(ResultsdbResultNewMessage.summary?.(ResultsdbResult.parse(abicheck))).toBe(
      "dist.abicheck PASSED for bodhi-5.1.1-1.fc32",
    );
  });
});

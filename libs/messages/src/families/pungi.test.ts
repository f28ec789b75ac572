import { describe, expect, it } from "vitest";
import { validateBody } from "../validate.js";
import { fixture } from "../fixtures.test-helper.js";
import { isPungiComposeStatus, PungiComposeStatusChangeMessage, pungiComposeSucceeded } from "./pungi.js";

const finished = fixture("pungi.compose.status.change.json").body;

describe("pungi.compose.status.change", () => {
  it("accepts statuses Pungi may add later, and tells the known ones apart", () => {
    expect(validateBody(PungiComposeStatusChangeMessage, { ...finished, status: "PAUSED" }).ok).toBe(true);
    expect(isPungiComposeStatus("FINISHED_INCOMPLETE")).toBe(true);
    expect(isPungiComposeStatus("PAUSED")).toBe(false);
  });

  it("counts FINISHED and FINISHED_INCOMPLETE as a usable compose", () => {
    expect(["STARTED", "FINISHED", "FINISHED_INCOMPLETE", "DOOMED", "TERMINATED"].filter(pungiComposeSucceeded)).toEqual([
      "FINISHED",
      "FINISHED_INCOMPLETE",
    ]);
  });

  it("requires compose_id, a non-empty status and location", () => {
    const result = validateBody(PungiComposeStatusChangeMessage, { status: "" });
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(["compose_id", "status", "location"]);
  });
});

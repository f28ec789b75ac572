import { describe, expect, it } from "vitest";
import { parseAuthor } from "./pin.js";

describe("parseAuthor", () => {
  it("reads git's `Name <email>` form", () => {
    expect(parseAuthor("Pat Operator <pat@example.org>")).toEqual({ name: "Pat Operator", email: "pat@example.org" });
    expect(parseAuthor("  Pat <p@x>  ")).toEqual({ name: "Pat", email: "p@x" });
  });

  it("refuses anything else", () => {
    for (const bad of ["pat@example.org", "Pat <>", "<p@x>", "Pat <p@x> <q@y>", "Pat <p x>"]) expect(parseAuthor(bad)).toBeUndefined();
  });
});

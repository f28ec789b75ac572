import { describe, expect, it } from "vitest";
import { createProgress, type ProgressStream } from "./progress.js";

/** A stream that keeps what is written; `isTTY` as a terminal or a pipe would say. */
function fakeStream(isTTY: boolean): ProgressStream & { text: () => string; columns: number } {
  const chunks: string[] = [];
  return {
    isTTY,
    columns: 120,
    write: (text: string) => {
      chunks.push(text);
      return true;
    },
    text: () => chunks.join(""),
  };
}

/** What a person would read: the bar's escape sequences removed. */
const ESC = String.fromCharCode(27);
const ESCAPES = new RegExp(`${ESC}(?:\\[[0-9;?]*[A-Za-z]|[78])`, "g");
const visible = (text: string) => text.replace(ESCAPES, "");

function run(stream: ProgressStream, settings: { json: boolean; ci: boolean }): void {
  const p = createProgress(3, { stream, ...settings });
  p.step(1, "composing", "compose c1 queued");
  p.detail("compose c1 running");
  p.step(1, "composing", "compose c1 running");
  p.step(2, "tests", "1 running");
  p.detail("1 passed");
  p.stop("finished");
}

describe("createProgress", () => {
  it("draws a bar on a terminal, and removes it at the end", () => {
    const stream = fakeStream(true);
    run(stream, { json: false, ci: false });
    const text = stream.text();
    // Cursor movement and line clearing: a bar redrawn in place.
    expect(text).toContain("\x1b[?25l");
    expect(text).toContain("\x1b[?25h");
    const shown = visible(text);
    expect(shown).toContain("1/3 composing: compose c1 queued");
    expect(shown).toContain("1/3 composing: compose c1 running");
    expect(shown).toContain("2/3 tests: 1 passed");
    expect(shown.endsWith("finished\n")).toBe(true);
    expect(text).not.toContain("[1/3]");
  });

  it("prints one plain line per step change when stderr is not a terminal", () => {
    const stream = fakeStream(false);
    run(stream, { json: false, ci: false });
    expect(stream.text()).toBe("[1/3] composing: compose c1 queued\n[2/3] tests: 1 running\nfinished\n");
  });

  it("prints plain lines on a terminal under CI or with --json", () => {
    for (const settings of [{ json: false, ci: true }, { json: true, ci: false }]) {
      const stream = fakeStream(true);
      run(stream, settings);
      expect(stream.text()).toBe("[1/3] composing: compose c1 queued\n[2/3] tests: 1 running\nfinished\n");
    }
  });

  it("clears the bar for other output and draws it again after it; plain mode just writes", () => {
    const stream = fakeStream(true);
    const p = createProgress(2, { stream, json: false, ci: false });
    p.step(1, "composing");
    const before = stream.text().length;
    p.around(() => stream.write("a line of the demo\n"));
    const after = stream.text().slice(before);
    expect(after.startsWith("\r\x1b[2Ka line of the demo\n")).toBe(true);
    expect(visible(after.slice("\r\x1b[2Ka line of the demo\n".length))).toContain("1/2 composing");
    p.stop();
    const plain = fakeStream(false);
    const q = createProgress(2, { stream: plain, json: false, ci: false });
    q.step(1, "composing");
    q.around(() => plain.write("a line of the demo\n"));
    q.stop();
    expect(plain.text()).toBe("[1/2] composing\na line of the demo\n");
  });

  it("writes nothing before the first step and nothing for a stop without a line", () => {
    for (const isTTY of [true, false]) {
      const stream = fakeStream(isTTY);
      const p = createProgress(2, { stream, json: false, ci: false });
      p.detail("ignored before a step");
      p.stop();
      expect(stream.text()).toBe("");
    }
  });
});

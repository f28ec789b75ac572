import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { BodyTooLargeError, closeServer, listen, readBody, sendJson } from "./index.js";

describe("http helpers", () => {
  it("serve JSON with its length, read bounded bodies, listen on a free port and close", async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      readBody(req, 16)
        .then((text) => {
          seen.push(text);
          sendJson(res, 201, { echo: text }, { "cache-control": "no-store" });
        })
        .catch((err: unknown) => sendJson(res, err instanceof BodyTooLargeError ? 413 : 500, { message: String(err) }));
    });
    const port = await listen(server, "127.0.0.1", 0);
    expect(port).toBeGreaterThan(0);
    const ok = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "hello" });
    expect(ok.status).toBe(201);
    expect(ok.headers.get("content-type")).toBe("application/json");
    expect(ok.headers.get("content-length")).toBe(String(Buffer.byteLength('{"echo":"hello"}')));
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(await ok.json()).toEqual({ echo: "hello" });
    const big = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "x".repeat(17) });
    expect(big.status).toBe(413);
    expect(seen).toEqual(["hello"]);
    await closeServer(server, "all");
    expect(server.listening).toBe(false);
    await closeServer(server); // closing twice is fine
  });
});

import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { buildMember, changeSetQueued } from "./fixtures.test-helper.js";
import { emptyState, reduce, type DashboardState } from "./projection.js";
import { CONTENT_SECURITY_POLICY } from "./render.js";
import { DashboardServer } from "./server.js";

let server: DashboardServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(state: () => DashboardState, maxClients = 5): Promise<string> {
  server = new DashboardServer({ host: "127.0.0.1", port: 0, title: "test", maxClients, heartbeatSeconds: 1, pushIntervalMs: 20, state });
  return `http://127.0.0.1:${await server.start()}`;
}

/** Read an event stream until `done` says enough; resolves with the text read. */
function readEvents(url: string, done: (text: string) => boolean, onOpen: () => void = () => undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let text = "";
      if (res.statusCode !== 200) {
        res.resume();
        resolve({ status: res.statusCode ?? 0, text });
        return;
      }
      onOpen();
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
        if (done(text)) {
          req.destroy();
          resolve({ status: 200, text });
        }
      });
      res.on("end", () => resolve({ status: 200, text }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("DashboardServer", () => {
  it("serves the page with its security headers, the state as JSON, and 404/405 for the rest", async () => {
    const state = reduce(emptyState(), { topic: "x.pipeline.change-set.queued", body: changeSetQueued([buildMember("podman-5.3.0-1.fc41")]) });
    const base = await start(() => state);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(await page.text()).toContain("podman-5.3.0-1.fc41");
    const api = await fetch(`${base}/api/state`);
    expect(((await api.json()) as DashboardState).order).toEqual(state.order);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: "POST" })).status).toBe(405);
  });

  it("pushes the content again after a change, coalesced, with heartbeats, and ends the streams on close", async () => {
    let state = emptyState();
    const base = await start(() => state);
    const cs = changeSetQueued([buildMember("podman-5.3.0-1.fc41")]);
    const events = readEvents(
      `${base}/events`,
      (text) => text.includes("podman-5.3.0-1.fc41") && text.includes(": keep-alive"),
      () => {
        setTimeout(() => {
          state = reduce(state, { topic: "x.pipeline.change-set.queued", body: cs });
          server?.changed();
          server?.changed();
        }, 50);
      },
    );
    const { text } = await events;
    const updates = text.split("\n\n").filter((e) => e.startsWith("event: update"));
    // The initial one (seq 0) and one for both changes.
    expect(updates.map((u) => /\nid: (\d+)/.exec(u)?.[1])).toEqual(["0", "1"]);
    const data = JSON.parse(/\ndata: (.*)/.exec(updates[1] ?? "")?.[1] ?? "{}") as { seq: number; html: string };
    expect(data.seq).toBe(1);
    expect(data.html).toContain(cs.change_set_id);
  });

  it("refuses event streams past maxClients, and close() does not wait for open streams", async () => {
    const base = await start(() => emptyState(), 1);
    let opened = false;
    const first = readEvents(`${base}/events`, () => false, () => (opened = true));
    while (!opened) await new Promise((r) => setTimeout(r, 10));
    expect((await readEvents(`${base}/events`, () => true)).status).toBe(503);
    expect(server?.clientCount).toBe(1);
    const closing = server?.close();
    await closing;
    server = undefined;
    expect((await first).status).toBe(200);
  });
});

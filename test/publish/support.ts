// Helpers for the publishing tests: a static file server over the public tree (what a mirror
// is) and an ostree client repository configured as a user would, with GPG verification.
import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize, sep } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The environment for client tools: no proxy between them and 127.0.0.1. */
export const clientEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(https?|all|no)_proxy$/i.test(key)),
);

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Serve `root` read-only on 127.0.0.1 (a random port), GET and HEAD only, no paths outside it. */
export async function serve(root: string): Promise<Served> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
      const info = path === root || path.startsWith(root + sep) ? await stat(path).catch(() => undefined) : undefined;
      if ((req.method !== "GET" && req.method !== "HEAD") || !info?.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-length": info.size, "content-type": "application/octet-stream" });
      if (req.method === "HEAD") res.end();
      else createReadStream(path).pipe(res);
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export async function tool(cmd: string, ...args: string[]): Promise<string> {
  return (await run(cmd, args, { env: clientEnv, maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
}

/** What tool() threw: stderr, for matching the reason a command failed. */
export async function toolFails(cmd: string, ...args: string[]): Promise<string> {
  try {
    await tool(cmd, ...args);
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error(`${cmd} ${args.join(" ")} succeeded`);
}

/** A user's repository with a remote `pub` that verifies commit and summary signatures. */
export async function clientRepo(dir: string, remoteUrl: string, publicKey: string): Promise<string> {
  const repo = join(dir, "client");
  await tool("ostree", "init", `--repo=${repo}`, "--mode=bare-user");
  await tool("ostree", "remote", "add", `--repo=${repo}`, "--set=gpg-verify=true", "--set=gpg-verify-summary=true", `--set=gpgkeypath=${publicKey}`, "pub", `${remoteUrl}repo`);
  return repo;
}

export async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

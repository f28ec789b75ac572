// Signing keys. Production names a key id and a GnuPG home directory in its configuration;
// tests and demos make a throwaway key in a fresh home directory with this helper.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { runTool, type ToolContext } from "@atomic-ci/tools";
import { gpg, type GpgKey } from "./tools.js";

export interface ThrowawayKey extends GpgKey {
  /** ASCII-armoured public key, for a client's `gpgkeypath=`. */
  publicKeyPath: string;
  /** Stop the gpg-agent this home directory started (the directory itself is the caller's). */
  dispose(): Promise<void>;
}

/**
 * A passphrase-less signing key in `<dir>/gnupg` that never expires, made with
 * `gpg --batch --passphrase '' --quick-gen-key UID default default never`.
 */
export async function generateThrowawayKey(dir: string, ctx: ToolContext, uid = "atomic-ci test signing <atomic-ci@example.invalid>"): Promise<ThrowawayKey> {
  const homedir = join(dir, "gnupg");
  await mkdir(homedir, { recursive: true, mode: 0o700 });
  await gpg(ctx, homedir, "--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key", uid, "default", "default", "never");
  const listing = await gpg(ctx, homedir, "--with-colons", "--list-secret-keys");
  const keyId = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(listing.stdout)?.[1];
  if (keyId === undefined) throw new Error("gpg made a key but listed no fingerprint");
  const publicKeyPath = join(dir, "pubkey.asc");
  await gpg(ctx, homedir, "--yes", "--armor", "--output", publicKeyPath, "--export", keyId);
  return {
    keyId,
    homedir,
    publicKeyPath,
    dispose: async () => {
      await runTool("gpgconf", ["--homedir", homedir, "--kill", "gpg-agent"], { env: { ...ctx.env, GNUPGHOME: homedir }, timeoutMs: 10_000, okExitCodes: "any" }).catch(() => undefined);
    },
  };
}

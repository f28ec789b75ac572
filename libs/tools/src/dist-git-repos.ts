// Where a package's dist-git repository is read: a directory of clones (`<dir>/<name>`, the
// fixture world, a volume kept in sync by someone else) or mirrors of a remote forge made on
// first use (`https://src.fedoraproject.org/rpms/{name}.git`). Test discovery and the gates ask
// "does this package have a repository, and where is it at this commit?"; a forge that cannot be
// reached is an error the caller reports (the gate fails closed), never "no repository".
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { safeRpmName } from "./argv.js";
import { GitMirror, GitMirrorError } from "./git-mirror.js";
import type { ToolContext } from "./run.js";

export interface DistGitRepos {
  /** A path git can read for `name`'s repository (holding `rev` when given and the remote has it); undefined when the package has none. */
  path(name: string, rev?: string): Promise<string | undefined>;
}

/** One clone per package under a directory. */
export class DirectoryDistGit implements DistGitRepos {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }
  path(name: string): Promise<string | undefined> {
    try {
      const path = join(this.dir, safeRpmName(name, "dist-git repository name"));
      return Promise.resolve(existsSync(path) ? path : undefined);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

export interface MirroredDistGitOptions {
  /** The remote of a package: `{name}` is replaced, e.g. `https://src.fedoraproject.org/rpms/{name}.git`. */
  urlTemplate: string;
  cacheDir: string;
  /** How old a mirror may get before a read fetches; also how long "no such repository" is believed. */
  maxAgeMs: number;
  tools: ToolContext;
  now?: () => number;
}

/** Mirrors of a remote forge's repositories, cloned on first use and fetched when stale. */
export class MirroredDistGit implements DistGitRepos {
  private readonly mirrors = new Map<string, GitMirror>();
  /** Packages the forge said it has no repository for, until when that is believed. */
  private readonly absent = new Map<string, number>();

  constructor(private readonly options: MirroredDistGitOptions) {
    if (!options.urlTemplate.includes("{name}")) throw new GitMirrorError(`dist-git URL template ${options.urlTemplate} has no {name}`);
  }

  async path(name: string, rev?: string): Promise<string | undefined> {
    safeRpmName(name, "dist-git repository name");
    const now = (this.options.now ?? Date.now)();
    const until = this.absent.get(name);
    if (until !== undefined && now < until) return undefined;
    let mirror = this.mirrors.get(name);
    if (!mirror) {
      mirror = new GitMirror({ url: this.options.urlTemplate.replaceAll("{name}", name), cacheDir: this.options.cacheDir, maxAgeMs: this.options.maxAgeMs, tools: this.options.tools, ...(this.options.now ? { now: this.options.now } : {}) });
      this.mirrors.set(name, mirror);
    }
    try {
      return rev === undefined ? await mirror.path() : await mirror.pathWith(rev);
    } catch (err) {
      if (!(err instanceof GitMirrorError) || !err.absent) throw err;
      this.absent.set(name, now + this.options.maxAgeMs);
      this.mirrors.delete(name);
      return undefined;
    }
  }
}

/** The dist-git of a configuration: `url` (a template with `{name}`) wins over `dir`; neither gives undefined. */
export function distGitRepos(config: { dir?: string | undefined; url?: string | undefined; mirrorDir: string; refreshSeconds: number }, tools: ToolContext): DistGitRepos | undefined {
  if (config.url) return new MirroredDistGit({ urlTemplate: config.url, cacheDir: resolve(config.mirrorDir), maxAgeMs: config.refreshSeconds * 1000, tools });
  return config.dir ? new DirectoryDistGit(config.dir) : undefined;
}

// Serialising composes of one ref: the lib takes a Lock port; DirLock needs nothing but the
// repository's file system, and a Redis lock can implement the same port for composers on
// several machines.
import { join } from "node:path";
import { lockDirectory, type DirLockOptions } from "@atomic-ci/tools";

export type Release = () => Promise<void>;
export type { DirLockOptions };
export { LockTimeoutError } from "@atomic-ci/tools";

export interface Lock {
  /** Wait until `key` is ours; the returned function gives it back. */
  acquire(key: string): Promise<Release>;
}

export class DirLock implements Lock {
  constructor(
    private readonly dir: string,
    private readonly options: DirLockOptions = {},
  ) {}

  acquire(key: string): Promise<Release> {
    return lockDirectory(join(this.dir, `${key.replace(/[^A-Za-z0-9._-]/g, "_")}.lock`), this.options);
  }
}

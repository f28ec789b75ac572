// Where a dist-git repository is, from a configured base and the `namespace/name` that
// messages carry (`rpms/bash`): `<base>/<namespace>/<name>`, the layout of src.fedoraproject.org
// (https://src.fedoraproject.org/rpms/bash) and of the gatekeeper's `distGit.baseDir`. The
// name comes from a message, so both parts are checked as package names (one path component
// each, never `.` or `..`: a name cannot start with a dot).
import { join, resolve } from "node:path";
import { safeRpmName, UnsafeArgumentError } from "./argv.js";

/** A directory, or a URL git can clone, for repository `repo` (`namespace/name`) under `base`. */
export function distGitLocation(base: string, repo: string): string {
  const parts = repo.split("/");
  if (parts.length !== 2) throw new UnsafeArgumentError("dist-git repository", repo, "must be namespace/name");
  const [namespace = "", name = ""] = parts;
  safeRpmName(namespace, "dist-git namespace");
  safeRpmName(name, "dist-git repository name");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(base)) return `${base.replace(/\/+$/, "")}/${namespace}/${name}`;
  return join(resolve(base), namespace, name);
}

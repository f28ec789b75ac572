import type { ChangeSetMember } from "@atomic-ci/messages";

/**
 * `Depends-On:` footers, the Zuul convention: a commit message line `Depends-On: <url>`
 * says the commit must be built and tested together with the change at the URL. Accepted
 * URL forms, on any host (src.fedoraproject.org or the fixture world's forge):
 *
 * - `https://<host>/<namespace>/<name>/c/<40-hex rev>`: a commit (dist-git's commit page);
 * - `https://<host>/<namespace>/<name>/pull-request/<n>`: a pull request.
 *
 * Each becomes a reference key (`commit:<ns>/<name>@<rev>`, `pr:<ns>/<name>#<n>`) that an
 * arrived change satisfies. A footer with any other URL is reported and not waited for.
 */
const FOOTER = /^depends-on:[ \t]*(\S+)[ \t]*$/gim;
const COMMIT_PATH = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/c\/([0-9a-f]{40})\/?$/;
const PR_PATH = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/pull-request\/(\d+)\/?$/;

export interface DependsOn {
  refs: string[];
  /** Footers whose URL is none of the accepted forms. */
  unparsed: string[];
}

export function parseDependsOn(message: string): DependsOn {
  const refs = new Set<string>();
  const unparsed: string[] = [];
  for (const match of message.matchAll(FOOTER)) {
    const url = match[1] ?? "";
    const ref = changeUrlRef(url);
    if (ref) refs.add(ref);
    else unparsed.push(url);
  }
  return { refs: [...refs].sort(), unparsed };
}

/** The reference key of a change URL, or undefined for a URL of no accepted form. */
export function changeUrlRef(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const { protocol, pathname } = new URL(url);
  if (protocol !== "https:" && protocol !== "http:") return undefined;
  const commit = COMMIT_PATH.exec(pathname);
  if (commit) return `commit:${commit[1] ?? ""}/${commit[2] ?? ""}@${commit[3] ?? ""}`;
  const pr = PR_PATH.exec(pathname);
  if (pr) return `pr:${pr[1] ?? ""}/${pr[2] ?? ""}#${pr[3] ?? ""}`;
  return undefined;
}

/** The references a member satisfies (what a Depends-On URL pointing at it becomes). */
export function refsOf(member: ChangeSetMember): string[] {
  switch (member.kind) {
    case "dist-git-commit":
    case "definition-commit":
      return [`commit:${member.repo}@${member.rev}`];
    case "pull-request": {
      const ref = changeUrlRef(member.pr_url);
      return ref ? [ref] : [];
    }
    default:
      return [];
  }
}

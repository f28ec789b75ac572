// Run by test/images/ownership.test.ts under `setpriv --reuid=65534`: builds the qcow2 of a
// commit as an unprivileged user. Arguments: one JSON object {repo, commit, ref, outDir, workDir}.
import { buildImages } from "@atomic-ci/images";

const opts = JSON.parse(process.argv[2] ?? "{}") as { repo: string; commit: string; ref: string; outDir: string; workDir: string };
const built = await buildImages({ ...opts, formats: ["qcow2"] }, { env: process.env });
process.stdout.write(`${JSON.stringify({ dir: built.dir, meta: built.meta, uid: process.getuid?.() })}\n`);

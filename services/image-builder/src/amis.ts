// Where the AMIs of a build are recorded. The truth is a record of our own next to meta.json
// (`aws-amis.json`: which vmdk, which regions, which AMIs), because @atomic-ci/images rewrites
// meta.json from what it knows on every build; meta.json then gets `amis` merged back in.
// Both are written to a temp file and renamed, so a reader never sees half a file.
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { coversRegions } from "@atomic-ci/aws";

export const AMIS_FILE = "aws-amis.json";

const AmiEntry = z.strictObject({ name: z.string().min(1), hvm: z.string().regex(/^ami-[0-9a-f]+$/), snapshot: z.string().regex(/^snap-[0-9a-f]+$/) });
export const AmisRecord = z.looseObject({
  /** The vmdk these AMIs were made from (its sha256 in meta.json). */
  "vmdk-sha256": z.string().regex(/^[0-9a-f]{64}$/),
  "ami-name": z.string().min(1),
  amis: z.array(AmiEntry).min(1),
});
export type AmisRecord = z.output<typeof AmisRecord>;

/** The recorded AMIs when they are of this vmdk and cover every configured region; else undefined. */
export async function recordedAmis(dir: string, vmdkSha256: string, home: string, regions: readonly string[]): Promise<AmisRecord | undefined> {
  const text = await readFile(join(dir, AMIS_FILE), "utf8").catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  });
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // A record we cannot read is no record: the upload runs again and finds the AMIs by name.
    return undefined;
  }
  const parsed = AmisRecord.safeParse(json);
  if (!parsed.success || parsed.data["vmdk-sha256"] !== vmdkSha256) return undefined;
  return coversRegions(parsed.data.amis, home, regions) ? parsed.data : undefined;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Records the AMIs, then puts them into meta.json as `amis` (meta.json unchanged when it already says so). */
export async function recordAmis(dir: string, metaPath: string, record: AmisRecord): Promise<void> {
  await writeAtomically(join(dir, AMIS_FILE), `${JSON.stringify(record, null, 2)}\n`);
  const current = await readFile(metaPath, "utf8");
  const meta = JSON.parse(current) as Record<string, unknown>;
  const text = `${JSON.stringify({ ...meta, amis: record.amis }, null, 2)}\n`;
  if (text !== current) await writeAtomically(metaPath, text);
}

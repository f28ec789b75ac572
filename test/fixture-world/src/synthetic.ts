import type { BinaryPackage, SourcePackage } from "./model.js";

/** Subpackages per synthetic source package: one rpmbuild writes a whole batch (see docs). */
export const SYNTHETIC_BATCH = 100;
const DATE = "2024-10-16T00:00:00Z";
/** Share of the packages in each layer, bottom (libraries) to top (applications). */
const LAYERS = [0.1, 0.3, 0.3, 0.3];

export interface SyntheticPackage {
  name: string;
  layer: number;
  requires: string[];
}

/** A small deterministic PRNG (mulberry32): the same N always gives the same graph. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * N packages in four layers. A package requires 0–5 packages of the layers below it (the
 * bottom layer requires glibc from the base host), so the graph has depth, fan-in and
 * packages nothing requires — like a distribution's, in miniature.
 */
export function syntheticGraph(count: number): SyntheticPackage[] {
  const rand = random(0x5eed ^ count);
  const packages: SyntheticPackage[] = [];
  let start = 0;
  LAYERS.forEach((share, layer) => {
    const size = layer === LAYERS.length - 1 ? count - start : Math.max(1, Math.round(count * share));
    for (let i = 0; i < size && packages.length < count; i++) {
      const index = packages.length + 1;
      const name = `synth-${String(index).padStart(4, "0")}`;
      const below = packages.slice(0, start);
      const wanted = layer === 0 ? 0 : Math.floor(rand() * 6);
      const requires = new Set<string>(layer === 0 ? ["glibc"] : []);
      for (let k = 0; k < wanted && below.length > 0; k++) requires.add(below[Math.floor(rand() * below.length)]?.name ?? "glibc");
      packages.push({ name, layer, requires: [...requires].sort() });
    }
    start = packages.length;
  });
  return packages;
}

/** Source packages of SYNTHETIC_BATCH subpackages each (all version 1); the main package of a batch is not built. */
export function syntheticSources(graph: readonly SyntheticPackage[]): SourcePackage[] {
  const sources: SourcePackage[] = [];
  for (let b = 0; b * SYNTHETIC_BATCH < graph.length; b++) {
    const batch = graph.slice(b * SYNTHETIC_BATCH, (b + 1) * SYNTHETIC_BATCH);
    const name = `synthetic-batch-${String(b + 1).padStart(2, "0")}`;
    const binaries: BinaryPackage[] = [
      { name, summary: "Synthetic batch (not built)", files: [] },
      ...batch.map((p) => ({
        name: p.name,
        summary: `Synthetic package ${p.name} (layer ${p.layer})`,
        requires: p.requires,
        files: [{ path: `/usr/share/synthetic/${p.name}/manifest`, content: `${p.name} layer ${p.layer}: ${p.requires.join(" ")}\n` }],
      })),
    ];
    sources.push({
      name,
      summary: "Synthetic packages for benchmarks",
      description: "Tiny generated packages forming a layered dependency graph.",
      license: "MIT",
      url: "https://example.invalid/synthetic",
      arch: "noarch",
      tests: "none",
      noMainPackage: true,
      versions: [{ version: "1", repo: "stable", date: DATE, changelog: "Generate synthetic packages" }],
      binaries: () => binaries,
    });
  }
  return sources;
}

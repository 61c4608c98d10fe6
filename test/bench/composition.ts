/**
 * What a function's bundle is made of, largest inputs first:
 *   npx tsx test/bench/composition.ts <function> [count] [--packages]
 * Built with the stack's esbuild options (bundles.ts). Use it when a bundle
 * grows past its budget (test/budgets/budgets.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '../../lib/gateway-function';
import { esbuildOptions, sourceOf } from './bundles';

async function main(): Promise<void> {
  const [name, countText] = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  const byPackage = process.argv.includes('--packages');
  if (!name) throw new Error('usage: npx tsx test/bench/composition.ts <function> [count] [--packages]');
  const outdir = mkdtempSync(join(tmpdir(), 'luma-composition-'));
  try {
    const result = await build(esbuildOptions(join(PROJECT_ROOT, 'functions', name, 'handler.ts'), outdir));
    const output = Object.values(result.metafile!.outputs).find((o) => o.entryPoint)!;
    const totals = new Map<string, number>();
    for (const [input, info] of Object.entries(output.inputs)) {
      const key = byPackage ? sourceOf(input) : input.replace(/^node_modules\//, '');
      totals.set(key, (totals.get(key) ?? 0) + info.bytesInOutput);
    }
    console.log(`functions/${name}: ${output.bytes} bytes`);
    for (const [input, bytes] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, Number(countText ?? 30))) console.log(String(bytes).padStart(8), input);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});

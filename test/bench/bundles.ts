/**
 * The functions' bundles, built exactly as the CDK stack builds them:
 * - synthAssets(): `cdk synth` and the asset of each AWS::Lambda::Function
 *   (found by its aws:cdk:path .../Fn-<name>/Function/Resource);
 * - buildBundle(): esbuild with FUNCTION_BUNDLING (lib/gateway-function.ts),
 *   mapped to esbuild's options the way NodejsFunction maps them to its CLI.
 * The bench checks once that both give the same bytes.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BuildOptions, Metafile } from 'esbuild';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { EVERY_FUNCTION } from '../../functions/settings';
import { FUNCTION_BUNDLING, PROJECT_ROOT } from '../../lib/gateway-function';

/** Every Lambda the stack deploys, by its folder under functions/. */
export const FUNCTION_NAMES = EVERY_FUNCTION;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** What NodejsFunction sets NODE_OPTIONS to (lib/gateway-function.ts); read from the template when synthesized. */
export const DEFAULT_NODE_OPTIONS = '--enable-source-maps';

const HANDLED_OPTIONS = new Set([
  'format', 'target', 'minify', 'sourceMap', 'sourceMapMode', 'sourcesContent', 'mainFields', 'banner', 'footer',
  'externalModules', 'loader', 'define', 'logLevel', 'keepNames', 'tsconfig', 'metafile', 'inject',
]);

/** esbuild options equal to NodejsFunction's command line for these bundling options (see its buildEsbuildArgs). */
export function esbuildOptions(entry: string, outdir: string, bundling: BundlingOptions = FUNCTION_BUNDLING): BuildOptions {
  const unknown = Object.keys(bundling).filter((key) => !HANDLED_OPTIONS.has(key));
  if (unknown.length > 0) throw new Error(`bundles.ts does not map bundling option(s) ${unknown.join(', ')} to esbuild: add them`);
  const esm = bundling.format === 'esm';
  const sourceMapMode = bundling.sourceMapMode;
  return {
    entryPoints: [entry],
    bundle: true,
    absWorkingDir: PROJECT_ROOT,
    platform: 'node',
    target: bundling.target ?? 'node24',
    ...(bundling.format && { format: bundling.format as 'esm' | 'cjs' }),
    outfile: join(outdir, esm ? 'index.mjs' : 'index.js'),
    minify: bundling.minify ?? false,
    sourcemap: (bundling.sourceMap || sourceMapMode) ? (sourceMapMode && sourceMapMode !== 'default' ? (sourceMapMode as 'inline' | 'external' | 'both') : true) : false,
    ...(bundling.sourcesContent === false && { sourcesContent: false }),
    external: bundling.externalModules ?? ['@aws-sdk/*'],
    ...(bundling.loader && { loader: bundling.loader as BuildOptions['loader'] }),
    ...(bundling.define && { define: bundling.define }),
    logLevel: (bundling.logLevel as BuildOptions['logLevel']) ?? 'warning',
    ...(bundling.keepNames && { keepNames: true }),
    ...(bundling.tsconfig && { tsconfig: bundling.tsconfig }),
    ...(bundling.banner && { banner: { js: bundling.banner } }),
    ...(bundling.footer && { footer: { js: bundling.footer } }),
    ...(bundling.mainFields && { mainFields: bundling.mainFields }),
    ...(bundling.inject && { inject: bundling.inject }),
    metafile: true,
  };
}

export interface BuiltBundle {
  readonly functionName: string;
  readonly dir: string;
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly gzipBytes: number;
  readonly sha256: string;
  /** Bytes in the bundle by package (node_modules/<pkg>) or source folder, largest first. */
  readonly composition: readonly { readonly source: string; readonly bytes: number }[];
}

export function sourceOf(inputPath: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(inputPath);
  if (pkg) return pkg[1];
  const parts = inputPath.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : inputPath;
}

function composition(metafile: Metafile): { source: string; bytes: number }[] {
  const output = Object.entries(metafile.outputs).find(([name]) => /\.m?js$/.test(name));
  const totals = new Map<string, number>();
  for (const [input, info] of Object.entries(output?.[1].inputs ?? {})) {
    const source = sourceOf(input);
    totals.set(source, (totals.get(source) ?? 0) + info.bytesInOutput);
  }
  return [...totals].map(([source, bytes]) => ({ source, bytes })).sort((a, b) => b.bytes - a.bytes);
}

function describeFile(functionName: string, dir: string, metafile?: Metafile): BuiltBundle {
  const file = ['index.mjs', 'index.js'].map((name) => join(dir, name)).find((path) => existsSync(path));
  if (!file) throw new Error(`no index.mjs in ${dir}`);
  const content = readFileSync(file);
  const map = `${file}.map`;
  return {
    functionName,
    dir,
    file,
    bytes: content.length,
    mapBytes: existsSync(map) ? statSync(map).size : 0,
    gzipBytes: gzipSync(content).length,
    sha256: createHash('sha256').update(content).digest('hex'),
    composition: metafile ? composition(metafile) : [],
  };
}

/** Builds functions/<name>/handler.ts (or any entry) as the stack does, into outdir. */
export async function buildBundle(functionName: string, outdir: string, entry = join(PROJECT_ROOT, 'functions', functionName, 'handler.ts')): Promise<BuiltBundle> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build(esbuildOptions(entry, outdir));
  return describeFile(functionName, outdir, result.metafile);
}

/** The export of floor.ts standing for each function. */
export const FLOOR_OF: Readonly<Record<FunctionName, string>> = {
  authorizer: 'authorizer',
  extend: 'submit',
  create: 'submit',
  'get-task': 'getTask',
  'list-deliveries': 'listDeliveries',
  callback: 'callback',
  'task-changes': 'taskChanges',
  reconciler: 'reconciler',
  'delivery-worker': 'deliveryWorker',
  'resend-notification': 'resendNotification',
  'recover-notifications': 'recoverNotifications',
  'list-endpoints': 'listEndpoints',
  'enable-endpoint': 'enableEndpoint',
  'asset-worker': 'assetWorker',
  'list-tasks': 'listTasks',
  'batch-get-tasks': 'batchGetTasks',
  'get-usage': 'getUsage',
};

/**
 * Bundles one export of a bench module as a Lambda handler (an entry file
 * `export { <name> as handler } from '<module>'`), with the stack's options:
 * tree shaking leaves it only what that export uses.
 */
export async function buildExport(label: string, outdir: string, module: string, exportName: string): Promise<BuiltBundle> {
  mkdirSync(outdir, { recursive: true });
  const entry = join(outdir, 'entry.ts');
  writeFileSync(entry, `export { ${exportName} as handler } from ${JSON.stringify(module.replace(/\.ts$/, ''))};\n`);
  return buildBundle(label, join(outdir, 'out'), entry);
}

export interface SynthesizedFunction extends BuiltBundle {
  readonly logicalId: string;
  readonly memorySize: number;
  readonly nodeOptions: string | undefined;
}

/** Runs `cdk synth` into outdir and returns each function's asset. */
export function synthAssets(outdir: string): Map<string, SynthesizedFunction> {
  const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '-o', outdir], { cwd: PROJECT_ROOT, encoding: 'utf8', env: process.env, timeout: 300_000 });
  if (result.status !== 0) throw new Error(`cdk synth failed (${result.status}): ${(result.stderr ?? '').slice(-2000)}`);
  const found = new Map<string, SynthesizedFunction>();
  for (const templateFile of readdirSync(outdir).filter((name) => name.endsWith('.template.json'))) {
    const template = JSON.parse(readFileSync(join(outdir, templateFile), 'utf8')) as { Resources: Record<string, any> };
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const name = /\/Fn-([a-z0-9-]+)\/Function\/Resource$/.exec(resource.Metadata?.['aws:cdk:path'] ?? '')?.[1];
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (!name || !assetPath) continue;
      found.set(name, {
        ...describeFile(name, join(outdir, assetPath)),
        logicalId,
        memorySize: resource.Properties?.MemorySize,
        nodeOptions: resource.Properties?.Environment?.Variables?.NODE_OPTIONS,
      });
    }
  }
  return found;
}

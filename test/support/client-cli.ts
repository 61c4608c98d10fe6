/**
 * `npm run client -- ...args` as a process, as an operator runs it: its exit
 * code and output, with the key it printed apart and every key and secret
 * redacted from what is kept. Not spawnSync: the endpoints the CLI talks to
 * may run in the test's own process.
 */
import { spawn } from 'node:child_process';
import { REPO } from './local-process';

export interface CliRun {
  readonly status: number | null;
  /** The API key it printed, if any. */
  readonly key: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runClientCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const child = spawn('npm', ['run', '--silent', 'client', '--', ...args], {
    cwd: REPO,
    env: { ...process.env, AWS_REGION: '', AWS_PROFILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const key = /API key\s+(lgw_\S+)/.exec(stdout)?.[1];
  const redact = (text: string) => text.replace(/(lgw_|whsec_)\S+/g, '$1<redacted>');
  return { status, key, stdout: redact(stdout), stderr: redact(stderr) };
}

/**
 * What a running `npm start` tells other processes on the machine (the
 * client CLI): its endpoints and table names, in a small JSON file written
 * when the stack is ready and removed when it stops. Never a key or a
 * secret: the file is only where things are. A file left by a stack that
 * died without cleaning up is recognised by its process id and ignored.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { TableNames } from '../../functions/tables';

export interface LocalStackState {
  /** The `npm start` node process. */
  readonly pid: number;
  readonly apiUrl: string;
  readonly region: string;
  readonly dynamoEndpoint: string;
  readonly tables: TableNames;
  readonly startedAt: string;
}

const REPO = resolve(__dirname, '..', '..');

/** The state file's path: LOCAL_STATE_FILE (the `stateFile` setting), relative to the repository unless absolute. */
export function stateFilePath(file: string): string {
  return isAbsolute(file) ? file : resolve(REPO, file);
}

export function writeStackState(path: string, state: LocalStackState): void {
  mkdirSync(dirname(path), { recursive: true });
  // Written whole, then renamed: a reader never sees half a file.
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(partial, path);
}

/** Removes the file if it is this process's (another stack may have started since and written its own). */
export function removeStackState(path: string, pid = process.pid): void {
  if (readStackState(path, { liveOnly: false })?.pid === pid) rmSync(path, { force: true });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running stack's state, or undefined when there is no file, it is unreadable, or its stack is gone. */
export function readStackState(path: string, { liveOnly = true } = {}): LocalStackState | undefined {
  let state: LocalStackState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as LocalStackState;
  } catch {
    return undefined;
  }
  if (typeof state?.pid !== 'number' || typeof state.dynamoEndpoint !== 'string' || typeof state.tables !== 'object') return undefined;
  return !liveOnly || isRunning(state.pid) ? state : undefined;
}

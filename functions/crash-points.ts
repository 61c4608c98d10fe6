/**
 * Crash points: where the local stack can kill a submission between two of
 * its steps, as a Lambda that crashed or timed out there would be killed
 * (lib/local/lambda-runtime.ts ends the invocation; its continuation never
 * runs). Nothing arms a trap in AWS, where crashPoint does nothing.
 */
import type { SubmitStep } from '#domain/submit-generation';

type Trap = (step: SubmitStep, taskId: string) => Promise<void> | undefined;

let trap: Trap | undefined;

/** Arms a trap (the local stack's fault injection); undefined disarms it. */
export function setCrashTrap(next: Trap | undefined): void {
  trap = next;
}

/** Called by the submit pipeline after each step. */
export async function crashPoint(step: SubmitStep, taskId: string): Promise<void> {
  await trap?.(step, taskId);
}

/**
 * TransactWriteItems' failure modes, read once for every store: the per-item
 * reasons of a cancelled transaction, and the retry of a transaction that
 * another one touching the same item cancelled (TransactionConflict: two
 * submissions of one client, both taking a slot of its limits item). The
 * SDK retries neither; DynamoDB Local never produces a conflict (it runs
 * transactions one at a time), so the retry is tested with a fault.
 */

/** The per-item reasons of a cancelled transaction ('ConditionalCheckFailed', 'TransactionConflict', 'None'), in item order. */
export function cancellationReasons(error: unknown): string[] {
  return ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
}

/** The items a cancelled transaction returned for its refused conditions (ReturnValuesOnConditionCheckFailure), in item order. */
export function cancellationItems(error: unknown): (Record<string, unknown> | undefined)[] {
  return ((error as { CancellationReasons?: { Item?: Record<string, unknown> }[] }).CancellationReasons ?? []).map((reason) => reason.Item);
}

/** True when a transaction was cancelled only because another one held one of its items (and no condition refused it). */
export function isTransactionConflict(error: unknown): boolean {
  const reasons = cancellationReasons(error);
  return reasons.includes('TransactionConflict') && !reasons.includes('ConditionalCheckFailed');
}

/** Attempts of a transaction cancelled by conflicts, and the longest wait before one (full jitter, doubling from 25 ms). */
export const CONFLICT_ATTEMPTS = 5;
const CONFLICT_BASE_DELAY_MS = 25;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs a transaction, again after a conflict, up to CONFLICT_ATTEMPTS times
 * (at most about 0.4 s of waiting in all); the last conflict is thrown.
 */
export async function retryingConflicts<T>(transaction: () => Promise<T>, wait: (ms: number) => Promise<void> = sleep): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await transaction();
    } catch (error) {
      if (!isTransactionConflict(error) || attempt >= CONFLICT_ATTEMPTS) throw error;
      await wait(Math.random() * CONFLICT_BASE_DELAY_MS * 2 ** (attempt - 1));
    }
  }
}

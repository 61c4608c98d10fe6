/** The numbers docs/stream-contract.md and the README give for notifications are the code's. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DELIVERY_WORKER_BOUNDS } from '#domain/deliver-due';
import { JITTER_SHARE, scheduleSpanSeconds } from '#domain/retry-schedule';
import { RECOVER_MAX_PER_CALL } from '#domain/redeliver';
import { DEFAULT_PART_BYTES } from '#adapters/s3-objects';
import { TASK_RECORD_MINOR_VERSION, taskRecordSchema } from '#domain/task-record';
import { SETTINGS } from '../../functions/settings';

const contract = readFileSync(join(__dirname, '..', '..', 'docs', 'stream-contract.md'), 'utf8').replace(/\s+/g, ' ');
const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8').replace(/\s+/g, ' ');

it('states the default retry schedule, its span, its jitter and its attempts', () => {
  const schedule = SETTINGS.webhookRetrySchedule.default;
  expect(contract).toContain(`\`${schedule.join(',')}\``);
  expect(contract).toContain(`about ${(scheduleSpanSeconds(schedule) / 3600).toFixed(1)} h in all`);
  expect(contract).toContain(`up to ${JITTER_SHARE * 100}% of its delay`);
  expect(readme).toContain(`${schedule.length} attempts over about ${(scheduleSpanSeconds(schedule) / 3600).toFixed(1)} h`);
});

it('states the first attempt timeout, the worker\'s attempt timeout and its bounds per endpoint', () => {
  expect(contract).toContain(`\`notifyFirstAttemptTimeoutMs\` (${SETTINGS.notifyFirstAttemptTimeoutMs.default / 1000} s)`);
  expect(readme).toContain(`a first attempt of at most ${SETTINGS.notifyFirstAttemptTimeoutMs.default / 1000} s`);
  expect(contract).toContain(`\`notifyTimeoutMs\` (${SETTINGS.notifyTimeoutMs.default / 1000} s)`);
  expect(contract).toContain(`at most ${DELIVERY_WORKER_BOUNDS.perEndpointConcurrency} attempts at a time out of ${DELIVERY_WORKER_BOUNDS.concurrency}`);
  expect(contract).toContain(`holds at most ${DELIVERY_WORKER_BOUNDS.perEndpointConcurrency} slots`);
});

it('states when an endpoint is disabled, the secret overlap and the recover bound', () => {
  expect(contract).toContain(`\`webhookDisableAfterSeconds\` (${SETTINGS.webhookDisableAfterSeconds.default / 86_400} days)`);
  expect(readme).toContain(`fails every attempt for ${SETTINGS.webhookDisableAfterSeconds.default / 86_400} days`);
  expect(contract).toContain(`\`webhookSecretOverlapSeconds\` (${SETTINGS.webhookSecretOverlapSeconds.default / 3600} h)`);
  expect(readme).toContain(`\`webhookSecretOverlapSeconds\` (${SETTINGS.webhookSecretOverlapSeconds.default / 3600} h)`);
  expect(contract).toContain(`up to ${RECOVER_MAX_PER_CALL} a call`);
  expect(contract).toContain(`every \`deliveryWorkerIntervalMinutes\`, ${SETTINGS.deliveryWorkerIntervalMinutes.default} min`);
});

it('states the stored media: the contract version, the asset fields, the retry schedule and the link lifetime', () => {
  expect(contract).toContain(`(contract, version 1.${TASK_RECORD_MINOR_VERSION})`);
  expect(contract).toContain(`**1.${TASK_RECORD_MINOR_VERSION}** (2026-12, issue 12)`);
  for (const field of ['asset_state', 'asset_keys', 'asset_failure_reason', 'assets_settled_at']) {
    expect(Object.keys(taskRecordSchema.def.shape)).toContain(field);
    expect(contract).toContain(`| \`${field}\` |`);
  }
  expect(contract).toContain(`\`assetRetrySchedule\` (\`${SETTINGS.assetRetrySchedule.default.join(',')}\` s, with jitter)`);
  expect(contract).toContain(`every \`assetWorkerIntervalMinutes\`, ${SETTINGS.assetWorkerIntervalMinutes.default} min`);
  expect(contract).toContain(`valid for \`assetLinkTtlSeconds\` (${SETTINGS.assetLinkTtlSeconds.default / 3600} h;`);
  expect(contract).toContain(`one ${DEFAULT_PART_BYTES / 1024 / 1024} MiB part at a time`);
});

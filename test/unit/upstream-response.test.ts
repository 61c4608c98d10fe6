import { parseUpstreamGeneration, toUnixSeconds } from '#adapters/upstream/response';
import { fixture } from '../support/fixtures';

function parsed(name: string) {
  const result = parseUpstreamGeneration(fixture(name));
  if (!result.ok) throw new Error(`${name}: ${result.problem}`);
  return result.generation;
}

describe('upstream response shapes', () => {
  it('reads the seed example (raw generation, pending)', () => {
    expect(parsed('submit-raw-pending.json')).toMatchObject({ id: '749d328e-4fd0-43a8-8c89-32394d60da69', rawState: 'pending', status: 'pending' });
  });

  it('reads the wrapped submission (submitted is pending, ms timestamps become seconds)', () => {
    expect(parsed('submit-wrapped.json')).toMatchObject({ id: '749d328e-4fd0-43a8-8c89-32394d60da69', rawState: 'submitted', status: 'pending', updatedAt: 1734878919 });
  });

  it('reads processing in both shapes', () => {
    expect(parsed('generation-processing.json').status).toBe('processing');
    expect(parsed('wrapped-processing.json')).toMatchObject({ status: 'processing', updatedAt: 1734878955 });
  });

  it('reads a completed generation with every URL', () => {
    expect(parsed('generation-completed.json')).toEqual({
      id: '749d328e-4fd0-43a8-8c89-32394d60da69',
      rawState: 'completed',
      status: 'completed',
      videoUrl: 'https://storage.cdn-luma.com/dream_machine/749d328e/watermarked_video.mp4',
      videoRawUrl: 'https://storage.cdn-luma.com/dream_machine/749d328e/video.mp4',
      thumbnailUrl: 'https://storage.cdn-luma.com/dream_machine/749d328e/thumbnail.jpg',
      lastFrameUrl: 'https://storage.cdn-luma.com/dream_machine/749d328e/last_frame.jpg',
      failureReason: undefined,
      updatedAt: 1734878919,
    });
  });

  it('reads the official API shape (assets)', () => {
    expect(parsed('generation-completed-official.json')).toMatchObject({
      status: 'completed',
      videoUrl: 'https://storage.cdn-luma.com/dream_machine/d2f0b6a4/video.mp4',
      thumbnailUrl: 'https://storage.cdn-luma.com/dream_machine/d2f0b6a4/thumbnail.jpg',
    });
  });

  it('reads wrapped succeed with its video', () => {
    expect(parsed('wrapped-succeed.json')).toMatchObject({ status: 'completed', videoUrl: 'https://storage.cdn-luma.com/dream_machine/749d328e/video.mp4' });
  });

  it('reads a failure and its reason', () => {
    expect(parsed('generation-failed.json')).toMatchObject({ status: 'failed', failureReason: 'Advanced moderation failed' });
  });

  it('does not call completed without a video final', () => {
    const body = { ...fixture('generation-completed.json'), video: null, artifact: null };
    const result = parseUpstreamGeneration(body);
    expect(result.ok && result.generation.status).toBe('processing');
    const wrapped = fixture('wrapped-succeed.json');
    wrapped.data.task_result = { videos: [] };
    const result2 = parseUpstreamGeneration(wrapped);
    expect(result2.ok && result2.generation.status).toBe('processing');
  });

  it('keeps an unknown state raw and maps it to nothing', () => {
    const result = parseUpstreamGeneration({ ...fixture('generation-processing.json'), state: 'levitating' });
    expect(result).toEqual({ ok: true, generation: expect.objectContaining({ rawState: 'levitating', status: undefined }) });
  });

  it('refuses bodies of neither shape, and wrapped errors', () => {
    for (const body of [null, 'text', [], {}, { state: 'completed' }, { data: { task_status: 'x' } }, fixture('error-500-panic.json')]) {
      expect(parseUpstreamGeneration(body).ok).toBe(false);
    }
    const failedWrap = { code: 500, message: 'boom', data: { task_id: 'x', task_status: 'failed' } };
    expect(parseUpstreamGeneration(failedWrap)).toEqual({ ok: false, problem: 'upstream answered code 500: boom' });
  });

  it('turns ISO, seconds and milliseconds into unix seconds', () => {
    expect(toUnixSeconds('2024-12-22T14:48:39.947851Z')).toBe(1734878919);
    expect(toUnixSeconds(1734878919)).toBe(1734878919);
    expect(toUnixSeconds(1734878919947)).toBe(1734878919);
    expect(toUnixSeconds('1734878919947')).toBe(1734878919);
    expect(toUnixSeconds('not a date')).toBeUndefined();
    expect(toUnixSeconds(null)).toBeUndefined();
  });
});

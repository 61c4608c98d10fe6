import { generationRequestSchema, idempotencyKeySchema, MAX_PROMPT_LENGTH, taskIdPathSchema } from '#domain/generation-request';
import { validate } from '#http/validation';

const deployed = generationRequestSchema({ allowLoopbackHttp: false });
const local = generationRequestSchema({ allowLoopbackHttp: true });

function problem(schema: typeof deployed, body: unknown): string | undefined {
  const result = validate(schema, body);
  return result.ok ? undefined : result.message;
}

describe('generation request schema', () => {
  it('accepts the seed example and trims the prompt', () => {
    expect(deployed.parse({ user_prompt: ' add cat ', expand_prompt: true })).toEqual({ user_prompt: 'add cat', expand_prompt: true });
  });

  it('accepts every optional field', () => {
    const body = {
      user_prompt: 'add cat',
      expand_prompt: false,
      image_url: 'https://example.com/a.png',
      image_end_url: 'data:image/png;base64,iVBORw0KGgo=',
      notify_hook: 'https://hooks.example.com/luma',
    };
    expect(deployed.parse(body)).toEqual(body);
  });

  it.each([
    [{}, 'user_prompt is required'],
    [{ user_prompt: 42 }, 'user_prompt must be a string, got a number'],
    [{ user_prompt: '   ' }, 'user_prompt must not be empty'],
    [{ user_prompt: 'x'.repeat(MAX_PROMPT_LENGTH + 1) }, `user_prompt must be at most ${MAX_PROMPT_LENGTH} characters`],
    [{ user_prompt: 'a', expand_prompt: 'yes' }, 'expand_prompt must be a boolean, got a string'],
    [{ user_prompt: 'a', prompt: 'b' }, 'the body has unknown field: prompt'],
    [[], 'the body must be a JSON object, got an array'],
    [{ user_prompt: 'a', image_url: 'ftp://x.com/a.png' }, 'image_url must be an http(s) URL'],
    [{ user_prompt: 'a', image_end_url: 'data:text/html;base64,AAAA' }, 'image_end_url must be an http(s) URL or a data:image/(png|jpeg|webp|gif);base64, URL'],
    [{ user_prompt: 'a', image_url: `data:image/png;base64,${'A'.repeat(3 * 1024 * 1024)}` }, 'image_url must be at most'],
    [{ user_prompt: 'a', notify_hook: 'http://hooks.example.com/x' }, 'notify_hook must be an https URL'],
    [{ user_prompt: 'a', notify_hook: 'https://10.0.0.1/x' }, 'notify_hook must not point at a private'],
    [{ user_prompt: 'a', notify_hook: 'https://169.254.169.254/latest/meta-data' }, 'notify_hook must not point at a private'],
    [{ user_prompt: 'a', notify_hook: 'https://[::1]/x' }, 'notify_hook must not point at a private'],
    [{ user_prompt: 'a', notify_hook: 'http://127.0.0.1:9000/x' }, 'notify_hook must be an https URL'],
    [{ user_prompt: 'a', notify_hook: 'not a url' }, 'notify_hook must be an absolute https URL'],
  ])('rejects %j with a message naming the field', (body, message) => {
    expect(problem(deployed, body)).toContain(message);
  });

  it('names every wrong field at once', () => {
    expect(problem(deployed, { user_prompt: '', expand_prompt: 1 })).toBe('user_prompt must not be empty; expand_prompt must be a boolean, got a number');
  });

  it('lets only the local stack send plain http to loopback', () => {
    expect(problem(local, { user_prompt: 'a', notify_hook: 'http://127.0.0.1:9000/x' })).toBeUndefined();
    expect(problem(local, { user_prompt: 'a', notify_hook: 'http://localhost:9000/x' })).toBeUndefined();
    expect(problem(local, { user_prompt: 'a', notify_hook: 'http://10.0.0.1/x' })).toContain('https');
    expect(problem(local, { user_prompt: 'a', notify_hook: 'http://169.254.169.254/x' })).toContain('https');
  });
});

describe('path and header schemas', () => {
  it('requires a UUID task id', () => {
    expect(taskIdPathSchema.safeParse({ task_id: '4665a07c-7641-4809-a133-10786201bb56' }).success).toBe(true);
    expect(validate(taskIdPathSchema, { task_id: '../../etc' }, 'path')).toEqual({
      ok: false,
      message: 'path.task_id must be a UUID, such as 4665a07c-7641-4809-a133-10786201bb56',
    });
  });

  it('bounds Idempotency-Key', () => {
    expect(idempotencyKeySchema.safeParse('order-123').success).toBe(true);
    expect(idempotencyKeySchema.safeParse('has space').success).toBe(false);
    expect(idempotencyKeySchema.safeParse('x'.repeat(256)).success).toBe(false);
  });
});

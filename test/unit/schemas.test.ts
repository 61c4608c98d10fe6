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

describe('image_url and image_end_url: the upstream fetches them from its network, so they obey the hook address rules', () => {
  const NOT_PUBLIC = 'must not point at a private, loopback, link-local or metadata address';

  it.each([
    ['image_url', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    ['image_end_url', 'https://metadata.google.internal./computeMetadata/v1/'],
    ['image_url', 'http://10.0.0.5/a.png'],
    ['image_end_url', 'http://[::1]/a.png'],
    ['image_url', 'https://[2002:a9fe:a9fe::]/a.png'],
    ['image_end_url', 'https://[64:ff9b::c0a8:101]/a.png'],
    ['image_url', 'https://[::ffff:172.16.0.1]/a.png'],
    ['image_url', 'http://localhost./a.png'],
    ['image_end_url', 'http://intranet/a.png'],
  ])('refuses %s %s with a 400 message naming the field', (field, url) => {
    expect(problem(deployed, { user_prompt: 'a', [field]: url })).toBe(`${field} ${NOT_PUBLIC}`);
  });

  it('refuses loopback images in the local stack too (only hooks may use loopback there)', () => {
    expect(problem(local, { user_prompt: 'a', image_url: 'http://127.0.0.1:8080/a.png' })).toBe(`image_url ${NOT_PUBLIC}`);
    expect(problem(local, { user_prompt: 'a', image_end_url: 'http://localhost:8080/a.png' })).toBe(`image_end_url ${NOT_PUBLIC}`);
  });

  it('names each field and what was wrong', () => {
    expect(problem(deployed, { user_prompt: 'a', image_url: 'https://./a.png', image_end_url: 'a.png' })).toBe(
      'image_url must name a host without empty labels, got "."; image_end_url must be an absolute http(s) URL or a data:image/...;base64, URL',
    );
    expect(problem(deployed, { user_prompt: 'a', image_url: 'https://user:pw@img.example.com/a.png' })).toBe('image_url must not contain credentials');
  });

  it('still accepts public http and https images (trailing dot included) and data images', () => {
    const body = {
      user_prompt: 'a',
      image_url: 'http://img.example.com/a.png',
      image_end_url: 'https://img.example.com./b.webp',
    };
    expect(problem(deployed, body)).toBeUndefined();
    expect(problem(deployed, { user_prompt: 'a', image_url: 'https://8.8.8.8/a.png', image_end_url: 'data:image/jpeg;base64,/9j/4AAQ' })).toBeUndefined();
    expect(problem(local, { user_prompt: 'a', image_url: 'data:image/gif;base64,R0lGODlhAQABAAAAACw=' })).toBeUndefined();
  });

  it('refuses a notify_hook with a trailing dot that names this machine or the metadata server', () => {
    expect(problem(deployed, { user_prompt: 'a', notify_hook: 'https://localhost./' })).toBe(`notify_hook ${NOT_PUBLIC}`);
    expect(problem(deployed, { user_prompt: 'a', notify_hook: 'https://metadata.google.internal./h' })).toBe(`notify_hook ${NOT_PUBLIC}`);
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

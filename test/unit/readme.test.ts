/** The README's API section lists every route of the route table, and nothing else. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { routes } from '../../functions/routes';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

it('documents every route', () => {
  for (const route of routes) expect(readme).toContain(`| \`${route.method} ${route.path}\` |`);
});

it('documents no route that does not exist', () => {
  const documented = [...readme.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE) (\/[^`]*)` \|/gm)].map((m) => `${m[1]} ${m[2]}`);
  expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
});

/** The README's route list and configuration tables say what the route table and the settings declare, and nothing else. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { routes } from '../../functions/routes';
import { formatSetting, settingNames, specOf, type LocalSettingName, type SettingName } from '../../functions/settings';
import { localDefault } from '../../lib/local/local-stack';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

it('documents every route', () => {
  for (const route of routes) expect(readme).toContain(`| \`${route.method} ${route.path}\` |`);
});

it('documents no route that does not exist', () => {
  const documented = [...readme.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE) (\/[^`]*)` \|/gm)].map((m) => `${m[1]} ${m[2]}`);
  expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
});

describe('configuration tables', () => {
  /** `| \`NAME\` | default | meaning |` rows of the table that follows a heading. */
  function tableAfter(heading: string): [string, string][] {
    const start = readme.indexOf(heading);
    expect(start).toBeGreaterThanOrEqual(0);
    const section = readme.slice(start, readme.indexOf('\n#', start + heading.length));
    return [...section.matchAll(/^\| `([^`]+)` \| (.+?) \| (.+?) \|$/gm)].map((m) => {
      expect(m[3].trim()).not.toBe('');
      return [m[1], m[2].trim()];
    });
  }
  const stated = (text: string | undefined, name: SettingName, value: unknown) =>
    text ?? (value === undefined ? '—' : formatSetting(name, value as never));

  it('lists every npm start setting, by its variable, with its local default', () => {
    const expected = settingNames
      .filter((name) => specOf(name).local)
      .map((name) => [specOf(name).env!, stated(specOf(name).local!.defaultText, name, localDefault(name as LocalSettingName))]);
    expect(tableAfter('### Local stack (`npm start`), by environment')).toEqual(expected);
  });

  it('lists every setting a stage may set, by its context key, with its default', () => {
    const expected = settingNames.filter((name) => specOf(name).context).map((name) => [name, stated(specOf(name).defaultText, name, specOf(name).default)]);
    expect(tableAfter('### Deployed stack, by CDK context')).toEqual(expected);
  });
});

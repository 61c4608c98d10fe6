/** The upstream's real payloads, from ../shared/fixtures/upstream. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES_DIR = join(__dirname, '..', '..', '..', 'shared', 'fixtures', 'upstream');

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES_DIR, name), 'utf8');
}

export function fixture(name: string): Record<string, any> {
  return JSON.parse(fixtureText(name)) as Record<string, any>;
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES_DIR).filter((name) => name.endsWith('.json'));
}

/**
 * npm run openapi: writes the OpenAPI document (functions/openapi.ts) to
 * docs/openapi.json. `--check` writes nothing and fails when the committed
 * file is not what the code generates (the test suite checks the same).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPENAPI_DOCUMENT_PATH, openApiText } from '../functions/openapi';

const target = join(__dirname, '..', OPENAPI_DOCUMENT_PATH);
const text = openApiText();

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // absent: stale
  }
  if (committed !== text) {
    console.error(`${OPENAPI_DOCUMENT_PATH} is stale: run npm run openapi and commit it`);
    process.exit(1);
  }
  console.log(`${OPENAPI_DOCUMENT_PATH} is current`);
} else {
  writeFileSync(target, text);
  console.log(`wrote ${OPENAPI_DOCUMENT_PATH} (${Buffer.byteLength(text)} bytes)`);
}

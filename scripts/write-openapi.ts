/**
 * Writes Junction's OpenAPI document to a file, for the dashboard's typed client. It boots the
 * app on a throwaway SQLite database (no port, no workers), so it needs no running server.
 * Usage: write-openapi <out.json>
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, openApiDocumentOf } from '../src/app.js';
import { loadConfig } from '../src/config/load-config.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: write-openapi <out.json>');
  process.exit(2);
}
const dataDir = mkdtempSync(join(tmpdir(), 'junction-openapi-'));
try {
  const config = loadConfig({
    DATABASE_URL: `sqlite:${join(dataDir, 'junction.sqlite')}`,
    JUNCTION_ROLES: 'api',
    LOG_LEVEL: 'silent',
    LOG_FORMAT: 'json',
    JUNCTION_SECRET_KEY: '00'.repeat(32),
  });
  const app = await createApp(config);
  writeFileSync(out, `${JSON.stringify(openApiDocumentOf(app), null, 2)}\n`);
  await app.close();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

/** Prints the dashboard's JavaScript size, gzipped, and fails the build past its budget (issue 17). */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const UI_JS_BUDGET_BYTES = 300 * 1024;

/** The gzipped size of every script the dashboard loads, from its build folder (dist/ui). */
export function gzippedScriptBytes(uiRoot: string): number {
  const assets = join(uiRoot, 'assets');
  return readdirSync(assets)
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + gzipSync(readFileSync(join(assets, name))).length, 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Compiled to dist/scripts/, beside dist/ui/.
  const total = gzippedScriptBytes(join(dirname(fileURLToPath(import.meta.url)), '..', 'ui'));
  console.log(
    `dashboard JavaScript: ${(total / 1024).toFixed(1)} KB gzipped (budget ${UI_JS_BUDGET_BYTES / 1024} KB)`,
  );
  if (total > UI_JS_BUDGET_BYTES) process.exitCode = 1;
}

/**
 * Module boundaries (shared/CONVENTIONS.md, 4): a file in src/modules/<a>/ may import another
 * module's `<b>.module`, `*.service` and `*.contract` files, nothing else of it (no entities,
 * stores, DTOs or helpers). One block per folder depth, because the imports are relative.
 */
const ALLOWED = String.raw`[^/]+\.(module|service|contract)\.js$`;
const MESSAGE =
  "another module's internals: import its module, a *.service or its *.contract file instead (CONVENTIONS.md, 4)";

/** Imports that climb `up` folders out of the importing file's folder and enter a sibling module. */
function crossModule(up) {
  return String.raw`^(\.\./){${up}}(?!\.\.)[^/]+/(?!${ALLOWED}).+`;
}

export const moduleBoundaries = [1, 2, 3].map((up) => ({
  files: [`src/modules/*/${'*/'.repeat(up - 1)}*.ts`],
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ regex: crossModule(up), message: MESSAGE }] }],
  },
}));

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const DASHBOARD_PATH = '/ui';

/**
 * Where `npm run build` puts the dashboard: `dist/ui` under the package, whether this file runs
 * compiled (dist/src/dashboard.js) or from source under ts-jest (src/dashboard.ts).
 */
export function dashboardRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const packageRoot = here.endsWith(`${sep}dist${sep}src`) ? join(here, '..', '..') : join(here, '..');
  return join(packageRoot, 'dist', 'ui');
}

/**
 * Serves the built dashboard at /ui. Its files are public, like Swagger UI's: what they show comes
 * from the API, which checks every request. Any other path under /ui gets index.html, so a deep
 * link (/ui/jobs/{id}) opens the page the router draws.
 */
export function serveDashboard(instance: FastifyInstance, root = dashboardRoot()): void {
  const indexFile = join(root, 'index.html');
  if (!existsSync(indexFile)) {
    instance.get(`${DASHBOARD_PATH}*`, (_request, reply) =>
      reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built: run `npm run build`.\n'),
    );
    return;
  }
  const index = readFileSync(indexFile);
  const sendIndex = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index);
  void instance.register((scope, _options, done) => {
    // Built file names carry a content hash, so browsers may keep them for good.
    void scope.register(fastifyStatic, {
      root: join(root, 'assets'),
      prefix: `${DASHBOARD_PATH}/assets/`,
      decorateReply: false,
      immutable: true,
      maxAge: '365d',
    });
    scope.get(DASHBOARD_PATH, (_request, reply) => reply.redirect(`${DASHBOARD_PATH}/`));
    scope.get(`${DASHBOARD_PATH}/`, (_request, reply) => sendIndex(reply));
    scope.get(`${DASHBOARD_PATH}/*`, (request, reply) => {
      // A missing asset is a 404, not the page: a browser must not run HTML as a script.
      if (request.url.startsWith(`${DASHBOARD_PATH}/assets/`)) return reply.callNotFound();
      return sendIndex(reply);
    });
    done();
  });
}

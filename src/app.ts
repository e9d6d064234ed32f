import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import { errorCodes } from 'fastify';
import type { FastifyRequest, RawServerDefault } from 'fastify';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { PUBLIC_EXTENSION } from './common/auth/roles.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './common/json-depth.js';
import { traceRequests } from './common/tracing/request-spans.js';
import { Tracing } from './common/tracing/tracing.js';
import { NoNulPipe } from './common/validation/no-nul.pipe.js';
import type { AppConfig } from './config/app-config.js';
import { serveDashboard } from './dashboard.js';

const API_KEY_SECURITY = 'api-key';
const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;
const BEARER_SECURITY = 'bearer';

/** Builds the HTTP application with every convention applied; `main.ts` listens, tests use it directly. */
export async function createApp(
  config: AppConfig,
  features: Parameters<typeof AppModule.forRoot>[1] = [],
): Promise<NestFastifyApplication> {
  // Fastify: on this stack it answers several times more requests per second than Express.
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    // A caller's X-Request-Id is kept so one id follows a request across systems.
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    },
  });
  // Junction often runs on plain HTTP inside a network: do not make browsers upgrade Swagger UI's
  // assets to HTTPS. Built once: @fastify/helmet builds helmet anew for every request.
  const secureHeaders = helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    secureHeaders(request.raw, reply.raw, (error?: unknown) =>
      done(error instanceof Error ? error : undefined),
    );
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, features), adapter, {
    bufferLogs: true,
    // Inbound webhooks are verified on the exact bytes received (`request.rawBody`).
    rawBody: true,
    // A failed boot is thrown to the caller, which can name the plug-in it came from, rather than
    // ending the process here.
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  const tracing = app.get(Tracing);
  if (tracing.enabled) traceRequests(adapter.getInstance(), tracing);
  const fastify = adapter.getInstance();
  const bodyLimit = config.bodyLimitBytes;
  // Inbound webhooks (POST /webhooks/{id}) are verified on the exact bytes received, whatever their
  // media type, and read by their service only once verified: their body is kept as it came
  // (`request.rawBody`, which `rawBody: true` fills) and never parsed here, so an unsigned body
  // reaches no parser and a signed one the service cannot read is its own 400, counted.
  const isWebhook = (request: FastifyRequest) => request.routeOptions.url?.startsWith('/webhooks/') === true;
  // Many clients send `content-type: application/json` and no body on DELETE and on action routes
  // (POST /jobs/{id}/cancel); Fastify would refuse those with a 400 before authentication. An empty
  // JSON body is read as no body; anything else goes to Fastify's own JSON parser.
  const json = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>(
    // A service's PATCH is a JSON Patch (RFC 6902), whose media type is its own.
    ['application/json', 'application/json-patch+json'],
    { bodyLimit },
    (request, body, done) => {
      if (body.length === 0 || isWebhook(request)) return done(null, undefined);
      // Refused before parsing: validation would overflow the stack copying a deeply nested body.
      if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
        return done(new BadRequestException(`the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`));
      }
      return json(request, body.toString('utf8'), done);
    },
  );
  // Nest adds its form parser only when no catch-all is given, and Fastify's text/plain one keeps
  // no bytes: both are ours, and read the rest of the API's bodies as the defaults did.
  app.useBodyParser<RawServerDefault>(
    'application/x-www-form-urlencoded',
    { bodyLimit },
    (request, body, done) => (isWebhook(request) ? done(null, undefined) : readForm(body, done)),
  );
  app.useBodyParser<RawServerDefault>('text/plain', { bodyLimit }, (request, body, done) =>
    isWebhook(request) ? done(null, undefined) : done(null, body.toString('utf8')),
  );
  // Any other media type is taken for webhooks only (a sender's text/plain, octet-stream or
  // vnd.github+json); elsewhere it is 415 as before, and an unknown route still 404.
  app.useBodyParser<RawServerDefault>('*', { bodyLimit }, (request, _body, done) =>
    isWebhook(request) || request.is404
      ? done(null, undefined)
      : done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), undefined),
  );
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: false,
    }),
    // After validation, on the DTOs it built: text that holds U+0000 is a 400 on every database.
    new NoNulPipe(),
  );
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
  serveDashboard(adapter.getInstance());
  return app;
}

/**
 * A form body as Nest's default parser reads it: a repeated field is an array, and a `__proto__`
 * field, which would replace the prototype of an object it were copied onto, is refused.
 */
function readForm(body: Buffer, done: (error: Error | null, parsed?: unknown) => void): void {
  const fields = parseQueryString(body.toString('utf8'), undefined, undefined, { maxKeys: 0 });
  if (Object.hasOwn(fields, '__proto__')) {
    return done(new BadRequestException('Object contains forbidden prototype property'));
  }
  done(null, fields);
}

function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Junction')
      .setDescription(
        'A hub for the data that flows through a business and its partners. Every route needs an API key ' +
          '(`Authorization: Bearer <key>` or `X-API-Key: <key>`) except the health checks.',
      )
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key' }, BEARER_SECURITY)
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, API_KEY_SECURITY)
      .addSecurityRequirements(BEARER_SECURITY)
      .addSecurityRequirements(API_KEY_SECURITY)
      .build(),
  );
  // Public routes say so, so Swagger UI does not show a lock on them.
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path)) {
      if (typeof operation === 'object' && operation && PUBLIC_EXTENSION in operation) {
        (operation as { security?: unknown[] }).security = [];
        delete (operation as Record<string, unknown>)[PUBLIC_EXTENSION];
      }
    }
  }
  return document;
}

/** The OpenAPI document of an app that has been created (not necessarily listening): for the UI's typed client. */
export function openApiDocumentOf(app: NestFastifyApplication): OpenAPIObject {
  return buildOpenApiDocument(app);
}

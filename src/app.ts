import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { RawServerDefault } from 'fastify';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { PUBLIC_EXTENSION } from './common/auth/roles.js';
import { traceRequests } from './common/tracing/request-spans.js';
import { Tracing } from './common/tracing/tracing.js';
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
  });
  app.useLogger(app.get(Logger));
  const tracing = app.get(Tracing);
  if (tracing.enabled) traceRequests(adapter.getInstance(), tracing);
  // Many clients send `content-type: application/json` and no body on DELETE and on action routes
  // (POST /jobs/{id}/cancel); Fastify would refuse those with a 400 before authentication. An empty
  // JSON body is read as no body; anything else goes to Fastify's own JSON parser.
  const json = adapter.getInstance().getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>(
    // A service's PATCH is a JSON Patch (RFC 6902), whose media type is its own.
    ['application/json', 'application/json-patch+json'],
    { bodyLimit: config.bodyLimitBytes },
    (request, body, done) => {
      if (body.length === 0) return done(null, undefined);
      return json(request, body.toString('utf8'), done);
    },
  );
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: false,
    }),
  );
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
  serveDashboard(adapter.getInstance());
  return app;
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

import { randomUUID } from 'node:crypto';
import { Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { QueryFailedError } from 'typeorm';
import { DomainError } from './domain-error.js';
import type { ErrorKind } from './domain-error.js';
import type { ErrorBodyDto } from './error-body.dto.js';
import { AppConfig } from '../../config/app-config.js';

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  refused: HttpStatus.UNPROCESSABLE_ENTITY,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
};

/**
 * The HTTP status a domain error answers with, also for errors reported inside a 200 (batches);
 * anything else is an internal error.
 */
export function httpStatusOf(error: unknown): number {
  return error instanceof DomainError ? STATUS_BY_KIND[error.kind] : HttpStatus.INTERNAL_SERVER_ERROR;
}

/**
 * PostgreSQL's codes for text it cannot take: U+0000 in a text column (22021), or `\u0000` in
 * jsonb (22P05). The request is refused before it gets there (`NoNulPipe`); this catches any path
 * that missed, so the sender hears what to fix rather than a 500.
 */
const UNSTORABLE_TEXT_CODES = new Set(['22021', '22P05']);

function isUnstorableText(exception: unknown): boolean {
  if (!(exception instanceof QueryFailedError)) return false;
  const { code } = exception.driverError as { code?: unknown };
  return typeof code === 'string' && UNSTORABLE_TEXT_CODES.has(code);
}

/** The seconds a rate-limited caller should wait, when the error says. */
function retryAfterOf(exception: unknown): number | null {
  if (!(exception instanceof DomainError) || exception.kind !== 'rate_limited') return null;
  const seconds = (exception.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return typeof seconds === 'number' && seconds > 0 ? Math.ceil(seconds) : null;
}

/** Codes for errors raised by the framework itself (validation, body parsing, routing). */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS',
};

type ErrorBody = ErrorBodyDto;

/**
 * The one place errors become HTTP responses. Domain errors map by kind; framework errors keep
 * their status; anything else is a 500 that says only "internal error" and an id under which the
 * stack is logged.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<unknown>();
    const request = http.getRequest<FastifyRequest>();
    const { status, body } = this.toResponse(exception, request);
    const adapter = this.adapterHost.httpAdapter;
    if (adapter.isHeadersSent(response)) return;
    const retryAfter = retryAfterOf(exception);
    if (retryAfter !== null) adapter.setHeader(response, 'Retry-After', String(retryAfter));
    adapter.reply(response, body, status);
  }

  private toResponse(exception: unknown, request: FastifyRequest): { status: number; body: unknown } {
    if (exception instanceof DomainError) {
      const status = httpStatusOf(exception);
      const body: ErrorBody = { statusCode: status, error: exception.code, message: exception.message };
      if (exception.details !== undefined) body.details = exception.details;
      return { status, body };
    }
    if (exception instanceof HttpException) return this.fromHttpException(exception);
    if (isUnstorableText(exception)) {
      // Logged without the query, whose parameters may hold secrets: a path the pipe should cover.
      this.logger.warn(`${request.method} ${request.url}: the database refused a text value it cannot store`);
      const message = 'a text value holds a character that cannot be stored, such as NUL (\\u0000)';
      return {
        status: HttpStatus.BAD_REQUEST,
        body: { statusCode: 400, error: 'BAD_REQUEST', message } satisfies ErrorBody,
      };
    }

    const errorId = randomUUID();
    this.logger.error(
      { errorId, method: request.method, url: request.url, err: exception },
      `internal error ${errorId}`,
    );
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { statusCode: 500, error: 'INTERNAL', message: 'internal error', errorId } satisfies ErrorBody,
    };
  }

  private fromHttpException(exception: HttpException): { status: number; body: unknown } {
    const status = exception.getStatus();
    const raw = exception.getResponse();
    // Structured bodies that carry their own meaning (such as a health report) go out as they are.
    if (typeof raw === 'object' && raw !== null && !('message' in raw)) return { status, body: raw };
    const message = typeof raw === 'string' ? raw : raw.message;
    const error = CODE_BY_STATUS[status] ?? `HTTP_${status}`;
    if (Array.isArray(message)) {
      const body: ErrorBody = {
        statusCode: status,
        error: 'VALIDATION_FAILED',
        message: message.join('; '),
        details: message,
      };
      return { status, body };
    }
    return {
      status,
      body: {
        statusCode: status,
        error,
        message: describeBodyError(exception, this.config.bodyLimitBytes) ?? String(message),
      } satisfies ErrorBody,
    };
  }
}

/** Fastify's errors about a request body arrive as HttpExceptions; their cause says what was wrong. */
function describeBodyError(exception: HttpException, bodyLimitBytes: number): string | undefined {
  const cause = exception.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || cause instanceof SyntaxError)
    return `malformed JSON body: ${String(cause.message)}`;
  if (cause?.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return `request body is larger than the limit of ${bodyLimitBytes} bytes`;
  return undefined;
}

import { jest } from '@jest/globals';
import { BadRequestException, Logger, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { AppConfig } from '../../config/app-config.js';
import { AllExceptionsFilter } from './all-exceptions.filter.js';
import { DomainError } from './domain-error.js';
import type { ErrorKind } from './domain-error.js';

class TestError extends DomainError {
  constructor(kind: ErrorKind) {
    super('TEST_CODE', kind, 'msg');
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Sent {
  status?: number;
  body?: unknown;
}

/** A fake HTTP host; the fake adapter below records what the filter sends for the latest one. */
function fakeHost(): { host: ArgumentsHost; sent: Sent } {
  const sent: Sent = {};
  const response = {};
  const request = { method: 'GET', url: '/x' };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => request }),
  } as unknown as ArgumentsHost;
  lastSent = sent;
  return { host, sent };
}

let lastSent: Sent = {};
const adapterHost = {
  httpAdapter: {
    isHeadersSent: () => false,
    reply: (_response: unknown, body: unknown, status: number) => {
      lastSent.status = status;
      lastSent.body = body;
    },
  },
} as unknown as HttpAdapterHost;

describe('AllExceptionsFilter', () => {
  const filter = new AllExceptionsFilter(adapterHost, { bodyLimitBytes: 1024 * 1024 } as AppConfig);

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it.each<[ErrorKind, number]>([
    ['invalid', 400],
    ['unauthenticated', 401],
    ['forbidden', 403],
    ['not_found', 404],
    ['conflict', 409],
    ['refused', 422],
  ])('responds %s domain errors with %i when thrown', (kind, status) => {
    const { host, sent } = fakeHost();

    filter.catch(new TestError(kind), host);

    expect(sent.status).toBe(status);
    expect(sent.body).toEqual({ statusCode: status, error: 'TEST_CODE', message: 'msg' });
  });

  it('responds 500 with only an error id when the error is unexpected', () => {
    const logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { host, sent } = fakeHost();

    filter.catch(new Error('SELECT * FROM secret_table failed'), host);

    expect(sent.status).toBe(500);
    const body = sent.body as { errorId: unknown };
    expect(typeof body.errorId).toBe('string');
    expect(body.errorId).toMatch(UUID);
    expect(body).toEqual({
      statusCode: 500,
      error: 'INTERNAL',
      message: 'internal error',
      errorId: body.errorId,
    });
    expect(Object.keys(body).sort()).toEqual(['error', 'errorId', 'message', 'statusCode']);
    expect(JSON.stringify(body)).not.toContain('secret_table');
    expect(logError).toHaveBeenCalledWith(
      expect.objectContaining({ errorId: body.errorId, method: 'GET', url: '/x' }),
      expect.any(String),
    );
  });

  it('responds 400 VALIDATION_FAILED with every message when validation fails', () => {
    const { host, sent } = fakeHost();

    filter.catch(new BadRequestException(['a must be x', 'b must be y']), host);

    expect(sent.status).toBe(400);
    expect(sent.body).toMatchObject({
      statusCode: 400,
      error: 'VALIDATION_FAILED',
      details: ['a must be x', 'b must be y'],
    });
  });

  it('responds 404 NOT_FOUND when the framework throws NotFoundException', () => {
    const { host, sent } = fakeHost();

    filter.catch(new NotFoundException('nope'), host);

    expect(sent.status).toBe(404);
    expect(sent.body).toEqual({ statusCode: 404, error: 'NOT_FOUND', message: 'nope' });
  });

  it('passes the body through unchanged when an HttpException response has no message', () => {
    const report = { status: 'error', error: { redis: { status: 'down' } } };
    const { host, sent } = fakeHost();

    filter.catch(new ServiceUnavailableException(report), host);

    expect(sent.status).toBe(503);
    expect(sent.body).toEqual(report);
  });
});

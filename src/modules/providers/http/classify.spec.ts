import {
  DEFAULT_RATE_LIMIT_WAIT_MS,
  classifyNetworkError,
  classifyStatus,
  parseRetryAfter,
} from './classify.js';
import { maskUrl } from './mask-url.js';
import { ProviderError } from './provider-error.js';

const NOW = new Date('2026-12-01T12:00:00.000Z');

describe('classifyStatus', () => {
  it.each([200, 201, 204, 301, 304])('returns null when the status is %i', (status) => {
    expect(classifyStatus(status, {}, NOW)).toBeNull();
  });

  it.each([
    [500, 'TEMPORARY'],
    [502, 'TEMPORARY'],
    [504, 'TEMPORARY'],
    [503, 'TEMPORARY'],
    [408, 'TEMPORARY'],
    [401, 'AUTH'],
    [403, 'AUTH'],
    [404, 'NOT_FOUND'],
    [410, 'NOT_FOUND'],
    [400, 'PERMANENT'],
    [409, 'PERMANENT'],
    [422, 'PERMANENT'],
    [100, 'PERMANENT'],
    [600, 'PERMANENT'],
  ])('returns the code when the status is %i without Retry-After', (status, code) => {
    expect(classifyStatus(status, {}, NOW)).toEqual({ code });
  });

  it('returns RATE_LIMITED with the wait when a 503 carries Retry-After seconds', () => {
    expect(classifyStatus(503, { 'retry-after': '120' }, NOW)).toEqual({
      code: 'RATE_LIMITED',
      retryAfterMs: 120_000,
    });
  });

  it('returns TEMPORARY when a 503 carries an unreadable Retry-After', () => {
    expect(classifyStatus(503, { 'retry-after': 'soon' }, NOW)).toEqual({ code: 'TEMPORARY' });
  });

  it('returns RATE_LIMITED until the date when a 429 carries an HTTP-date Retry-After', () => {
    const headers = { 'retry-after': 'Tue, 01 Dec 2026 12:00:30 GMT' };
    expect(classifyStatus(429, headers, NOW)).toEqual({ code: 'RATE_LIMITED', retryAfterMs: 30_000 });
  });

  it('returns RATE_LIMITED with the default wait, saying so, when a 429 has no readable Retry-After', () => {
    for (const headers of [{}, { 'retry-after': 'soon' }]) {
      expect(classifyStatus(429, headers, NOW)).toEqual({
        code: 'RATE_LIMITED',
        retryAfterMs: DEFAULT_RATE_LIMIT_WAIT_MS,
        retryAfterDefaulted: true,
      });
    }
  });

  it('waits at least the default wait when Retry-After says now, so a job does not spend its attempts at once', () => {
    for (const [status, value] of [
      [429, '0'],
      [503, '0'],
      [429, '-5'],
      [429, 'Tue, 01 Dec 2026 11:00:00 GMT'],
    ] as const) {
      expect(classifyStatus(status, { 'retry-after': value }, NOW)).toEqual({
        code: 'RATE_LIMITED',
        retryAfterMs: DEFAULT_RATE_LIMIT_WAIT_MS,
      });
    }
  });

  it('reads the first value when Retry-After is repeated or not in lower case', () => {
    expect(classifyStatus(429, { 'retry-after': ['5', '9'] }, NOW)?.retryAfterMs).toBe(5000);
    expect(classifyStatus(429, { 'Retry-After': '7' }, NOW)?.retryAfterMs).toBe(7000);
  });

  it('ignores Retry-After when the status is a 5xx other than 503', () => {
    expect(classifyStatus(500, { 'retry-after': '10' }, NOW)).toEqual({ code: 'TEMPORARY' });
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['1', 1000],
    [' 42 ', 42_000],
    ['-5', 0],
    ['Tue, 01 Dec 2026 12:01:00 GMT', 60_000],
    ['Tuesday, 01-Dec-26 12:00:10 GMT', 10_000],
    ['Tue Dec  1 12:00:05 2026', 5_000],
    ['Tue, 01 Dec 2026 11:00:00 GMT', 0],
  ])('returns %j as %i ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it.each([
    '',
    'soon',
    '1.5',
    '10s',
    '2026-12-01T12:01:00Z',
    'Tue, 01 Dec 2026 12:01:00',
    'Xyz, 99 Foo 2026 12:01:00 GMT',
  ])('returns null when the value is %j', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeNull();
  });

  it('returns null when there is no value', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
    expect(parseRetryAfter(null, NOW)).toBeNull();
  });
});

function errno(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyNetworkError', () => {
  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'ETIMEDOUT',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_SOCKET',
  ])('returns TEMPORARY when the error code is %s', (code) => {
    expect(classifyNetworkError(errno(code))).toBe('TEMPORARY');
  });

  it('returns TEMPORARY when an AbortSignal timeout fired', () => {
    expect(
      classifyNetworkError(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ).toBe('TEMPORARY');
  });

  it('returns TEMPORARY when the code sits in the cause or in an AggregateError', () => {
    const wrapped = new Error('fetch failed', { cause: errno('ECONNRESET') });
    const dualStack = new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED')], 'connect failed');
    expect(classifyNetworkError(wrapped)).toBe('TEMPORARY');
    expect(classifyNetworkError(dualStack)).toBe('TEMPORARY');
  });

  it('returns PERMANENT when the response was larger than the cap', () => {
    const oversize = new ProviderError(
      'PERMANENT',
      'GET http://x/ answered 200 with a response larger than 10 bytes',
    );
    expect(classifyNetworkError(oversize)).toBe('PERMANENT');
    expect(classifyNetworkError(errno('UND_ERR_RES_EXCEEDED_MAX_SIZE'))).toBe('PERMANENT');
  });

  it('returns PERMANENT when our own request is malformed', () => {
    expect(classifyNetworkError(errno('ERR_INVALID_URL'))).toBe('PERMANENT');
    expect(classifyNetworkError(errno('UND_ERR_INVALID_ARG'))).toBe('PERMANENT');
  });

  it('returns TEMPORARY when the error is unknown', () => {
    expect(classifyNetworkError(new Error('something odd'))).toBe('TEMPORARY');
    expect(classifyNetworkError('not even an error')).toBe('TEMPORARY');
  });
});

// maskUrl is pure like the classifiers and decides what a log line may show, so it is proved here too.
describe('maskUrl', () => {
  it.each([
    'token',
    'access_token',
    'api_key',
    'apikey',
    'key',
    'secret',
    'password',
    'signature',
    'sig',
    'client_secret',
    'auth',
    'API_KEY',
    'Access_Token',
    'X-Amz-Signature',
    'refresh_token',
  ])('masks the value when the query parameter is named %s', (name) => {
    expect(maskUrl(`https://partner.example/orders?page=2&${name}=hunter2&sort=asc`)).toBe(
      `https://partner.example/orders?page=2&${name}=***&sort=asc`,
    );
  });

  it('keeps the other parameters and the fragment as written when it masks one', () => {
    expect(maskUrl('https://p.example/a%20b?q=a+b&apiKey=x%2Fy#top')).toBe(
      'https://p.example/a%20b?q=a+b&apiKey=***#top',
    );
  });

  it('masks the password when the URL carries userinfo', () => {
    expect(maskUrl('https://shop:pa55word@partner.example/orders')).toBe(
      'https://shop:***@partner.example/orders',
    );
  });

  it('masks each given secret when it appears raw or percent-encoded anywhere', () => {
    const secret = 'abc/def+ghi';
    const url = `https://partner.example/bot${secret}/send?session=${encodeURIComponent(secret)}&x=abc%2Fdef%2Bghi`;
    const masked = maskUrl(url, [secret]);
    expect(masked).toBe('https://partner.example/bot***/send?session=***&x=***');
  });

  it('masks a secret whole when another secret is part of it', () => {
    expect(maskUrl('https://p.example/?s=longsecret', ['secret', 'longsecret'])).toBe(
      'https://p.example/?s=***',
    );
  });

  it('leaves the URL alone when it carries no credential', () => {
    const url = 'https://partner.example/shipments?updated_since=2026-12-01T00%3A00%3A00Z&cursor=abc';
    expect(maskUrl(url, [''])).toBe(url);
  });

  it('accepts a URL object', () => {
    expect(maskUrl(new URL('https://partner.example/x?token=t'))).toBe('https://partner.example/x?token=***');
  });
});

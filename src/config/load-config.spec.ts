import { ConfigError, DEFAULT_SQLITE_PATH, loadConfig } from './load-config.js';
import * as path from 'node:path';
import { ROLES } from './app-config.js';

/** Runs loadConfig and returns the ConfigError it throws, failing the test when it does not throw one. */
function configErrorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  describe('defaults', () => {
    it('uses every default when the environment is empty', () => {
      const config = loadConfig({});

      expect(config.port).toBe(3000);
      expect(config.database).toEqual({ kind: 'sqlite', path: DEFAULT_SQLITE_PATH });
      expect(config.database).toEqual({ kind: 'sqlite', path: './data/junction.sqlite' });
      expect(config.redisUrl).toBeUndefined();
      expect([...config.roles].sort()).toEqual([...ROLES].sort());
      expect(config.roles.size).toBe(5);
      expect(config.logLevel).toBe('info');
      expect(config.bodyLimitBytes).toBe(1024 * 1024);
      expect(config.secretKey).toBeUndefined();
      expect(config.adminKey).toBeUndefined();
    });

    it('treats blank values as unset when they hold only spaces', () => {
      const config = loadConfig({ PORT: '  ', LOG_LEVEL: '' });

      expect(config.port).toBe(3000);
      expect(config.logLevel).toBe('info');
    });
  });

  describe('DATABASE_URL', () => {
    it('gives a postgres database with schema public and a username when the URL has neither', () => {
      const { database } = loadConfig({ DATABASE_URL: 'postgres://127.0.0.1:5432/test' });

      expect(database.kind).toBe('postgres');
      if (database.kind !== 'postgres') throw new Error('expected postgres');
      expect(database.schema).toBe('public');
      const url = new URL(database.url);
      expect(url.username).not.toBe('');
      expect(url.hostname).toBe('127.0.0.1');
      expect(url.port).toBe('5432');
      expect(url.pathname).toBe('/test');
    });

    it('keeps the username when the URL names one', () => {
      const { database } = loadConfig({ DATABASE_URL: 'postgres://alice@127.0.0.1:5432/test' });

      if (database.kind !== 'postgres') throw new Error('expected postgres');
      expect(new URL(database.url).username).toBe('alice');
    });

    it('takes the schema out of the URL when it has ?schema=', () => {
      const { database } = loadConfig({ DATABASE_URL: 'postgres://u@127.0.0.1:5432/test?schema=abc' });

      if (database.kind !== 'postgres') throw new Error('expected postgres');
      expect(database.schema).toBe('abc');
      expect(database.url).not.toContain('schema');
      expect(new URL(database.url).searchParams.has('schema')).toBe(false);
    });

    it('gives the sqlite file path when the URL starts with sqlite:', () => {
      const config = loadConfig({ DATABASE_URL: 'sqlite:/tmp/x.sqlite' });

      expect(config.database).toEqual({ kind: 'sqlite', path: '/tmp/x.sqlite' });
      expect(config.dataDir).toBe('/tmp');
    });
  });

  describe('bad values', () => {
    it.each([
      ['PORT', 'abc', 'it is not a number'],
      ['PORT', '70000', 'it is above 65535'],
      ['DATABASE_URL', 'mysql://x/y', 'it is neither postgres nor sqlite'],
      ['REDIS_URL', 'http://x', 'it is not a redis URL'],
      ['JUNCTION_ROLES', 'api,cook', 'it lists an unknown role'],
      ['JUNCTION_SECRET_KEY', 'short', 'it is not 32 bytes'],
      ['LOG_LEVEL', 'loud', 'it is not a known level'],
      ['LOG_FORMAT', 'xml', 'it is neither pretty nor json'],
      ['JUNCTION_PROVISIONING_RETRY_BASE', 'soon', 'it is not a duration'],
      ['BODY_LIMIT', 'tiny', 'it is not a size'],
      ['JUNCTION_ADMIN_KEY', 'short', 'it is shorter than 32 characters'],
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', 'it is not an http URL'],
    ])('names %s when it is %s (%s)', (name, value) => {
      const error = configErrorFor({ [name]: value });

      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain(name);
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toContain(name);
      expect(error.problems[0]).toContain(JSON.stringify(value));
    });

    it('names both variables in one error when two are bad', () => {
      const error = configErrorFor({ PORT: 'abc', LOG_LEVEL: 'loud' });

      expect(error.problems).toHaveLength(2);
      expect(error.message).toContain('PORT');
      expect(error.message).toContain('LOG_LEVEL');
    });
  });

  describe('JUNCTION_SECRET_KEY', () => {
    it('accepts the key when it is 64 hex digits', () => {
      const hex = 'ab'.repeat(32);

      const config = loadConfig({ JUNCTION_SECRET_KEY: hex });

      expect(config.secretKey).toEqual(Buffer.from(hex, 'hex'));
      expect(config.secretKey).toHaveLength(32);
    });

    it('accepts the key when it is 32 bytes in base64', () => {
      const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

      const config = loadConfig({ JUNCTION_SECRET_KEY: key.toString('base64') });

      expect(config.secretKey).toEqual(key);
    });
  });

  describe('BODY_LIMIT', () => {
    it('gives 2097152 bytes when it is 2mb', () => {
      expect(loadConfig({ BODY_LIMIT: '2mb' }).bodyLimitBytes).toBe(2097152);
    });
  });

  describe('JUNCTION_PLUGINS', () => {
    it('resolves files against the working directory and keeps package names when both are listed', () => {
      const { plugins } = loadConfig({
        JUNCTION_PLUGINS: './my-plugin.mjs, @acme/junction-shipping,/opt/x.js',
      });

      expect(plugins).toEqual([
        { kind: 'file', name: './my-plugin.mjs', path: path.resolve('my-plugin.mjs') },
        { kind: 'package', name: '@acme/junction-shipping' },
        { kind: 'file', name: '/opt/x.js', path: path.resolve('/opt/x.js') },
      ]);
    });

    it('gives no plug-ins when it is unset', () => {
      expect(loadConfig({}).plugins).toEqual([]);
    });

    it.each(['a.mjs,,b.mjs', 'a.mjs,a.mjs', 'Not A Package'])('refuses %j, naming the variable', (raw) => {
      expect(configErrorFor({ JUNCTION_PLUGINS: raw }).message).toContain('JUNCTION_PLUGINS: expected');
    });
  });

  describe('JUNCTION_SYNC_DELETE_BRAKE', () => {
    it('takes a percentage, with or without %, from 1 to 100', () => {
      expect(loadConfig({}).syncs.deleteBrakePercent).toBe(50);
      expect(loadConfig({ JUNCTION_SYNC_DELETE_BRAKE: '20%' }).syncs.deleteBrakePercent).toBe(20);
      expect(configErrorFor({ JUNCTION_SYNC_DELETE_BRAKE: '150' }).problems).toEqual([
        expect.stringContaining('JUNCTION_SYNC_DELETE_BRAKE'),
      ]);
    });
  });

  describe('JUNCTION_SYNC_PAUSE_AFTER', () => {
    it('takes a number of runs from 1 to 1000, 10 when unset', () => {
      expect(loadConfig({}).syncs.pauseAfter).toBe(10);
      expect(loadConfig({ JUNCTION_SYNC_PAUSE_AFTER: '3' }).syncs.pauseAfter).toBe(3);
      for (const raw of ['0', '2.5', 'ten'])
        expect(configErrorFor({ JUNCTION_SYNC_PAUSE_AFTER: raw }).problems).toEqual([
          expect.stringContaining('JUNCTION_SYNC_PAUSE_AFTER'),
        ]);
    });
  });

  describe('JUNCTION_STORAGE_LOCAL_ROOT', () => {
    it('resolves the folder against the working directory, data/storage when unset', () => {
      expect(loadConfig({}).storage.localRoot).toBe(path.resolve('data/storage'));
      expect(loadConfig({ JUNCTION_STORAGE_LOCAL_ROOT: 'files' }).storage.localRoot).toBe(
        path.resolve('files'),
      );
      expect(loadConfig({ JUNCTION_STORAGE_LOCAL_ROOT: '/srv/files' }).storage.localRoot).toBe('/srv/files');
    });
  });

  describe('JUNCTION_GIT_PROTOCOLS', () => {
    it('allows https, ssh and git when unset, and the colon-separated list when set', () => {
      expect(loadConfig({}).git.protocols).toEqual(['https', 'ssh', 'git']);
      expect(loadConfig({ JUNCTION_GIT_PROTOCOLS: 'https:file' }).git.protocols).toEqual(['https', 'file']);
    });

    it.each(['https:ext', 'https::ssh', 'https:https', 'HTTPS'])('refuses %j, naming the variable', (raw) => {
      expect(configErrorFor({ JUNCTION_GIT_PROTOCOLS: raw }).problems).toEqual([
        expect.stringContaining('JUNCTION_GIT_PROTOCOLS: expected'),
      ]);
    });
  });

  describe('OAuth clients', () => {
    it('reads each provider’s client from JUNCTION_OAUTH_<PROVIDER>_*, dashes as underscores', () => {
      const config = loadConfig({
        JUNCTION_OAUTH_ACME_SHOP_CLIENT_ID: 'shop-client',
        JUNCTION_OAUTH_ACME_SHOP_CLIENT_SECRET: 'shop-secret',
        JUNCTION_OAUTH_ACME_SHOP_TOKEN_URL: 'https://id.acme.example/token',
        JUNCTION_OAUTH_PHOTOS_CLIENT_ID: 'photos-client',
      });
      expect(config.oauthClients).toEqual({
        'acme-shop': {
          clientId: 'shop-client',
          clientSecret: 'shop-secret',
          tokenUrl: 'https://id.acme.example/token',
        },
        photos: { clientId: 'photos-client' },
      });
    });

    it('refuses an endpoint that is not an http(s) URL, naming the variable', () => {
      expect(configErrorFor({ JUNCTION_OAUTH_PHOTOS_AUTHORIZATION_URL: 'ftp://x' }).problems).toEqual([
        expect.stringContaining('JUNCTION_OAUTH_PHOTOS_AUTHORIZATION_URL'),
      ]);
    });
  });

  describe('webhooks', () => {
    it('retries on the Standard Webhooks schedule and disables after 5 days by default', () => {
      const { webhooks } = loadConfig({});

      expect(webhooks.retryScheduleMs).toEqual([
        0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
      ]);
      expect(webhooks.disableAfterMs).toBe(5 * 86_400_000);
      expect(webhooks.allowPrivate).toBe(false);
    });

    it('reads a schedule of durations, a duration and a flag when they are set', () => {
      const { webhooks } = loadConfig({
        JUNCTION_WEBHOOK_RETRY_SCHEDULE: '0, 500ms, 2s, 1m',
        JUNCTION_WEBHOOK_DISABLE_AFTER: '2d',
        JUNCTION_WEBHOOK_ALLOW_PRIVATE: 'true',
      });

      expect(webhooks).toEqual({
        retryScheduleMs: [0, 500, 2000, 60_000],
        disableAfterMs: 172_800_000,
        allowPrivate: true,
      });
    });

    it('names each bad webhook variable when they do not parse', () => {
      const error = configErrorFor({
        JUNCTION_WEBHOOK_RETRY_SCHEDULE: '0,soon',
        JUNCTION_WEBHOOK_DISABLE_AFTER: '5 days',
        JUNCTION_WEBHOOK_ALLOW_PRIVATE: 'yes',
      });

      expect(error.problems.map((p) => p.split(':')[0])).toEqual([
        'JUNCTION_WEBHOOK_RETRY_SCHEDULE',
        'JUNCTION_WEBHOOK_DISABLE_AFTER',
        'JUNCTION_WEBHOOK_ALLOW_PRIVATE',
      ]);
    });
  });

  describe('OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    it('leaves tracing off when it is unset', () => {
      expect(loadConfig({ OTEL_SERVICE_NAME: 'shop-hub' }).tracing).toBeNull();
    });

    it('turns tracing on as service junction, without the trailing slash, when it is set', () => {
      expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318/' }).tracing).toEqual({
        endpoint: 'http://otel:4318',
        serviceName: 'junction',
      });
    });

    it('names the service OTEL_SERVICE_NAME when both are set', () => {
      const config = loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
        OTEL_SERVICE_NAME: 'hub',
      });

      expect(config.tracing?.serviceName).toBe('hub');
    });
  });
});

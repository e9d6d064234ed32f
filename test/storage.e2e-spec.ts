import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProviderError } from '../src/modules/providers/http/provider-error.js';
import { StorageService } from '../src/modules/providers/storage/storage.service.js';
import { startFakeWebdav } from './fakes/webdav.js';
import type { FakeWebdav } from './fakes/webdav.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';

const admin = bearer(ADMIN_KEY);
const DAV_USER = 'junction';
const DAV_PASSWORD = 'dav-password-0123456789';

describe('storage providers', () => {
  let t: TestApp;
  let dav: FakeWebdav;
  let storage: StorageService;
  /** JUNCTION_STORAGE_LOCAL_ROOT for this run. */
  let root: string;
  /** A folder beside the root, which no connection may reach. */
  let outside: string;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-storage-'));
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-outside-'));
    dav = await startFakeWebdav({ username: DAV_USER, password: DAV_PASSWORD });
    t = await startTestApp({ env: { JUNCTION_STORAGE_LOCAL_ROOT: root } });
    storage = t.app.get(StorageService);
  });
  afterAll(async () => {
    await t.close();
    await dav.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  async function connection(body: Record<string, unknown>): Promise<string> {
    const created = await t.http().post('/connections').set(admin).send(body).expect(201);
    return created.body.id as string;
  }
  const local = (name: string, config: Record<string, unknown>) =>
    connection({ provider: 'local', name, config, credentials: { type: 'none' } });
  const webdav = (name: string, password = DAV_PASSWORD) =>
    connection({
      provider: 'webdav',
      name,
      config: { url: dav.url },
      credentials: { type: 'basic', username: DAV_USER, password },
    });
  const test = async (id: string) =>
    (await t.http().post(`/connections/${id}/test`).set(admin).expect(200)).body as {
      ok: boolean;
      code: string | null;
      message: string;
    };
  const limitNear = async (connectionId: string) =>
    (
      (await t.http().get('/events?name=storage.limit-near').set(admin).expect(200)).body.items as {
        source: string;
        data: Record<string, unknown>;
      }[]
    ).filter((event) => event.data.connectionId === connectionId);
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => 'stored',
      (error: unknown) => error,
    );

  it('lists local and webdav as storage providers', async () => {
    for (const key of ['local', 'webdav']) {
      const provider = await t.http().get(`/providers/${key}`).set(admin).expect(200);
      expect(provider.body).toMatchObject({ kinds: ['storage'], capabilities: ['storage'] });
    }
  });

  describe('local', () => {
    it('refuses a folder that is not a relative path without . or ..', async () => {
      for (const folder of ['../elsewhere', '/etc', 'a//b', 'a\\b']) {
        const refused = await t
          .http()
          .post('/connections')
          .set(admin)
          .send({
            provider: 'local',
            name: `bad ${folder}`,
            config: { folder },
            credentials: { type: 'none' },
          })
          .expect(422);
        expect(refused.body.details).toEqual([{ path: '/config/folder', message: expect.any(String) }]);
      }
    });

    it('tests the connection by making its folder under JUNCTION_STORAGE_LOCAL_ROOT', async () => {
      const id = await local('tested', { folder: 'acme/tested' });
      expect(await test(id)).toMatchObject({ ok: true, code: null });
      expect(fs.statSync(path.join(root, 'acme', 'tested')).isDirectory()).toBe(true);
    });

    it('stores, reads, lists and deletes files at nested paths inside its folder', async () => {
      const handle = await storage.open(await local('round trip', { folder: 'acme/files' }));
      const photo = Buffer.from([0xff, 0xd8, 0x00, 0x01, 0x02]);
      await handle.put('photos/2024/summer day.jpg', photo, 'image/jpeg');
      await handle.put('notes.txt', Buffer.from('first'));
      await handle.put('notes.txt', Buffer.from('second'));

      expect(fs.readFileSync(path.join(root, 'acme', 'files', 'photos', '2024', 'summer day.jpg'))).toEqual(
        photo,
      );
      expect(await handle.get('photos/2024/summer day.jpg')).toEqual(photo);
      expect((await handle.get('notes.txt'))?.toString()).toBe('second');
      expect(await handle.get('photos/none.jpg')).toBeNull();
      expect(await handle.list()).toEqual([
        { path: 'notes.txt', size: 6 },
        { path: 'photos/2024/summer day.jpg', size: 5 },
      ]);
      expect(await handle.list('photos')).toEqual([{ path: 'photos/2024/summer day.jpg', size: 5 }]);
      expect(await handle.list('nothing/here')).toEqual([]);

      await handle.delete('notes.txt');
      await handle.delete('notes.txt');
      expect(await handle.get('notes.txt')).toBeNull();
      expect((await handle.list()).map((file) => file.path)).toEqual(['photos/2024/summer day.jpg']);
    });

    it('refuses paths that would leave the folder, symbolic links included', async () => {
      const handle = await storage.open(await local('escapes', { folder: 'acme/escapes' }));
      await handle.put('inside.txt', Buffer.from('ok'));
      const folder = path.join(root, 'acme', 'escapes');
      fs.writeFileSync(path.join(outside, 'secret.txt'), 'outside');
      fs.symlinkSync(outside, path.join(folder, 'way-out'));
      fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(folder, 'secret-link.txt'));

      for (const bad of ['../x', '/etc/passwd', 'a/../../x', './x', 'a\\..\\x', 'a\u0000b', '']) {
        const error = await refusal(handle.put(bad, Buffer.from('x')));
        expect(error).toBeInstanceOf(ProviderError);
        expect(error).toMatchObject({ code: 'PERMANENT' });
      }
      for (const attempt of [
        () => handle.put('way-out/planted.txt', Buffer.from('x')),
        () => handle.get('way-out/secret.txt'),
        () => handle.get('secret-link.txt'),
        () => handle.list('way-out'),
      ]) {
        expect(await refusal(attempt())).toMatchObject({
          code: 'PERMANENT',
          message: expect.stringContaining('outside'),
        });
      }
      expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
      // Links are not followed by a listing or by the usage either.
      expect(await handle.list()).toEqual([{ path: 'inside.txt', size: 2 }]);
      expect(await handle.usage()).toEqual({ usedBytes: 2, quotaBytes: null });
    });

    it('keeps a folder that is a symbolic link out of the root from being used', async () => {
      fs.symlinkSync(outside, path.join(root, 'linked'));
      const id = await local('linked', { folder: 'linked/sub' });
      expect(await test(id)).toMatchObject({ ok: false, code: 'PERMANENT' });
      const handle = await storage.open(id);
      expect(await refusal(handle.put('x.txt', Buffer.from('x')))).toMatchObject({ code: 'PERMANENT' });
      expect(fs.readdirSync(outside)).not.toContain('sub');
    });

    it('announces storage.limit-near when the folder holds 90 % of its quota, not before', async () => {
      const id = await local('quota', { folder: 'acme/quota', quotaBytes: 100 });
      const handle = await storage.open(id);
      await handle.put('a.bin', Buffer.alloc(50));
      expect(await storage.checkUsage(id)).toEqual({ usedBytes: 50, quotaBytes: 100, percent: 50 });
      expect(await limitNear(id)).toEqual([]);

      await handle.put('b/c.bin', Buffer.alloc(45));
      expect(await storage.checkUsage(id)).toEqual({ usedBytes: 95, quotaBytes: 100, percent: 95 });
      const accountId = (await t.http().get(`/connections/${id}`).set(admin).expect(200)).body.accountId;
      expect(await limitNear(id)).toEqual([
        expect.objectContaining({
          source: 'junction',
          data: { connectionId: id, accountId, usedBytes: 95, quotaBytes: 100, percent: 95 },
        }),
      ]);
    });
  });

  describe('webdav', () => {
    it('tests the connection: ok with the right password, AUTH with a wrong one', async () => {
      expect(await test(await webdav('dav ok'))).toMatchObject({ ok: true, code: null });
      const wrong = await test(await webdav('dav wrong', 'not-the-password-000'));
      expect(wrong).toMatchObject({ ok: false, code: 'AUTH' });
      expect(wrong.message).not.toContain('not-the-password-000');
    });

    it('stores, reads, lists and deletes files, making missing collections with MKCOL', async () => {
      const handle = await storage.open(await webdav('dav files'));
      const photo = Buffer.from([0xff, 0xd8, 0x00, 0x80, 0x7f]);
      const before = dav.requests.length;
      await handle.put('photos/2024/summer day.jpg', photo, 'image/jpeg');
      expect(dav.requests.slice(before).map(({ method, path }) => `${method} ${path}`)).toEqual([
        'PUT /dav/photos/2024/summer%20day.jpg',
        'MKCOL /dav/photos/',
        'MKCOL /dav/photos/2024/',
        'PUT /dav/photos/2024/summer%20day.jpg',
      ]);
      await handle.put('photos/2024/night.jpg', Buffer.from('night'));
      await handle.put('readme.txt', Buffer.from('hello'));
      expect(dav.files.get('photos/2024/summer day.jpg')).toEqual(photo);

      expect(await handle.get('photos/2024/summer day.jpg')).toEqual(photo);
      expect(await handle.get('photos/missing.jpg')).toBeNull();
      expect(await handle.list()).toEqual([
        { path: 'photos/2024/night.jpg', size: 5 },
        { path: 'photos/2024/summer day.jpg', size: 5 },
        { path: 'readme.txt', size: 5 },
      ]);
      expect(await handle.list('photos/2024')).toHaveLength(2);
      expect(await handle.list('videos')).toEqual([]);

      await handle.delete('readme.txt');
      await handle.delete('readme.txt');
      expect(await handle.get('readme.txt')).toBeNull();
      expect(dav.files.has('readme.txt')).toBe(false);
    });

    it('refuses paths that would leave the collection without calling the server', async () => {
      const handle = await storage.open(await webdav('dav escapes'));
      const before = dav.requests.length;
      for (const bad of ['../x', '/etc/passwd', 'a//b', 'a/./b', 'a\\b']) {
        expect(await refusal(handle.get(bad))).toMatchObject({ code: 'PERMANENT' });
        expect(await refusal(handle.put(bad, Buffer.from('x')))).toMatchObject({ code: 'PERMANENT' });
      }
      expect(dav.requests).toHaveLength(before);
    });

    it('reads the quota (RFC 4331) and announces storage.limit-near at 90 %, not below', async () => {
      dav.files.clear();
      dav.collections.clear();
      const id = await webdav('dav quota');
      const handle = await storage.open(id);
      dav.setQuota(null);
      await handle.put('a.bin', Buffer.alloc(500));
      expect(await storage.checkUsage(id)).toEqual({ usedBytes: 500, quotaBytes: null, percent: null });

      dav.setQuota(1000);
      expect(await storage.checkUsage(id)).toEqual({ usedBytes: 500, quotaBytes: 1000, percent: 50 });
      expect(await limitNear(id)).toEqual([]);

      await handle.put('b.bin', Buffer.alloc(400));
      expect(await storage.checkUsage(id)).toEqual({ usedBytes: 900, quotaBytes: 1000, percent: 90 });
      expect((await limitNear(id)).map((event) => event.data)).toEqual([
        expect.objectContaining({ connectionId: id, usedBytes: 900, quotaBytes: 1000, percent: 90 }),
      ]);
      dav.setQuota(null);
    });

    it('marks the connection refused when the server no longer takes its password', async () => {
      const id = await webdav('dav refused', 'stale-password-0000000');
      const handle = await storage.open(id);
      expect(await refusal(handle.get('a.bin'))).toMatchObject({ code: 'AUTH' });
      const connection = await t.http().get(`/connections/${id}`).set(admin).expect(200);
      expect(connection.body.state).toBe('bad_authentication');
      expect(JSON.stringify(connection.body)).not.toContain('stale-password');
      expect(await refusal(storage.open(id))).toMatchObject({ code: 'PERMANENT' });
    });
  });

  it('refuses a connection whose provider cannot store files', async () => {
    const id = await connection({
      provider: 'http',
      name: 'not storage',
      config: { baseUrl: 'https://partner.example' },
      credentials: { type: 'none' },
    });
    const error = await refusal(storage.open(id));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({
      code: 'PERMANENT',
      message: expect.stringContaining('cannot store files'),
    });
  });
});

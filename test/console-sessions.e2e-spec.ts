import { DataSource, IsNull, Not } from 'typeorm';
import { hashApiKey } from '../src/modules/accounts/accounts.contract.js';
import { Session } from '../src/modules/console/session.entity.js';
import { ADMIN_KEY, bearer, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';

/** The cookie pair (`name=value`) of a Set-Cookie answer, for the next request. */
function cookieOf(setCookie: string[] | string | undefined): string {
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  if (!first) throw new Error('no Set-Cookie');
  return first.split(';')[0];
}

describe('dashboard sessions', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  async function signIn(apiKey: string) {
    return t.http().post('/session').send({ apiKey }).expect(201);
  }

  it('exchanges an API key for an HttpOnly, SameSite=Strict cookie and says who signed in', async () => {
    const response = await signIn(ADMIN_KEY);
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(
      /^junction_session=jks_[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    expect(response.body).toMatchObject({ role: 'admin', account: { email: expect.any(String) } });
    expect(setCookie).not.toContain(ADMIN_KEY);
    const who = await t
      .http()
      .get('/session')
      .set('Cookie', cookieOf(response.headers['set-cookie']))
      .expect(200);
    expect(who.body.role).toBe('admin');
    expect(who.body.expiresAt).toEqual(expect.any(String));
  });

  it('refuses a wrong key with 401 and sets no cookie', async () => {
    const response = await t.http().post('/session').send({ apiKey: 'jk_wrong' }).expect(401);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('gives a session exactly the role of its key', async () => {
    const viewer = (await keyWithRole(t, 'viewer')).Authorization.slice('Bearer '.length);
    const cookie = cookieOf((await signIn(viewer)).headers['set-cookie']);
    await t.http().get('/jobs').set('Cookie', cookie).expect(200);
    await t
      .http()
      .post('/accounts')
      .set('Cookie', cookie)
      .set('X-Junction-Request', '1')
      .send({})
      .expect(403);
    const job = await t
      .http()
      .post('/jobs')
      .set(bearer(ADMIN_KEY))
      .send({ type: 'reservations.from-order', payload: {}, runAt: '2099-01-01T00:00:00Z' })
      .expect(201);
    await t
      .http()
      .post(`/jobs/${job.body.id}/cancel`)
      .set('Cookie', cookie)
      .set('X-Junction-Request', '1')
      .expect(403);
  });

  it('refuses a write made with the cookie alone, without the CSRF header', async () => {
    const cookie = cookieOf((await signIn(ADMIN_KEY)).headers['set-cookie']);
    const job = await t
      .http()
      .post('/jobs')
      .set(bearer(ADMIN_KEY))
      .send({ type: 'reservations.from-order', payload: {}, runAt: '2099-01-01T00:00:00Z' })
      .expect(201);
    const refused = await t.http().post(`/jobs/${job.body.id}/cancel`).set('Cookie', cookie).expect(403);
    expect(refused.body.message).toContain('x-junction-request');
    await t
      .http()
      .post(`/jobs/${job.body.id}/cancel`)
      .set('Cookie', cookie)
      .set('X-Junction-Request', '1')
      .expect(200);
  });

  it('signs out: the session is revoked server-side and its cookie cleared', async () => {
    const cookie = cookieOf((await signIn(ADMIN_KEY)).headers['set-cookie']);
    const out = await t
      .http()
      .delete('/session')
      .set('Cookie', cookie)
      .set('X-Junction-Request', '1')
      .expect(204);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    const refused = await t.http().get('/session').set('Cookie', cookie).expect(401);
    expect(refused.body.message).toMatch(/session has ended/);
  });

  it('ends the sessions of a revoked key', async () => {
    const admin = bearer(ADMIN_KEY);
    const me = (await t.http().get('/accounts/me').set(admin).expect(200)).body as { id: string };
    const { body: created } = await t
      .http()
      .post(`/accounts/${me.id}/api-keys`)
      .set(admin)
      .send({ name: 'soon revoked' })
      .expect(201);
    const cookie = cookieOf((await signIn(created.key as string)).headers['set-cookie']);
    await t.http().get('/session').set('Cookie', cookie).expect(200);
    await t.http().delete(`/accounts/${me.id}/api-keys/${created.id}`).set(admin).expect(200);
    await t.http().get('/session').set('Cookie', cookie).expect(401);
  });

  it('removes ended sessions (expired or signed out) at the next sign-in, and keeps live ones', async () => {
    const sessions = t.app.get(DataSource).getRepository(Session);
    const rowOf = (cookie: string) => sessions.findOneBy({ tokenHash: hashApiKey(cookie.split('=')[1]) });
    const live = cookieOf((await signIn(ADMIN_KEY)).headers['set-cookie']);
    const expired = cookieOf((await signIn(ADMIN_KEY)).headers['set-cookie']);
    const signedOut = cookieOf((await signIn(ADMIN_KEY)).headers['set-cookie']);
    await t.http().delete('/session').set('Cookie', signedOut).set('X-Junction-Request', '1').expect(204);
    await sessions.update({ id: (await rowOf(expired))!.id }, { expiresAt: new Date(Date.now() - 1000) });
    expect(await rowOf(signedOut)).toMatchObject({ revokedAt: expect.any(Date) });

    await signIn(ADMIN_KEY);
    expect(await rowOf(expired)).toBeNull();
    expect(await rowOf(signedOut)).toBeNull();
    expect(await sessions.countBy({ revokedAt: Not(IsNull()) })).toBe(0);
    await t.http().get('/session').set('Cookie', live).expect(200);
  });

  it('serves the dashboard at /ui, deep links included, under a CSP without inline script', async () => {
    const page = await t.http().get('/ui/jobs/some-id').expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toMatch(/<script type="module" crossorigin src="\/ui\/assets\/[\w-]+\.js"><\/script>/);
    expect(page.text).not.toMatch(/<script(?![^>]*src=)[^>]*>/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("script-src 'self' 'unsafe-inline'");
    const script = /src="(\/ui\/assets\/[\w-]+\.js)"/.exec(page.text)![1];
    await t
      .http()
      .get(script)
      .expect(200)
      .expect('Content-Type', /javascript/);
    await t.http().get('/ui/assets/missing.js').expect(404);
    await t.http().get('/ui').expect(302).expect('Location', '/ui/');
  });
});

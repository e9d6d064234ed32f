import { DataSource, Like } from 'typeorm';
import { ScheduleRunner } from '../src/modules/schedules/schedule-runner.service.js';
import { Job } from '../src/modules/jobs/job.entity.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { JobProbe, TestJobsModule } from './support/test-jobs.module.js';
import { waitFor } from './support/wait-for.js';

const onPostgres = process.env.DATABASE_URL?.startsWith('postgres') === true;
const admin = bearer(ADMIN_KEY);
const DAY_MS = 86_400_000;

interface ScheduleBody {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  jobType: string;
  payload: unknown;
  enabled: boolean;
  overlap: string;
  catchUp: string;
  builtIn: boolean;
  lastFiredAt: string | null;
  nextFireAt: string | null;
  lastJobId: string | null;
}

/** The jobs a schedule enqueued, oldest slot first. */
async function jobsOf(t: TestApp, scheduleId: string): Promise<Job[]> {
  return t.app.get(DataSource).manager.find(Job, {
    where: { idempotencyKey: Like(`schedule:${scheduleId}:%`) },
    order: { idempotencyKey: 'ASC' },
  });
}

const slotOf = (job: Job) => job.idempotencyKey!.split(':').slice(2).join(':');

describe('schedules', () => {
  let t: TestApp;
  let runner: ScheduleRunner;
  let seq = 0;

  beforeAll(async () => {
    t = await startTestApp({ features: [TestJobsModule] });
    runner = t.app.get(ScheduleRunner);
  });
  afterAll(() => t.close());

  const create = async (body: object, status = 201) =>
    (
      await t
        .http()
        .post('/schedules')
        .set(admin)
        .send({ name: `schedule-${++seq}`, timezone: 'UTC', jobType: 'test.echo', ...body })
        .expect(status)
    ).body as ScheduleBody;
  const get = async (id: string) =>
    (await t.http().get(`/schedules/${id}`).set(admin).expect(200)).body as ScheduleBody;
  const jobStatus = async (id: string) =>
    ((await t.http().get(`/jobs/${id}`).set(admin).expect(200)).body as { status: string }).status;

  it('creates, lists, changes and deletes a schedule, computing nextFireAt in its time zone', async () => {
    const created = await create({ name: 'morning-report', cron: '30 9 * * *', timezone: 'europe/berlin' });
    expect(created).toMatchObject({
      name: 'morning-report',
      timezone: 'Europe/Berlin',
      payload: {},
      enabled: true,
      overlap: 'skip',
      catchUp: 'skip',
      builtIn: false,
      lastFiredAt: null,
      lastJobId: null,
    });
    const next = new Date(created.nextFireAt!);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(
      new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', timeStyle: 'short' }).format(next),
    ).toBe('09:30');

    const list = await t.http().get('/schedules').query({ limit: 200 }).set(admin).expect(200);
    expect(list.body.items.map((s: ScheduleBody) => s.id)).toContain(created.id);

    const changed = (
      await t
        .http()
        .patch(`/schedules/${created.id}`)
        .set(admin)
        .send({ cron: '0 */2 * * *', timezone: 'UTC', catchUp: 'once', payload: { n: 1 } })
        .expect(200)
    ).body as ScheduleBody;
    expect(changed).toMatchObject({ cron: '0 */2 * * *', catchUp: 'once', payload: { n: 1 } });
    const changedNext = new Date(changed.nextFireAt!);
    expect(changedNext.getUTCHours() % 2).toBe(0);
    expect(changedNext.getUTCMinutes()).toBe(0);

    await create({ name: 'morning-report', cron: '* * * * *' }, 409);
    const other = await create({ name: 'other-report', cron: '* * * * *' });
    const taken = await t
      .http()
      .patch(`/schedules/${created.id}`)
      .set(admin)
      .send({ name: 'other-report' })
      .expect(409);
    expect(taken.body.error).toBe('SCHEDULE_NAME_TAKEN');
    await t.http().delete(`/schedules/${other.id}`).set(admin).expect(204);

    await t.http().delete(`/schedules/${created.id}`).set(admin).expect(204);
    await t.http().get(`/schedules/${created.id}`).set(admin).expect(404);
  });

  it('refuses a bad cron or time zone with 422 naming the field', async () => {
    await create({ name: '   ', cron: '0 3 * * *' }, 400);
    const badCron = await create({ cron: '* * *' }, 422);
    expect(badCron).toMatchObject({ error: 'INVALID_SCHEDULE', details: [{ field: 'cron' }] });
    const neverFires = await create({ cron: '0 0 30 2 *' }, 422);
    expect(neverFires).toMatchObject({ error: 'INVALID_SCHEDULE', details: [{ field: 'cron' }] });
    const badZone = await create({ cron: '0 3 * * *', timezone: 'Mars/Olympus_Mons' }, 422);
    expect(badZone).toMatchObject({ error: 'INVALID_SCHEDULE', details: [{ field: 'timezone' }] });
    const both = await create({ cron: '99 * * * *', timezone: '+02:00' }, 422);
    expect((both as unknown as { details: { field: string }[] }).details.map((d) => d.field).sort()).toEqual([
      'cron',
      'timezone',
    ]);
    const unknownType = await create({ cron: '0 3 * * *', jobType: 'test.no-such-type' }, 422);
    expect(unknownType).toMatchObject({ error: 'UNKNOWN_JOB_TYPE' });
    const badPayload = await create(
      { cron: '0 3 * * *', jobType: 'test.typed', payload: { orderId: 7 } },
      422,
    );
    expect(badPayload).toMatchObject({ error: 'INVALID_SCHEDULE', details: [{ field: 'payload' }] });
    await create({ cron: '0 3 * * *', overlap: 'sometimes' }, 400);
    await t.http().post('/schedules').set(admin).send({ cron: '0 3 * * *', timezone: 'UTC' }).expect(400);

    const fine = await create({ cron: '0 3 * * *' });
    const patched = await t
      .http()
      .patch(`/schedules/${fine.id}`)
      .set(admin)
      .send({ timezone: 'Nowhere' })
      .expect(422);
    expect(patched.body).toMatchObject({ error: 'INVALID_SCHEDULE', details: [{ field: 'timezone' }] });
  });

  it('fires under a controlled clock: the due slot once, missed slots as catchUp says', async () => {
    // 09:30 on 1 January in New York: never reached in real time while this test runs.
    const once = await create({ cron: '30 9 1 1 *', timezone: 'America/New_York', catchUp: 'once' });
    const skip = await create({ cron: '30 9 1 1 *', timezone: 'America/New_York', catchUp: 'skip' });
    const slot = new Date(once.nextFireAt!);
    expect(slot.getUTCHours()).toBe(14);
    expect(slot.getUTCMinutes()).toBe(30);

    expect(await runner.fire(once.id, new Date(slot.getTime() - 1))).toBe('not-due');
    const due = await runner.fireDue(slot);
    expect(due.get(once.id)).toBe('fired');
    expect(due.get(skip.id)).toBe('fired');
    expect(await runner.fire(once.id, slot)).toBe('not-due');

    let fired = await get(once.id);
    expect(fired.lastFiredAt).toBe(slot.toISOString());
    expect(new Date(fired.nextFireAt!).getUTCFullYear()).toBe(slot.getUTCFullYear() + 1);
    let jobs = await jobsOf(t, once.id);
    expect(jobs.map(slotOf)).toEqual([slot.toISOString()]);
    expect(fired.lastJobId).toBe(jobs[0].id);
    await waitFor(
      () => jobStatus(jobs[0].id),
      (s) => s === 'succeeded',
    );

    // Down until a day after the slot two years on: two slots were missed.
    const lastMissed = new Date(fired.nextFireAt!);
    lastMissed.setUTCFullYear(lastMissed.getUTCFullYear() + 1);
    const later = new Date(lastMissed.getTime() + DAY_MS);
    expect(await runner.fire(once.id, later)).toBe('fired');
    expect(await runner.fire(skip.id, later)).toBe('skipped-missed');
    jobs = await jobsOf(t, once.id);
    expect(jobs.map(slotOf)).toEqual([slot.toISOString(), lastMissed.toISOString()]);
    expect(await jobsOf(t, skip.id)).toHaveLength(1);
    fired = await get(once.id);
    const skipped = await get(skip.id);
    expect(fired.lastFiredAt).toBe(lastMissed.toISOString());
    expect(skipped.lastFiredAt).toBe(slot.toISOString());
    for (const s of [fired, skipped])
      expect(new Date(s.nextFireAt!).getTime()).toBeGreaterThan(later.getTime());
  });

  it('skips a slot while the previous firing’s job is unfinished, when overlap is skip', async () => {
    const probe = t.app.get(JobProbe);
    const gate = 'schedule-overlap';
    const s = await create({ cron: '30 9 1 1 *', jobType: 'test.blocking', payload: { gate } });
    const first = new Date(s.nextFireAt!);
    expect(await runner.fire(s.id, first)).toBe('fired');
    await probe.whenStarted(gate);
    const second = new Date((await get(s.id)).nextFireAt!);
    expect(await runner.fire(s.id, second)).toBe('skipped-overlap');
    const afterSkip = await get(s.id);
    expect(afterSkip.lastFiredAt).toBe(first.toISOString());
    expect(new Date(afterSkip.nextFireAt!).getTime()).toBeGreaterThan(second.getTime());

    probe.open(gate);
    const [job] = await jobsOf(t, s.id);
    await waitFor(
      () => jobStatus(job.id),
      (status) => status === 'succeeded',
    );
    await t.http().patch(`/schedules/${s.id}`).set(admin).send({ jobType: 'test.echo' }).expect(200);
    expect(await runner.fire(s.id, new Date(afterSkip.nextFireAt!))).toBe('fired');
    expect(await jobsOf(t, s.id)).toHaveLength(2);
  });

  it('fires a six-field cron every second in real time, and stops while paused', async () => {
    const s = await create({ cron: '* * * * * *', overlap: 'allow' });
    const jobs = await waitFor(
      () => jobsOf(t, s.id),
      (found) => found.length >= 2,
      5000,
    );
    const slots = jobs.map((job) => Date.parse(slotOf(job)));
    expect(slots.every((ms) => ms % 1000 === 0)).toBe(true);
    expect(slots[1] - slots[0]).toBe(1000);

    const paused = (await t.http().post(`/schedules/${s.id}/pause`).set(admin).expect(200))
      .body as ScheduleBody;
    expect(paused).toMatchObject({ enabled: false, nextFireAt: null });
    const count = (await jobsOf(t, s.id)).length;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await jobsOf(t, s.id)).length).toBe(count);

    const resumed = (await t.http().post(`/schedules/${s.id}/resume`).set(admin).expect(200))
      .body as ScheduleBody;
    expect(resumed.enabled).toBe(true);
    expect(new Date(resumed.nextFireAt!).getTime()).toBeGreaterThan(Date.now() - 1000);
    await t.http().delete(`/schedules/${s.id}`).set(admin).expect(204);
  });

  it('triggers a job now with a key of its own, paused or not', async () => {
    const s = await create({ cron: '0 3 * * *', payload: { hello: 'schedule' }, enabled: false });
    expect(s.nextFireAt).toBeNull();
    const triggered = await t.http().post(`/schedules/${s.id}/trigger`).set(admin).expect(201);
    expect(triggered.body.idempotencyKey).toMatch(new RegExp(`^schedule:${s.id}:manual:`));
    await waitFor(
      () => jobStatus(triggered.body.jobId as string),
      (status) => status === 'succeeded',
    );
    const job = (await t.http().get(`/jobs/${triggered.body.jobId}`).set(admin).expect(200)).body;
    expect(job.result).toMatchObject({ echoed: { hello: 'schedule' } });
    expect((await get(s.id)).lastJobId).toBe(triggered.body.jobId);
    await t.http().post(`/schedules/01234567-89ab-7def-8123-456789abcdef/trigger`).set(admin).expect(404);
  });

  it('keeps the built-in retention schedule: it pauses, resumes and runs, but is not deleted or retyped', async () => {
    const list = await t.http().get('/schedules').query({ limit: 200 }).set(admin).expect(200);
    const retention = (list.body.items as ScheduleBody[]).find((s) => s.name === 'junction.retention')!;
    expect(retention).toMatchObject({
      cron: '0 3 * * *',
      timezone: 'UTC',
      jobType: 'junction.retention',
      overlap: 'skip',
      catchUp: 'once',
      builtIn: true,
      enabled: true,
    });
    const refused = await t.http().delete(`/schedules/${retention.id}`).set(admin).expect(409);
    expect(refused.body.error).toBe('SCHEDULE_BUILT_IN');
    await t.http().patch(`/schedules/${retention.id}`).set(admin).send({ jobType: 'test.echo' }).expect(409);
    await t.http().post(`/schedules/${retention.id}/pause`).set(admin).expect(200);
    await t.http().post(`/schedules/${retention.id}/resume`).set(admin).expect(200);

    const triggered = await t.http().post(`/schedules/${retention.id}/trigger`).set(admin).expect(201);
    await waitFor(
      () => jobStatus(triggered.body.jobId as string),
      (status) => status === 'succeeded',
    );
    const job = (await t.http().get(`/jobs/${triggered.body.jobId}`).set(admin).expect(200)).body;
    expect(job.result).toEqual({
      cutoff: expect.any(String),
      events: expect.any(Number),
      jobs: expect.any(Number),
    });
    expect(Date.now() - Date.parse(job.result.cutoff as string)).toBeGreaterThan(29 * DAY_MS);
  });
});

describe('the built-in retention schedule across boots', () => {
  it('takes a changed JUNCTION_RETENTION_CRON at the next boot', async () => {
    const database = await TestDatabase.create();
    try {
      const first = await startTestApp({ database });
      await first.close();
      const second = await startTestApp({ database, env: { JUNCTION_RETENTION_CRON: '15 4 * * *' } });
      try {
        const list = await second.http().get('/schedules').set(admin).expect(200);
        const retention = (list.body.items as ScheduleBody[]).filter((s) => s.builtIn);
        expect(retention).toHaveLength(1);
        expect(retention[0].cron).toBe('15 4 * * *');
        const next = new Date(retention[0].nextFireAt!);
        expect([next.getUTCHours(), next.getUTCMinutes()]).toEqual([4, 15]);
      } finally {
        await second.close();
      }
    } finally {
      await database.drop();
    }
  });
});

/** Several scheduler processes on one PostgreSQL database; SQLite is one process by design. */
(onPostgres ? describe : describe.skip)('two schedulers on one PostgreSQL database', () => {
  it('fire each slot of a shared schedule once', async () => {
    const database = await TestDatabase.create();
    const env = { JUNCTION_SCHEDULE_SYNC_MS: '200' };
    const apps: TestApp[] = [];
    try {
      apps.push(await startTestApp({ database, env, features: [TestJobsModule] }));
      apps.push(await startTestApp({ database, env, features: [TestJobsModule] }));
      const [a] = apps;
      const created = await a
        .http()
        .post('/schedules')
        .set(admin)
        .send({
          name: 'shared',
          cron: '* * * * * *',
          timezone: 'UTC',
          jobType: 'test.echo',
          overlap: 'allow',
        })
        .expect(201);
      const id = created.body.id as string;
      await waitFor(
        () => jobsOf(a, id),
        (jobs) => jobs.length >= 4,
        8000,
      );
      await a.http().post(`/schedules/${id}/pause`).set(admin).expect(200);
      // Let a firing that was under way when the pause landed finish.
      await new Promise((resolve) => setTimeout(resolve, 300));

      const jobs = await jobsOf(a, id);
      const slots = jobs.map((job) => Date.parse(slotOf(job)));
      expect(new Set(slots).size).toBe(jobs.length);
      for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBe(1000);

      const runners = apps.map((app) => app.app.get(ScheduleRunner));
      // Both processes tried every slot (the second may have missed the first, before its sync),
      // yet their firings add up to one per slot: the other found the slot taken.
      for (const r of runners) expect(r.ticks).toBeGreaterThanOrEqual(jobs.length - 1);
      expect(runners[0].outcomes.fired + runners[1].outcomes.fired).toBe(jobs.length);
      const lost = runners.reduce((n, r) => n + r.outcomes.taken + r.outcomes['not-due'], 0);
      expect(lost).toBeGreaterThanOrEqual(jobs.length - 1);
    } finally {
      await Promise.all(apps.map((app) => app.close()));
      await database.drop();
    }
  });
});

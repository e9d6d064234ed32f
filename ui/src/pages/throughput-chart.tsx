import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import type { Job, JobStatus } from '../api/client';
import { ErrorMessage } from '../errors';

const MINUTES = 60;
const PAGE_SIZE = 200;
/** Pages read per status: the chart is a glance, not an audit, so it stops at this many jobs. */
const MAX_PAGES = 2;
const WIDTH = 600;
const HEIGHT = 120;

interface Minute {
  succeeded: number;
  failed: number;
}

/**
 * Successes and failures per minute over the last hour, counted from the jobs created in that
 * hour (GET /jobs by status and time), each at the minute it finished or last failed.
 */
export function ThroughputChart() {
  const chart = useQuery({
    queryKey: ['throughput'],
    queryFn: loadMinutes,
    refetchInterval: 30_000,
  });
  if (chart.error) return <ErrorMessage error={chart.error} />;
  if (!chart.data) return <p>Loading…</p>;
  const { minutes, capped } = chart.data;
  const succeeded = minutes.reduce((sum, m) => sum + m.succeeded, 0);
  const failed = minutes.reduce((sum, m) => sum + m.failed, 0);
  const peak = Math.max(1, ...minutes.map((m) => Math.max(m.succeeded, m.failed)));
  const slot = WIDTH / MINUTES;
  const bar = (value: number) => (value / peak) * (HEIGHT - 10);
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Last hour: ${succeeded} jobs succeeded, ${failed} failed; at most ${peak} in one minute`}
      >
        <line x1={0} y1={HEIGHT} x2={WIDTH} y2={HEIGHT} stroke="#888" />
        {minutes.map((minute, index) => (
          <g key={index}>
            <rect
              x={index * slot + 1}
              y={HEIGHT - bar(minute.succeeded)}
              width={slot / 2 - 1}
              height={bar(minute.succeeded)}
              fill="#1d7a3a"
            />
            <rect
              x={index * slot + slot / 2}
              y={HEIGHT - bar(minute.failed)}
              width={slot / 2 - 1}
              height={bar(minute.failed)}
              fill="#b3261e"
            />
          </g>
        ))}
      </svg>
      <figcaption>
        Per minute, oldest on the left: <span className="key-succeeded">succeeded ({succeeded})</span> and{' '}
        <span className="key-failed">failed or dead ({failed})</span>
        {capped ? `, counted from the latest ${PAGE_SIZE * MAX_PAGES} jobs of each` : ''}.
      </figcaption>
    </figure>
  );
}

async function loadMinutes(): Promise<{ minutes: Minute[]; capped: boolean }> {
  const now = Date.now();
  const start = now - MINUTES * 60_000;
  const from = new Date(start).toISOString();
  const [succeeded, failed, dead] = await Promise.all(
    (['succeeded', 'failed', 'dead'] as JobStatus[]).map((status) => jobsSince(status, from)),
  );
  const minutes: Minute[] = Array.from({ length: MINUTES }, () => ({ succeeded: 0, failed: 0 }));
  const minuteOf = (job: Job) => {
    const at = Date.parse(job.finishedAt ?? job.startedAt ?? job.createdAt);
    return Math.min(MINUTES - 1, Math.max(0, Math.floor((at - start) / 60_000)));
  };
  for (const job of succeeded.jobs) minutes[minuteOf(job)].succeeded += 1;
  for (const job of [...failed.jobs, ...dead.jobs]) minutes[minuteOf(job)].failed += 1;
  return { minutes, capped: succeeded.capped || failed.capped || dead.capped };
}

async function jobsSince(status: JobStatus, from: string): Promise<{ jobs: Job[]; capped: boolean }> {
  const jobs: Job[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const result = unwrap(
      await api.GET('/jobs', {
        params: { query: { status, from, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) } },
      }),
    );
    jobs.push(...result.items);
    if (!result.nextCursor) return { jobs, capped: false };
    cursor = result.nextCursor;
  }
  return { jobs, capped: true };
}

import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import type { FeatureRecord } from './projects';
import { Summary } from '../summary';

interface BuildRecord {
  id: string;
  provider: string;
  job: string;
  number: number;
  status: string;
  url: string | null;
  finishedAt: string | null;
}

interface ProviderDatum {
  provider: string;
  key: string;
  display: 'string' | 'traffic_light';
  value: unknown;
}

interface BranchView {
  id: string;
  name: string;
  headSha: string;
  parent: string | null;
  mergedIntoParent: boolean;
  latestBuild: BuildRecord | null;
  providerData: ProviderDatum[];
}

interface RepositoryView {
  id: string;
  provider: string;
  owner: string;
  name: string;
  branches: BranchView[];
}

type FeatureView = FeatureRecord & { repositories: RepositoryView[] };

type Light = 'green' | 'red' | 'amber' | 'grey';

/** The colour of a build's status: green passed, red failed, amber under way or unstable, grey none. */
const BUILD_LIGHTS: Record<string, Light> = {
  success: 'green',
  failure: 'red',
  unstable: 'amber',
  running: 'amber',
  queued: 'amber',
  aborted: 'grey',
  not_built: 'grey',
};

/** A lamp with its words beside it: the colour is never the only way to tell the state. */
function TrafficLight({ light, label }: { light: Light; label: string }) {
  return (
    <span className={`light light-${light}`}>
      <span className="lamp" aria-hidden="true" />
      {label}
    </span>
  );
}

function BuildLight({ build }: { build: BuildRecord | null }) {
  if (!build) return <TrafficLight light="grey" label="no build" />;
  const status = build.status.replace('_', ' ');
  return (
    <>
      <TrafficLight light={BUILD_LIGHTS[build.status] ?? 'grey'} label={status} />{' '}
      {build.url ? (
        <a href={build.url}>
          {build.job} #{build.number}
        </a>
      ) : (
        `${build.job} #${build.number}`
      )}
    </>
  );
}

/** A feature with its branches per repository, each with the light of its latest build. */
export function FeaturePage() {
  const { id = '', featureId = '' } = useParams();
  const feature = useQuery({
    queryKey: ['project', id, 'feature', featureId],
    queryFn: async () =>
      unwrap(
        await api.GET('/projects/{id}/{kind}/{rid}', {
          params: { path: { id, kind: 'features', rid: featureId } },
        }),
      ) as unknown as FeatureView,
    refetchInterval: 5000,
  });
  const data = feature.data;
  useTitle(data ? `Feature ${data.externalId}` : 'Feature');

  return (
    <>
      <p>
        <Link to={`/projects/${id}`}>← The project</Link>
      </p>
      <h1>{data ? `${data.externalId}: ${data.title}` : 'Feature'}</h1>
      <ErrorMessage error={feature.error} />
      {data && (
        <>
          <Summary
            items={[
              ['State', data.state],
              ['Type', data.type],
              ['Owner', data.owner ?? '—'],
              ['From', <>{data.url ? <a href={data.url}>{data.provider}</a> : data.provider}</>],
              ['Updated', formatTime(data.updatedAt)],
            ]}
          />
          <section aria-labelledby="branches">
            <h2 id="branches">Branches</h2>
            {data.repositories.length === 0 && <p>No branch is linked to this feature yet.</p>}
            {data.repositories.map((repository) => (
              <table key={repository.id}>
                <caption>
                  {repository.owner}/{repository.name} ({repository.provider})
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Branch</th>
                    <th scope="col">Head</th>
                    <th scope="col">Parent</th>
                    <th scope="col">Latest build</th>
                    <th scope="col">Other signals</th>
                  </tr>
                </thead>
                <tbody>
                  {repository.branches.map((branch) => (
                    <tr key={branch.id}>
                      <th scope="row">
                        {branch.name}
                        {branch.mergedIntoParent ? ' (merged)' : ''}
                      </th>
                      <td>
                        <code>{branch.headSha.slice(0, 10)}</code>
                      </td>
                      <td>{branch.parent ?? '—'}</td>
                      <td>
                        <BuildLight build={branch.latestBuild} />
                      </td>
                      <td>
                        <ProviderSignals data={branch.providerData} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ))}
          </section>
        </>
      )}
    </>
  );
}

/** What other tools put on the branch (a quality gate, a review): lights as lights, the rest as text. */
function ProviderSignals({ data }: { data: ProviderDatum[] }) {
  if (data.length === 0) return <>—</>;
  return (
    <ul className="signals">
      {data.map((datum) => (
        <li key={`${datum.provider}/${datum.key}`}>
          {datum.provider} {datum.key}:{' '}
          {datum.display === 'traffic_light' ? (
            <TrafficLight light={datum.value as Light} label={String(datum.value)} />
          ) : (
            String(datum.value)
          )}
        </li>
      ))}
    </ul>
  );
}

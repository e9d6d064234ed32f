import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, roleAtLeast, unwrap } from '../api/client';
import type { Schemas } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { useSession } from '../session';
import { countOf, ReservationsNav, SelectFilter, useCatalogue } from './reservations';
import type { OperationState } from './reservations';
import { StatusBadge, Summary } from '../summary';

type Operation = Schemas['OperationDto'];

const OPERATION_STATES: OperationState[] = ['planned', 'started', 'done', 'cancelled'];
const PAGE_SIZE = 50;

export function OperationsPage() {
  useTitle('Operations');
  const [params, setParams] = useSearchParams();
  const state = (params.get('state') ?? '') as OperationState | '';
  const cursor = params.get('cursor') ?? undefined;
  const operations = useQuery({
    queryKey: ['operations', { state, cursor }],
    queryFn: async () =>
      unwrap(
        await api.GET('/operations', {
          params: { query: { limit: PAGE_SIZE, ...(state ? { state } : {}), ...(cursor ? { cursor } : {}) } },
        }),
      ),
    refetchInterval: 5000,
  });
  const nextPage = () => {
    if (!operations.data?.nextCursor) return;
    const next = new URLSearchParams(params);
    next.set('cursor', operations.data.nextCursor);
    setParams(next);
  };

  return (
    <>
      <h1>Operations</h1>
      <ReservationsNav />
      <SelectFilter
        name="state"
        label="State"
        formLabel="Filter operations"
        anyLabel="any"
        options={OPERATION_STATES.map((s) => ({ value: s, label: s }))}
      />
      <ErrorMessage error={operations.error} />
      {operations.isPending && <p>Loading…</p>}
      {operations.data && operations.data.items.length === 0 && <p>No operation matches.</p>}
      {operations.data && operations.data.items.length > 0 && (
        <OperationsTable
          operations={operations.data.items}
          caption={`${countOf(operations.data.items.length, 'operation')}${state ? `, ${state}` : ''}, oldest first`}
        />
      )}
      {operations.data?.nextCursor && (
        <button type="button" onClick={nextPage}>
          Later operations
        </button>
      )}
    </>
  );
}

export function OperationsTable({ operations, caption }: { operations: Operation[]; caption: string }) {
  const { locationCode } = useCatalogue();
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Operation</th>
          <th scope="col">Type</th>
          <th scope="col">State</th>
          <th scope="col">Planned for</th>
          <th scope="col">Location</th>
          <th scope="col">Request</th>
        </tr>
      </thead>
      <tbody>
        {operations.map((operation) => (
          <tr key={operation.id}>
            <th scope="row">
              <Link to={`/reservations/operations/${operation.id}`}>
                <code>{operation.id}</code>
              </Link>
            </th>
            <td>{operation.type}</td>
            <td>
              <StatusBadge>{operation.state}</StatusBadge>
            </td>
            <td>{formatTime(operation.dtExecution)}</td>
            <td>
              {operation.locationId ? (locationCode.get(operation.locationId) ?? operation.locationId) : '—'}
            </td>
            <td>
              {operation.requestId ? (
                <Link to={`/reservations/requests/${operation.requestId}`}>
                  <code>{operation.requestId}</code>
                </Link>
              ) : (
                'none'
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One operation, with the avatars it consumes and produces; Cancel for operators while it is planned. */
export function OperationPage() {
  const { id = '' } = useParams();
  useTitle(`Operation ${id.slice(0, 8)}`);
  const client = useQueryClient();
  const session = useSession();
  const { locationCode } = useCatalogue();
  const operation = useQuery({
    queryKey: ['operation', id],
    queryFn: async () => unwrap(await api.GET('/operations/{id}', { params: { path: { id } } })),
    refetchInterval: (query) =>
      query.state.data && ['done', 'cancelled'].includes(query.state.data.state) ? false : 5000,
  });
  const cancel = useMutation({
    mutationFn: async () => unwrap(await api.POST('/operations/{id}/cancel', { params: { path: { id } } })),
    onSuccess: (cancelled) => {
      client.setQueryData(['operation', id], cancelled);
      void client.invalidateQueries({ queryKey: ['operations'] });
      void client.invalidateQueries({ queryKey: ['stock'] });
    },
  });
  const mayCancel = session.data ? roleAtLeast(session.data.role, 'operator') : false;
  const data = operation.data;

  return (
    <>
      <p>
        <Link to="/reservations/operations">← Operations</Link>
      </p>
      <h1>Operation {id}</h1>
      <ReservationsNav />
      <ErrorMessage error={operation.error} />
      {data && (
        <>
          <Summary
            items={[
              [
                'State',
                <>
                  <StatusBadge testId="operation-state">{data.state}</StatusBadge>
                </>,
              ],
              ['Type', data.type],
              ['Planned for', formatTime(data.dtExecution)],
              ['Executed', formatTime(data.executedAt)],
              [
                'Goods',
                <>
                  <code>{data.goodsId}</code>
                </>,
              ],
              ['Location', data.locationId ? (locationCode.get(data.locationId) ?? data.locationId) : '—'],
              [
                'Request',
                <>
                  {data.requestId ? (
                    <Link to={`/reservations/requests/${data.requestId}`}>{data.requestId}</Link>
                  ) : (
                    'none'
                  )}
                </>,
              ],
              [
                'Follows',
                <>
                  {data.followsId ? (
                    <Link to={`/reservations/operations/${data.followsId}`}>{data.followsId}</Link>
                  ) : (
                    'none'
                  )}
                </>,
              ],
            ]}
          />
          {mayCancel && data.state === 'planned' && (
            <div className="actions">
              <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
                Cancel operation
              </button>
            </div>
          )}
          <ErrorMessage error={cancel.error} />
          <section aria-labelledby="avatars">
            <h2 id="avatars">Avatars</h2>
            <h3>Inputs</h3>
            <AvatarList
              ids={data.inputs}
              none={data.type === 'arrival' ? 'None: an arrival brings the object in.' : 'None.'}
            />
            <h3>Outcomes</h3>
            <AvatarList ids={data.outcomes} none="None." />
          </section>
        </>
      )}
    </>
  );
}

function AvatarList({ ids, none }: { ids: string[]; none: string }) {
  if (ids.length === 0) return <p>{none}</p>;
  return (
    <ul>
      {ids.map((avatar) => (
        <li key={avatar}>
          <code>{avatar}</code>
        </li>
      ))}
    </ul>
  );
}

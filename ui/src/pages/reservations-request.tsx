import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, roleAtLeast, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatJson, formatTime } from '../format';
import { useTitle } from '../layout';
import { useSession } from '../session';
import { OperationsTable } from './reservations-operations';
import { purposeType, ReservationsNav, useCatalogue } from './reservations';
import type { RequestStatus } from './reservations';
import { StatusBadge, Summary } from '../summary';

const FINISHED: RequestStatus[] = ['done', 'cancelled'];

/** One reservation request: its items, the goods reserved for it, its operations; Cancel for operators. */
export function ReservationRequestPage() {
  const { id = '' } = useParams();
  useTitle(`Request ${id.slice(0, 8)}`);
  const client = useQueryClient();
  const session = useSession();
  const { typeCode } = useCatalogue();
  const request = useQuery({
    queryKey: ['reservation-request', id],
    queryFn: async () => unwrap(await api.GET('/reservation-requests/{id}', { params: { path: { id } } })),
    refetchInterval: (query) =>
      query.state.data && FINISHED.includes(query.state.data.status) ? false : 5000,
  });
  const operations = useQuery({
    queryKey: ['operations', { request: id }],
    queryFn: async () =>
      unwrap(await api.GET('/operations', { params: { query: { request: id, limit: 200 } } })),
    refetchInterval: 5000,
  });
  const cancel = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST('/reservation-requests/{id}/cancel', { params: { path: { id } } })),
    onSuccess: (detail) => {
      client.setQueryData(['reservation-request', id], detail);
      void client.invalidateQueries({ queryKey: ['reservation-requests'] });
      void client.invalidateQueries({ queryKey: ['operations'] });
      void client.invalidateQueries({ queryKey: ['stock'] });
    },
  });
  const mayCancel = session.data ? roleAtLeast(session.data.role, 'operator') : false;
  const data = request.data;
  const itemType = new Map((data?.items ?? []).map((item) => [item.id, typeCode.get(item.goodsTypeId)]));

  return (
    <>
      <p>
        <Link to="/reservations">← Reservations</Link>
      </p>
      <h1>Request {id}</h1>
      <ReservationsNav />
      <ErrorMessage error={request.error} />
      {data && (
        <>
          <Summary
            items={[
              [
                'Status',
                <>
                  <StatusBadge testId="request-status">{data.status}</StatusBadge>
                </>,
              ],
              ['Purpose', purposeType(data.purpose)],
              ['Lane', data.lane],
              ['Created', formatTime(data.createdAt)],
              ['Updated', formatTime(data.updatedAt)],
            ]}
          />
          {mayCancel && !FINISHED.includes(data.status) && (
            <div className="actions">
              <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
                Cancel request
              </button>
            </div>
          )}
          <ErrorMessage error={cancel.error} />
          <section aria-labelledby="items">
            <h2 id="items">Items</h2>
            <table>
              <caption>What the request asks for, in the order given</caption>
              <thead>
                <tr>
                  <th scope="col">Goods type</th>
                  <th scope="col">Quantity</th>
                  <th scope="col">Reserved</th>
                  <th scope="col">Properties</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((item) => (
                  <tr key={item.id}>
                    <th scope="row">{typeCode.get(item.goodsTypeId) ?? item.goodsTypeId}</th>
                    <td>{item.quantity}</td>
                    <td>{item.reservedQuantity}</td>
                    <td>{Object.keys(item.properties).length ? formatJson(item.properties) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section aria-labelledby="reservations">
            <h2 id="reservations">Reservations</h2>
            {data.reservations.length === 0 ? (
              <p>No goods are reserved for it.</p>
            ) : (
              <table>
                <caption>The goods promised to the request now</caption>
                <thead>
                  <tr>
                    <th scope="col">Goods</th>
                    <th scope="col">Goods type</th>
                    <th scope="col">Quantity</th>
                    <th scope="col">Reserved at</th>
                  </tr>
                </thead>
                <tbody>
                  {data.reservations.map((reservation) => (
                    <tr key={reservation.id}>
                      <th scope="row">
                        <code>{reservation.goodsId}</code>
                      </th>
                      <td>{itemType.get(reservation.requestItemId) ?? '—'}</td>
                      <td>{reservation.quantity}</td>
                      <td>{formatTime(reservation.createdAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section aria-labelledby="request-operations">
            <h2 id="request-operations">Operations</h2>
            <ErrorMessage error={operations.error} />
            {operations.data &&
              (operations.data.items.length === 0 ? (
                <p>No operation is planned for it.</p>
              ) : (
                <OperationsTable operations={operations.data.items} caption="Planned for this request" />
              ))}
          </section>
        </>
      )}
    </>
  );
}

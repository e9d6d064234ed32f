import { useQueries, useQuery } from '@tanstack/react-query';
import { useId } from 'react';
import type { FormEvent } from 'react';
import { Link, NavLink, useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client';
import type { Schemas } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { StatusBadge } from '../summary';

export type RequestStatus = Schemas['ReservationRequestDto']['status'];
export type OperationState = Schemas['OperationDto']['state'];

export const REQUEST_STATUSES: RequestStatus[] = ['pending', 'reserved', 'planned', 'done', 'cancelled'];
/** The largest page the catalogue lists give: enough goods types and locations for a dashboard. */
const CATALOGUE_LIMIT = 200;
const PAGE_SIZE = 50;

/** The goods types and locations by id, to show codes where the API gives ids. */
export function useCatalogue() {
  const goodsTypes = useQuery({
    queryKey: ['goods-types'],
    queryFn: async () =>
      unwrap(await api.GET('/goods-types', { params: { query: { limit: CATALOGUE_LIMIT } } })),
    staleTime: 60_000,
  });
  const locations = useQuery({
    queryKey: ['locations'],
    queryFn: async () =>
      unwrap(await api.GET('/locations', { params: { query: { limit: CATALOGUE_LIMIT } } })),
    staleTime: 60_000,
  });
  const typeCode = new Map((goodsTypes.data?.items ?? []).map((type) => [type.id, type.code]));
  const locationCode = new Map((locations.data?.items ?? []).map((location) => [location.id, location.code]));
  return { goodsTypes, locations, typeCode, locationCode };
}

/** The links between the reservation pages. */
export function ReservationsNav() {
  return (
    <nav aria-label="Reservations" className="subnav">
      <NavLink to="/reservations" end>
        Stock and requests
      </NavLink>
      <NavLink to="/reservations/operations">Operations</NavLink>
    </nav>
  );
}

/** A one-select filter form whose value lives in the URL. */
export function SelectFilter(props: {
  name: string;
  label: string;
  formLabel: string;
  anyLabel: string;
  options: { value: string; label: string }[];
}) {
  const [params, setParams] = useSearchParams();
  const value = params.get(props.name) ?? '';
  const id = useId();
  // Replaces its own parameter and keeps the others; a list's cursor starts over.
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const chosen = new FormData(event.currentTarget).get(props.name);
    const next = new URLSearchParams(params);
    next.delete('cursor');
    if (typeof chosen === 'string' && chosen) next.set(props.name, chosen);
    else next.delete(props.name);
    setParams(next);
  };
  return (
    <form className="filters" onSubmit={submit} aria-label={props.formLabel} key={value}>
      {/* Labelled by id: a wrapping label would put the options' words in the select's name. */}
      <label htmlFor={id}>{props.label}</label>
      <select id={id} name={props.name} defaultValue={value}>
        <option value="">{props.anyLabel}</option>
        {props.options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      <button type="submit">Show</button>
    </form>
  );
}

export function ReservationsPage() {
  useTitle('Reservations');
  return (
    <>
      <h1>Reservations</h1>
      <ReservationsNav />
      <StockSection />
      <RequestsSection />
    </>
  );
}

/** Present, future and reserved counts of every goods type, at a location (with those inside it) or everywhere. */
function StockSection() {
  const [params] = useSearchParams();
  const location = params.get('location') ?? '';
  const { goodsTypes, locations } = useCatalogue();
  const types = goodsTypes.data?.items ?? [];
  const stock = useQueries({
    queries: types.map((type) => ({
      queryKey: ['stock', type.code, location],
      queryFn: async () =>
        unwrap(
          await api.GET('/stock', {
            params: { query: { goodsType: type.code, ...(location ? { location } : {}) } },
          }),
        ),
      refetchInterval: 10_000,
    })),
  });
  const place = location || 'every location';

  return (
    <section aria-labelledby="stock">
      <h2 id="stock">Stock</h2>
      <SelectFilter
        name="location"
        label="Location"
        formLabel="Stock at a location"
        anyLabel="every location"
        options={(locations.data?.items ?? []).map((l) => ({
          value: l.code,
          label: l.label === l.code ? l.code : `${l.code} (${l.label})`,
        }))}
      />
      <ErrorMessage error={goodsTypes.error ?? locations.error ?? stock.find((s) => s.error)?.error} />
      {goodsTypes.isPending && <p>Loading…</p>}
      {goodsTypes.data && types.length === 0 && <p>No goods type is defined yet.</p>}
      {types.length > 0 && (
        <table>
          <caption>Goods at {place}, with the locations inside it</caption>
          <thead>
            <tr>
              <th scope="col">Goods type</th>
              <th scope="col">Present</th>
              <th scope="col">Future</th>
              <th scope="col">Reserved</th>
            </tr>
          </thead>
          <tbody>
            {types.map((type, index) => {
              const counts = stock[index]?.data;
              return (
                <tr key={type.id}>
                  <th scope="row">{type.label === type.code ? type.code : `${type.code} (${type.label})`}</th>
                  <td>{counts?.present ?? '…'}</td>
                  <td>{counts?.future ?? '…'}</td>
                  <td>{counts?.reserved ?? '…'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RequestsSection() {
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') ?? '') as RequestStatus | '';
  const cursor = params.get('cursor') ?? undefined;
  const requests = useQuery({
    queryKey: ['reservation-requests', { status, cursor }],
    queryFn: async () =>
      unwrap(
        await api.GET('/reservation-requests', {
          params: {
            query: { limit: PAGE_SIZE, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) },
          },
        }),
      ),
    refetchInterval: 5000,
  });
  const nextPage = () => {
    if (!requests.data?.nextCursor) return;
    const next = new URLSearchParams(params);
    next.set('cursor', requests.data.nextCursor);
    setParams(next);
  };

  return (
    <section aria-labelledby="requests">
      <h2 id="requests">Requests</h2>
      <SelectFilter
        name="status"
        label="Status"
        formLabel="Filter requests"
        anyLabel="any"
        options={REQUEST_STATUSES.map((s) => ({ value: s, label: s }))}
      />
      <ErrorMessage error={requests.error} />
      {requests.isPending && <p>Loading…</p>}
      {requests.data && requests.data.items.length === 0 && <p>No request matches.</p>}
      {requests.data && requests.data.items.length > 0 && (
        <table>
          <caption>
            {countOf(requests.data.items.length, 'request')}
            {status ? `, ${status}` : ''}, oldest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Request</th>
              <th scope="col">Purpose</th>
              <th scope="col">Lane</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {requests.data.items.map((request) => (
              <tr key={request.id}>
                <th scope="row">
                  {/* Whole: time-ordered ids made in the same millisecond share their first characters. */}
                  <Link to={`/reservations/requests/${request.id}`}>
                    <code>{request.id}</code>
                  </Link>
                </th>
                <td>{purposeType(request.purpose)}</td>
                <td>{request.lane}</td>
                <td>
                  <StatusBadge>{request.status}</StatusBadge>
                </td>
                <td>{formatTime(request.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {requests.data?.nextCursor && (
        <button type="button" onClick={nextPage}>
          Later requests
        </button>
      )}
    </section>
  );
}

export function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A purpose's `type` names its planner (the OpenAPI document types the purpose as any object). */
export function purposeType(purpose: object): string {
  const { type } = purpose as { type?: unknown };
  return typeof type === 'string' ? type : '';
}

import { ApiError } from './api/client';

/** An error from the API (or the network) in words, with the API's details as a list. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const title =
    error instanceof ApiError
      ? `${error.message} (${error.status} ${error.code})`
      : error instanceof Error
        ? `Could not reach Junction: ${error.message}`
        : 'Something went wrong';
  const details = error instanceof ApiError ? error.details : [];
  return (
    <div role="alert" className="error">
      <p>{title}</p>
      {details.length > 0 && (
        <ul>
          {details.map((detail) => (
            <li key={detail}>{detail}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../api/client';
import { ErrorMessage } from '../errors';
import { unwrapFields } from '../fields';
import { useTitle } from '../layout';
import { AdminsOnly, EndpointForm, ENDPOINT_FIELDS, useIsAdmin, webhookKeys } from './webhooks-common';
import type { EndpointFields } from './webhooks-common';

/** Subscribes a URL to events; the signing secret is shown here once. */
export function NewWebhookPage() {
  useTitle('New webhook endpoint');
  const admin = useIsAdmin();
  const client = useQueryClient();
  const create = useMutation({
    mutationFn: async (fields: EndpointFields) => {
      const result = await api.POST('/webhook-endpoints', {
        body: {
          url: fields.url,
          eventPatterns: fields.eventPatterns,
          // The API's defaults, which the generated types ask for.
          ordered: false,
          enabled: true,
          ...(fields.description ? { description: fields.description } : {}),
        },
      });
      return unwrapFields(result, ENDPOINT_FIELDS);
    },
    onSuccess: () => void client.invalidateQueries({ queryKey: webhookKeys.endpoints }),
  });

  if (!admin) {
    return (
      <>
        <h1>New webhook endpoint</h1>
        <AdminsOnly />
      </>
    );
  }
  const created = create.data;
  return (
    <>
      <p>
        <Link to="/webhooks">← All endpoints</Link>
      </p>
      <h1>New webhook endpoint</h1>
      {created ? (
        <section aria-labelledby="created">
          <h2 id="created">Endpoint created</h2>
          <p role="status">
            Deliveries to {created.url} are signed with this secret (Standard Webhooks). Copy it now into the
            receiver: this page shows it only once.
          </p>
          <label>
            Signing secret
            <input readOnly value={created.secret} className="secret" />
          </label>
          <p>
            <Link to={`/webhooks/${created.id}`}>Go to the endpoint</Link>
          </p>
        </section>
      ) : (
        <>
          <EndpointForm
            initial={{ url: '', eventPatterns: [], description: null }}
            submitLabel="Create endpoint"
            pending={create.isPending}
            error={create.error}
            onSubmit={(fields) => create.mutate(fields)}
          />
          <ErrorMessage error={create.error} />
        </>
      )}
    </>
  );
}

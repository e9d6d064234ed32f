import { useState } from 'react';
import type { FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { ErrorMessage } from '../errors';
import { useTitle } from '../layout';
import { useSignIn } from '../session';

/** Only paths inside the dashboard are followed after signing in. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function SignInPage() {
  useTitle('Sign in');
  const [apiKey, setApiKey] = useState('');
  const signIn = useSignIn();
  const navigate = useNavigate();
  const [params] = useSearchParams();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate(apiKey, {
      onSuccess: () => {
        setApiKey('');
        void navigate(safeNext(params.get('next')), { replace: true });
      },
    });
  };

  return (
    <main className="sign-in">
      <h1>Sign in to Junction</h1>
      <form onSubmit={submit}>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          required
          value={apiKey}
          onChange={(event) => setApiKey(event.target.value)}
        />
        <p className="hint">
          The key is exchanged for a session cookie and is not kept by the browser. Signing out ends the
          session.
        </p>
        <button type="submit" disabled={signIn.isPending}>
          Sign in
        </button>
      </form>
      <ErrorMessage error={signIn.error} />
    </main>
  );
}

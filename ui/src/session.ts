import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, unwrap } from './api/client';
import type { Session } from './api/client';

export const SESSION_KEY = ['session'] as const;

/** Who is signed in; `null` when nobody is (the API answered 401). */
export function useSession() {
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: async (): Promise<Session | null> => {
      try {
        return unwrap(await api.GET('/session'));
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

/** Exchanges the key for a session cookie. The key lives only in the form's state, never in storage. */
export function useSignIn() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (apiKey: string) => unwrap(await api.POST('/session', { body: { apiKey } })),
    onSuccess: (session) => {
      client.clear();
      client.setQueryData(SESSION_KEY, session);
    },
  });
}

export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      unwrap(await api.DELETE('/session'));
    },
    onSuccess: () => {
      client.clear();
      client.setQueryData(SESSION_KEY, null);
    },
  });
}

/** Queries and actions about the session that several pages share. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { authApi } from '../api/endpoints';
import { useAuth } from '../stores/auth';

/** How often the signed-in user is re-read, so a deactivated account's open session ends on its own. */
export const ME_REFRESH_MS = 60_000;

/** useMe reads the signed-in user and keeps the auth store's copy current. */
export function useMe() {
  const hasSession = useAuth((s) => s.session !== null);
  const setUser = useAuth((s) => s.setUser);
  return useQuery({
    queryKey: ['me'],
    enabled: hasSession,
    refetchInterval: ME_REFRESH_MS,
    queryFn: async () => {
      const user = await authApi.me();
      setUser(user);
      return user;
    },
  });
}

/** usePlatform reads the public platform facts (name, registration, user keys); absent on older servers. */
export function usePlatform() {
  return useQuery({ queryKey: ['platform'], queryFn: authApi.platform, staleTime: 300_000, retry: false });
}

/** useLogout ends the session on the server (best effort) and locally, and forgets all cached data. */
export function useLogout(): () => Promise<void> {
  const qc = useQueryClient();
  return useCallback(async () => {
    const session = useAuth.getState().session;
    if (session !== null) {
      try {
        await authApi.logout(session.refreshToken);
      } catch {
        // The local session ends anyway; the server's refresh token expires on its own.
      }
    }
    useAuth.getState().end('loggedOut');
    qc.clear();
  }, [qc]);
}

/** The one TanStack Query client of the app. */
import { QueryClient } from '@tanstack/react-query';
import { ApiError } from '../api/client';

/** retryable retries network failures and 5xx answers twice; 4xx answers are final. */
function retryable(failures: number, err: unknown): boolean {
  if (failures >= 2) return false;
  return !(err instanceof ApiError) || err.status === 0 || err.status >= 500;
}

/** newQueryClient builds a client with the app's defaults (tests build their own fresh one). */
export function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: retryable, staleTime: 15_000, refetchOnWindowFocus: true },
      mutations: { retry: false },
    },
  });
}

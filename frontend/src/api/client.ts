/**
 * The HTTP client of the web UI: same-origin requests under /api/v1 with the session's bearer token, JSON
 * errors turned into {@link ApiError}, and transparent session refresh.
 *
 * Refresh rules:
 * - A 401 on an authenticated request triggers one refresh, shared by every request that fails meanwhile
 *   (single flight), and then one retry of each request. A 401 means the server refused the request before
 *   doing anything, so retrying once is safe even for a chat send.
 * - Refresh tokens rotate and reusing an old one revokes the whole session, so tabs must not refresh at the
 *   same time: the refresh runs under a Web Lock shared by all tabs, and a tab that finds the stored refresh
 *   token already rotated by another tab adopts that session instead of refreshing again.
 * - A refused refresh (401/403) ends the session: the login page then says it expired. A network failure or a
 *   5xx during refresh does not log anyone out; the request fails with that error.
 * - There is no request timeout: model answers can take minutes (the old app's 30 s timeout cut them off).
 */
import { readStoredSession, useAuth } from '../stores/auth';
import type { ErrorBody, QuotaRefusal, TokenPair } from './types';

/** The prefix of every API path. */
export const API_BASE = '/api/v1';

/** ApiError is a non-2xx answer (or a network failure, with status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly quota?: QuotaRefusal,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Options of {@link request}: `json` becomes the body; `auth: false` sends no token and never refreshes. */
export interface RequestOptions extends Omit<RequestInit, 'body'> {
  json?: unknown;
  body?: BodyInit;
  auth?: boolean;
}

function isErrorBody(v: unknown): v is ErrorBody {
  if (typeof v !== 'object' || v === null || !('error' in v)) return false;
  const e = v.error;
  return typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string';
}

/** toApiError reads an error answer's JSON body, falling back to the status text. */
export async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's HTML page, say): use the status line.
  }
  if (isErrorBody(body)) {
    return new ApiError(res.status, body.error.code, body.error.message, body.error.quota);
  }
  return new ApiError(res.status, `http_${res.status}`, res.statusText || `HTTP ${res.status}`);
}

function buildInit(opts: RequestOptions, token: string | undefined): RequestInit {
  const { json, auth: _auth, headers, ...rest } = opts;
  const h = new Headers(headers);
  if (token !== undefined) h.set('Authorization', `Bearer ${token}`);
  const init: RequestInit = { ...rest, headers: h };
  if (json !== undefined) {
    h.set('Content-Type', 'application/json');
    init.body = JSON.stringify(json);
  }
  return init;
}

async function send(path: string, opts: RequestOptions, token: string | undefined): Promise<Response> {
  try {
    return await fetch(API_BASE + path, buildInit(opts, token));
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'network error');
  }
}

/**
 * authedFetch sends a request with the session's token and refreshes the session once on a 401. It returns
 * the raw response, whatever its status (streams need it); {@link request} is the JSON wrapper.
 */
export async function authedFetch(path: string, opts: RequestOptions = {}): Promise<Response> {
  if (opts.auth === false) return send(path, opts, undefined);
  const token = useAuth.getState().session?.accessToken;
  const res = await send(path, opts, token);
  if (res.status !== 401 || token === undefined) return res;
  const refreshed = await refreshSession(token);
  const next = useAuth.getState().session?.accessToken;
  if (!refreshed || next === undefined) return res;
  return send(path, opts, next);
}

/** request sends a JSON request and returns the decoded answer (undefined for 204). */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await authedFetch(path, opts);
  if (!res.ok) {
    const err = await toApiError(res);
    if (res.status === 401 && opts.auth !== false) useAuth.getState().end('expired');
    throw err;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

let inflight: Promise<boolean> | null = null;

/**
 * refreshSession replaces the session whose access token `stale` was refused. Concurrent callers share one
 * refresh. It resolves true when a new session is in place.
 */
export function refreshSession(stale: string): Promise<boolean> {
  if (useAuth.getState().session?.accessToken !== stale && useAuth.getState().session !== null) {
    return Promise.resolve(true);
  }
  inflight ??= withRefreshLock(doRefresh).finally(() => {
    inflight = null;
  });
  return inflight;
}

async function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  // Web Locks exist only in secure contexts (https, localhost); elsewhere tabs refresh without coordination.
  const locks: LockManager | null | undefined = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (locks == null) return fn();
  return locks.request('llmp.refresh', fn);
}

async function doRefresh(): Promise<boolean> {
  const mine = useAuth.getState().session;
  const stored = readStoredSession();
  if (stored !== null && mine !== null && stored.refreshToken !== mine.refreshToken) {
    useAuth.setState({ session: stored });
    return true;
  }
  if (mine === null) return false;
  const res = await send('/auth/refresh', { method: 'POST', json: { refresh_token: mine.refreshToken } }, undefined);
  if (res.ok) {
    useAuth.getState().login((await res.json()) as TokenPair);
    return true;
  }
  if (res.status === 400 || res.status === 401 || res.status === 403) {
    useAuth.getState().end('expired');
    return false;
  }
  throw await toApiError(res);
}

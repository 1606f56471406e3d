import { beforeEach, describe, expect, it } from 'vitest';
import { SESSION_KEY, useAuth } from '../stores/auth';
import { json, mockFetch } from '../test/helpers';
import { ApiError, request } from './client';

const pair = (n: number) => ({ access_token: `A${n}`, refresh_token: `R${n}`, token_type: 'Bearer', expires_in: 60, refresh_expires_in: 600, user: { id: 'u' } });

beforeEach(() => {
  localStorage.clear();
  useAuth.setState({ session: { accessToken: 'A1', refreshToken: 'R1' }, user: null, endReason: null });
});

describe('request', () => {
  it('sends the bearer token and decodes JSON', async () => {
    const calls = mockFetch(() => json(200, { ok: true }));
    expect(await request('/x')).toEqual({ ok: true });
    expect(calls[0]?.auth).toBe('Bearer A1');
  });

  it('turns error bodies into ApiError with code, message and status', async () => {
    mockFetch(() => json(409, { error: { code: 'username_taken', message: 'That username is taken' } }));
    const err = await request('/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: 'username_taken', message: 'That username is taken' });
  });

  it('reports a network failure as status 0', async () => {
    mockFetch(() => Promise.reject(new TypeError('Failed to fetch')));
    await expect(request('/x')).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  it('refreshes once for many concurrent 401s, then retries each request once', async () => {
    let refreshes = 0;
    const calls = mockFetch(async (c) => {
      if (c.url.endsWith('/auth/refresh')) {
        refreshes++;
        await new Promise((r) => setTimeout(r, 10));
        return json(200, pair(2));
      }
      return c.auth === 'Bearer A2' ? json(200, { url: c.url }) : json(401, { error: { code: 'unauthorized', message: 'expired' } });
    });
    const results = await Promise.all([request('/a'), request('/b'), request('/c')]);
    expect(results).toEqual([{ url: '/api/v1/a' }, { url: '/api/v1/b' }, { url: '/api/v1/c' }]);
    expect(refreshes).toBe(1);
    expect(calls.filter((c) => !c.url.endsWith('/auth/refresh'))).toHaveLength(6);
    expect(useAuth.getState().session).toEqual({ accessToken: 'A2', refreshToken: 'R2' });
    expect(JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null')).toEqual({ accessToken: 'A2', refreshToken: 'R2' });
  });

  it('ends the session as expired when the refresh is refused', async () => {
    mockFetch((c) => (c.url.endsWith('/auth/refresh') ? json(401, { error: { code: 'invalid_refresh_token', message: 'revoked' } }) : json(401, { error: { code: 'unauthorized', message: 'no' } })));
    await expect(request('/x')).rejects.toMatchObject({ status: 401 });
    expect(useAuth.getState().session).toBeNull();
    expect(useAuth.getState().endReason).toBe('expired');
    expect(localStorage.getItem(SESSION_KEY)).toBeNull();
  });

  it('keeps the session when the refresh fails for a server error', async () => {
    mockFetch((c) => (c.url.endsWith('/auth/refresh') ? json(503, { error: { code: 'not_ready', message: 'starting' } }) : json(401, { error: { code: 'unauthorized', message: 'no' } })));
    await expect(request('/x')).rejects.toMatchObject({ status: 503 });
    expect(useAuth.getState().session).toEqual({ accessToken: 'A1', refreshToken: 'R1' });
  });

  it('adopts a session another tab already rotated instead of reusing the old refresh token', async () => {
    localStorage.setItem(SESSION_KEY, JSON.stringify({ accessToken: 'A9', refreshToken: 'R9' }));
    const calls = mockFetch((c) => (c.auth === 'Bearer A9' ? json(200, { ok: 1 }) : json(401, { error: { code: 'unauthorized', message: 'no' } })));
    expect(await request('/x')).toEqual({ ok: 1 });
    expect(calls.some((c) => c.url.endsWith('/auth/refresh'))).toBe(false);
  });

  it('does not refresh for unauthenticated calls such as login', async () => {
    const calls = mockFetch(() => json(401, { error: { code: 'invalid_credentials', message: 'Wrong username or password' } }));
    await expect(request('/auth/login', { method: 'POST', json: {}, auth: false })).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.auth).toBeNull();
    expect(useAuth.getState().session).not.toBeNull();
  });
});

import { beforeEach, describe, expect, it } from 'vitest';
import { readStoredSession, SESSION_KEY, syncAcrossTabs, useAuth } from './auth';

const user = { id: 'u1', username: 'ann', email: 'a@x', display_name: '', role: 'user' as const, is_active: true, created_at: '', updated_at: '', last_login_at: null };

beforeEach(() => {
  localStorage.clear();
  useAuth.setState({ session: null, user: null, endReason: null });
});

describe('auth store', () => {
  it('login keeps the tokens in memory and localStorage, with the user', () => {
    useAuth.getState().login({ access_token: 'A', refresh_token: 'R', token_type: 'Bearer', expires_in: 1, refresh_expires_in: 2, user });
    expect(useAuth.getState().session).toEqual({ accessToken: 'A', refreshToken: 'R' });
    expect(useAuth.getState().user?.username).toBe('ann');
    expect(readStoredSession()).toEqual({ accessToken: 'A', refreshToken: 'R' });
  });

  it('end forgets everything and remembers why', () => {
    useAuth.getState().login({ access_token: 'A', refresh_token: 'R', token_type: 'Bearer', expires_in: 1, refresh_expires_in: 2, user });
    useAuth.getState().end('expired');
    expect(useAuth.getState()).toMatchObject({ session: null, user: null, endReason: 'expired' });
    expect(localStorage.getItem(SESSION_KEY)).toBeNull();
  });

  it('ignores malformed stored sessions', () => {
    localStorage.setItem(SESSION_KEY, '{"accessToken":1}');
    expect(readStoredSession()).toBeNull();
    localStorage.setItem(SESSION_KEY, 'not json');
    expect(readStoredSession()).toBeNull();
  });

  it('follows a logout and a refresh made in another tab', () => {
    const stop = syncAcrossTabs();
    useAuth.setState({ session: { accessToken: 'A', refreshToken: 'R' } });
    localStorage.setItem(SESSION_KEY, JSON.stringify({ accessToken: 'A2', refreshToken: 'R2' }));
    window.dispatchEvent(new StorageEvent('storage', { key: SESSION_KEY }));
    expect(useAuth.getState().session).toEqual({ accessToken: 'A2', refreshToken: 'R2' });
    localStorage.removeItem(SESSION_KEY);
    window.dispatchEvent(new StorageEvent('storage', { key: SESSION_KEY }));
    expect(useAuth.getState()).toMatchObject({ session: null, endReason: 'loggedOut' });
    stop();
  });
});

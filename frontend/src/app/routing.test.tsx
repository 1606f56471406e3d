import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { beforeEach, describe, expect, it } from 'vitest';
import { useAuth } from '../stores/auth';
import { json, mockFetch } from '../test/helpers';
import { routes } from './router';

const alice = { id: 'u1', username: 'alice', email: 'a@example.com', display_name: 'Alice', role: 'user', is_active: true, created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z', last_login_at: null };
const info = { platform: 'Acme AI', registration: 'Open', user_keys_allowed: true, version: 'test' };

function renderApp(path: string) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  render(
    <QueryClientProvider client={qc}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

beforeEach(() => {
  localStorage.clear();
  useAuth.setState({ session: null, user: null, endReason: null });
});

describe('routing and sessions', () => {
  it('sends a visitor without a session to log in, and back to the page asked for after', async () => {
    const calls = mockFetch((c) => {
      if (c.url === '/api/v1/info') return json(200, info);
      if (c.url === '/api/v1/auth/login') return json(200, { access_token: 'A', refresh_token: 'R', token_type: 'Bearer', expires_in: 60, refresh_expires_in: 600, user: alice });
      if (c.url === '/api/v1/auth/me') return json(200, alice);
      return json(200, { items: [] });
    });
    const router = renderApp('/settings');
    await screen.findByRole('heading', { name: 'Log in' });
    expect(router.state.location.search).toBe('?next=%2Fsettings');
    expect(await screen.findByText('Acme AI')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Username or email'), { target: { value: 'alice' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'secret-password' } });
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
    await screen.findByRole('heading', { name: 'Settings' });
    expect(router.state.location.pathname).toBe('/settings');
    expect(calls.find((c) => c.url === '/api/v1/auth/login')?.body).toEqual({ login: 'alice', password: 'secret-password' });
    expect(useAuth.getState().session).toEqual({ accessToken: 'A', refreshToken: 'R' });
  });

  it('ends a revoked session on the login page with a message', async () => {
    useAuth.setState({ session: { accessToken: 'old', refreshToken: 'revoked' } });
    mockFetch((c) => {
      if (c.url === '/api/v1/info') return json(200, info);
      if (c.url === '/api/v1/auth/refresh') return json(401, { error: { code: 'invalid_refresh_token', message: 'session revoked' } });
      return json(401, { error: { code: 'unauthorized', message: 'token expired' } });
    });
    renderApp('/chat');
    await screen.findByRole('heading', { name: 'Log in' });
    expect(screen.getByText('Your session has ended (it expired or was revoked). Please log in again.')).toBeTruthy();
    expect(localStorage.getItem('llmp.session')).toBeNull();
  });

  it('shows admin pages to admins only, and the admin menu to admins only', async () => {
    useAuth.setState({ session: { accessToken: 'A', refreshToken: 'R' } });
    mockFetch((c) => {
      if (c.url === '/api/v1/info') return json(200, info);
      if (c.url === '/api/v1/auth/me') return json(200, alice);
      return json(200, { items: [] });
    });
    renderApp('/admin/users');
    await screen.findByText('This page is for administrators.');
    expect(screen.queryByRole('link', { name: 'Audit log' })).toBeNull();
    expect(await screen.findByRole('link', { name: 'Provider keys' })).toBeTruthy();
  });

  it('switches the whole interface to Chinese', async () => {
    mockFetch(() => json(200, { ...info, registration: 'Closed' }));
    renderApp('/login');
    await screen.findByRole('heading', { name: 'Log in' });
    await waitFor(() => expect(screen.queryByRole('link', { name: 'Register' })).toBeNull());
    fireEvent.change(screen.getByRole('combobox', { name: 'Language' }), { target: { value: 'zh' } });
    expect(await screen.findByRole('heading', { name: '登录' })).toBeTruthy();
    expect(screen.getByLabelText('用户名或邮箱')).toBeTruthy();
  });
});

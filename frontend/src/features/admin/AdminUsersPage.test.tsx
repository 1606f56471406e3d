import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../../api/types';
import { useAuth } from '../../stores/auth';
import { json, mockFetch, renderWithProviders } from '../../test/helpers';
import AdminUsersPage from './AdminUsersPage';

const user = (id: string, username: string, extra: Partial<User> = {}): User => ({
  id, username, email: `${username}@example.com`, display_name: '', role: 'user', is_active: true,
  created_at: '2030-01-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z', last_login_at: null, ...extra,
});

beforeEach(() => {
  useAuth.setState({ session: { accessToken: 'A', refreshToken: 'R' }, user: user('me', 'root', { role: 'admin' }) });
});

describe('AdminUsersPage', () => {
  it('searches, deactivates and changes roles through the admin API', async () => {
    const users = [user('me', 'root', { role: 'admin' }), user('u2', 'bob')];
    const bob = (change: Partial<User>) => (users[1] = { ...user('u2', 'bob'), ...users[1], ...change });
    const calls = mockFetch((c) => {
      if (c.url.endsWith('/deactivate')) {
        return json(200, bob({ is_active: false }));
      }
      if (c.url.endsWith('/role')) {
        return json(200, bob({ role: 'admin' }));
      }
      const q = new URL(c.url, 'http://x').searchParams.get('q') ?? '';
      return json(200, { items: users.filter((u) => u.username.includes(q)) });
    });
    renderWithProviders(<AdminUsersPage />);
    const bobRow = (await screen.findByText('bob')).closest('tr') as HTMLElement;
    const rootRow = screen.getByText('root').closest('tr') as HTMLElement;
    expect(within(rootRow).getByRole<HTMLButtonElement>('button', { name: 'Deactivate' }).disabled).toBe(true);
    fireEvent.click(within(bobRow).getByRole('button', { name: 'Deactivate' }));
    await waitFor(() => expect(within(screen.getByText('bob').closest('tr') as HTMLElement).getByText('Deactivated')).toBeTruthy());
    fireEvent.change(screen.getByRole('combobox', { name: 'Role of bob' }), { target: { value: 'admin' } });
    await waitFor(() => expect(calls.some((c) => c.url === '/api/v1/admin/users/u2/role')).toBe(true));
    expect(calls.find((c) => c.url.endsWith('/role'))?.body).toEqual({ role: 'admin' });
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search username, email or name' }), { target: { value: 'bo' } });
    await waitFor(() => expect(screen.queryByText('root')).toBeNull());
    expect(calls.some((c) => c.url.includes('q=bo'))).toBe(true);
  });

  it('creates an account from the dialog', async () => {
    const calls = mockFetch((c) => (c.method === 'POST' ? json(201, user('u3', 'carol')) : json(200, { items: [] })));
    renderWithProviders(<AdminUsersPage />);
    fireEvent.click(await screen.findByRole('button', { name: 'Create user' }));
    const dialog = screen.getByRole('dialog', { name: 'Create user' });
    fireEvent.change(within(dialog).getByLabelText(/^Username/), { target: { value: 'carol' } });
    fireEvent.change(within(dialog).getByLabelText('Email'), { target: { value: 'carol@example.com' } });
    fireEvent.change(within(dialog).getByLabelText(/^Password/), { target: { value: 'carol-password-1' } });
    fireEvent.change(within(dialog).getByLabelText('Role'), { target: { value: 'admin' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create user' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(calls.find((c) => c.method === 'POST')).toMatchObject({
      url: '/api/v1/admin/users',
      body: { username: 'carol', email: 'carol@example.com', password: 'carol-password-1', display_name: '', role: 'admin' },
    });
  });
});

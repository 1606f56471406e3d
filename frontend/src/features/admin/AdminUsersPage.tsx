/** Admin: users with search and filters; activate, deactivate, change role, delete. */
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type SyntheticEvent } from 'react';
import { adminApi } from '../../api/endpoints';
import type { Role, User } from '../../api/types';
import { ConfirmButton, Dialog, Empty, ErrorNote, Field, PageHeader, Spinner } from '../../components/ui';
import { locale, useT } from '../../i18n';
import { formatDateTime } from '../../lib/format';
import { useAuth } from '../../stores/auth';
import { usePrefs } from '../../stores/prefs';
import { MIN_PASSWORD } from '../auth/RegisterPage';

/** CreateUserDialog lets an admin open an account (also when registration is closed). */
function CreateUserDialog({ onClose }: { onClose: () => void }) {
  const t = useT();
  const qc = useQueryClient();
  const [form, setForm] = useState({ username: '', email: '', display_name: '', password: '', role: 'user' as Role });
  const create = useMutation({
    mutationFn: () => adminApi.createUser({ ...form, username: form.username.trim(), email: form.email.trim(), display_name: form.display_name.trim() }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['admin-users'] });
      onClose();
    },
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Dialog title={t('admin.createUser')} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <Field label={t('auth.username')} hint={t('auth.usernameHint')}>
          <input required minLength={3} maxLength={50} autoComplete="off" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} />
        </Field>
        <Field label={t('auth.email')}>
          <input type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
        </Field>
        <Field label={t('auth.displayName')}>
          <input maxLength={100} value={form.display_name} onChange={(e) => setForm({ ...form, display_name: e.target.value })} />
        </Field>
        <Field label={t('auth.password')} hint={t('auth.passwordHint', { n: MIN_PASSWORD })}>
          <input type="password" autoComplete="new-password" required minLength={MIN_PASSWORD} value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
        </Field>
        <Field label={t('admin.role')}>
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
            <option value="user">{t('admin.roleUser')}</option>
            <option value="admin">{t('admin.roleAdmin')}</option>
          </select>
        </Field>
        {create.isError && <ErrorNote error={create.error} />}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            {t('admin.createUser')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export default function AdminUsersPage() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const me = useAuth((s) => s.user);
  const qc = useQueryClient();
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const [active, setActive] = useState<'' | 'true' | 'false'>('');
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    const id = setTimeout(() => setQ(text.trim()), 300);
    return () => clearTimeout(id);
  }, [text]);
  const users = useInfiniteQuery({
    queryKey: ['admin-users', q, active],
    initialPageParam: '',
    queryFn: ({ pageParam }) => adminApi.users({ q, active: active === '' ? undefined : active, limit: 50, cursor: pageParam }),
    getNextPageParam: (last) => last.next_cursor,
  });
  const done = () => void qc.invalidateQueries({ queryKey: ['admin-users'] });
  const act = useMutation({
    mutationFn: async ({ user, op }: { user: User; op: 'activate' | 'deactivate' | 'delete' | Role }): Promise<void> => {
      if (op === 'activate') await adminApi.activate(user.id);
      else if (op === 'deactivate') await adminApi.deactivate(user.id);
      else if (op === 'delete') await adminApi.removeUser(user.id);
      else await adminApi.setRole(user.id, op);
    },
    onSuccess: done,
  });
  const list = users.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="page">
      <PageHeader title={t('admin.users')}>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          {t('admin.createUser')}
        </button>
      </PageHeader>
      {creating && <CreateUserDialog onClose={() => setCreating(false)} />}
      <div className="filters">
        <input type="search" aria-label={t('admin.searchUsers')} placeholder={t('admin.searchUsers')} value={text} onChange={(e) => setText(e.target.value)} />
        <select aria-label={t('admin.status')} value={active} onChange={(e) => setActive(e.target.value as '' | 'true' | 'false')}>
          <option value="">{t('admin.allStatuses')}</option>
          <option value="true">{t('admin.active')}</option>
          <option value="false">{t('admin.inactive')}</option>
        </select>
      </div>
      {act.isError && <ErrorNote error={act.error} />}
      {users.isPending && <Spinner />}
      {users.isError && <ErrorNote error={users.error} onRetry={() => void users.refetch()} />}
      {users.isSuccess && list.length === 0 && <Empty>{t('admin.noUsers')}</Empty>}
      {list.length > 0 && (
        <div className="table-wrap card">
          <table>
            <thead>
              <tr>
                <th>{t('auth.username')}</th>
                <th>{t('auth.email')}</th>
                <th>{t('admin.role')}</th>
                <th>{t('admin.status')}</th>
                <th>{t('admin.lastLogin')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((u) => (
                <tr key={u.id}>
                  <td>
                    {u.username}
                    {u.display_name !== '' && <div className="muted small">{u.display_name}</div>}
                  </td>
                  <td>{u.email ?? ''}</td>
                  <td>
                    <select
                      aria-label={t('admin.roleOf', { name: u.username })}
                      value={u.role}
                      disabled={act.isPending}
                      onChange={(e) => act.mutate({ user: u, op: e.target.value as Role })}
                    >
                      <option value="user">{t('admin.roleUser')}</option>
                      <option value="admin">{t('admin.roleAdmin')}</option>
                    </select>
                  </td>
                  <td>{u.is_active ? <span className="badge badge-ok">{t('admin.active')}</span> : <span className="badge">{t('admin.inactive')}</span>}</td>
                  <td>{u.last_login_at !== null ? formatDateTime(u.last_login_at, loc) : t('common.never')}</td>
                  <td className="row-actions">
                    {u.is_active ? (
                      <button type="button" className="btn btn-small" disabled={act.isPending || u.id === me?.id} onClick={() => act.mutate({ user: u, op: 'deactivate' })}>
                        {t('admin.deactivate')}
                      </button>
                    ) : (
                      <button type="button" className="btn btn-small" disabled={act.isPending} onClick={() => act.mutate({ user: u, op: 'activate' })}>
                        {t('admin.activate')}
                      </button>
                    )}
                    <ConfirmButton
                      label={t('common.delete')}
                      confirmLabel={t('admin.deleteConfirm', { name: u.username })}
                      disabled={u.id === me?.id}
                      onConfirm={() => act.mutate({ user: u, op: 'delete' })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {users.hasNextPage && (
        <button type="button" className="btn" disabled={users.isFetchingNextPage} onClick={() => void users.fetchNextPage()}>
          {t('common.more')}
        </button>
      )}
    </div>
  );
}

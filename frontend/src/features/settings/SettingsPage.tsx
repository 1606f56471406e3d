/** Settings: profile, password, language and theme, and deleting the account. */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { authApi, profileApi } from '../../api/endpoints';
import type { User } from '../../api/types';
import { ErrorNote, Field, PageHeader } from '../../components/ui';
import { useT } from '../../i18n';
import { useAuth } from '../../stores/auth';
import { usePrefs, type Lang, type Theme } from '../../stores/prefs';
import { MIN_PASSWORD } from '../auth/RegisterPage';

export default function SettingsPage() {
  const t = useT();
  const user = useAuth((s) => s.user);
  return (
    <div className="page">
      <PageHeader title={t('settings.title')} />
      {user !== null && <Profile user={user} />}
      <Password />
      <Preferences />
      <DeleteAccount />
    </div>
  );
}

function Profile({ user }: { user: User }) {
  const t = useT();
  const qc = useQueryClient();
  const setUser = useAuth((s) => s.setUser);
  const [displayName, setDisplayName] = useState(user.display_name);
  const [email, setEmail] = useState(user.email ?? '');
  const save = useMutation({
    mutationFn: () => profileApi.update({ display_name: displayName.trim(), email: email.trim() }),
    onSuccess: (u) => {
      setUser(u);
      qc.setQueryData(['me'], u);
    },
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <section className="card">
      <h2>{t('settings.profile')}</h2>
      <form className="form" onSubmit={submit}>
        <Field label={t('auth.username')}>
          <input value={user.username} readOnly disabled />
        </Field>
        <Field label={t('auth.displayName')}>
          <input maxLength={100} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        </Field>
        <Field label={t('auth.email')}>
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </Field>
        {save.isError && <ErrorNote error={save.error} />}
        {save.isSuccess && <p className="note note-ok" role="status">{t('common.saved')}</p>}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {t('common.save')}
          </button>
        </div>
      </form>
    </section>
  );
}

function Password() {
  const t = useT();
  const [form, setForm] = useState({ current: '', next: '', confirm: '' });
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation({
    mutationFn: () => authApi.changePassword(form.current, form.next),
    onSuccess: () => setForm({ current: '', next: '', confirm: '' }),
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    const bad = form.next !== form.confirm;
    setMismatch(bad);
    if (!bad) change.mutate();
  };
  return (
    <section className="card">
      <h2>{t('settings.password')}</h2>
      <form className="form" onSubmit={submit}>
        <Field label={t('settings.currentPassword')}>
          <input type="password" autoComplete="current-password" required value={form.current} onChange={(e) => setForm({ ...form, current: e.target.value })} />
        </Field>
        <Field label={t('settings.newPassword')} hint={t('auth.passwordHint', { n: MIN_PASSWORD })}>
          <input type="password" autoComplete="new-password" required minLength={MIN_PASSWORD} value={form.next} onChange={(e) => setForm({ ...form, next: e.target.value })} />
        </Field>
        <Field label={t('auth.confirmPassword')}>
          <input type="password" autoComplete="new-password" required value={form.confirm} onChange={(e) => setForm({ ...form, confirm: e.target.value })} />
        </Field>
        {mismatch && <p className="note note-error" role="alert">{t('auth.passwordMismatch')}</p>}
        {change.isError && <ErrorNote error={change.error} />}
        {change.isSuccess && <p className="note note-ok" role="status">{t('settings.passwordChanged')}</p>}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={change.isPending}>
            {t('settings.changePassword')}
          </button>
        </div>
      </form>
    </section>
  );
}

function Preferences() {
  const t = useT();
  const { lang, theme, setLang, setTheme } = usePrefs();
  return (
    <section className="card">
      <h2>{t('settings.preferences')}</h2>
      <div className="form">
        <Field label={t('prefs.language')}>
          <select value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
            <option value="en">English</option>
            <option value="zh">中文</option>
          </select>
        </Field>
        <Field label={t('prefs.theme')}>
          <select value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
            <option value="system">{t('prefs.theme.system')}</option>
            <option value="light">{t('prefs.theme.light')}</option>
            <option value="dark">{t('prefs.theme.dark')}</option>
          </select>
        </Field>
      </div>
    </section>
  );
}

function DeleteAccount() {
  const t = useT();
  const end = useAuth((s) => s.end);
  const [password, setPassword] = useState('');
  const remove = useMutation({ mutationFn: () => profileApi.remove(password), onSuccess: () => end('deleted') });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    if (window.confirm(t('settings.deleteConfirm'))) remove.mutate();
  };
  return (
    <section className="card danger-zone">
      <h2>{t('settings.deleteAccount')}</h2>
      <p className="muted">{t('settings.deleteWarning')}</p>
      <form className="form" onSubmit={submit}>
        <Field label={t('auth.password')}>
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        {remove.isError && <ErrorNote error={remove.error} />}
        <div className="form-actions">
          <button type="submit" className="btn btn-danger" disabled={remove.isPending}>
            {t('settings.deleteAccount')}
          </button>
        </div>
      </form>
    </section>
  );
}

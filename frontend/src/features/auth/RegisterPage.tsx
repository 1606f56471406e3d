/** The registration page (when the platform's registration is open); a new account is logged in at once. */
import { useMutation } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { Link, Navigate, useNavigate } from 'react-router';
import { authApi } from '../../api/endpoints';
import { usePlatform } from '../../app/session';
import { ErrorNote, Field } from '../../components/ui';
import { useT } from '../../i18n';
import { useAuth } from '../../stores/auth';
import { AuthFrame } from './AuthFrame';

/** The password rule shown to users; the server enforces its own and its message is shown when it refuses. */
export const MIN_PASSWORD = 8;

export default function RegisterPage() {
  const t = useT();
  const navigate = useNavigate();
  const { session, login } = useAuth();
  const platform = usePlatform();
  const [form, setForm] = useState({ username: '', email: '', display_name: '', password: '', confirm: '' });
  const [mismatch, setMismatch] = useState(false);
  const mutation = useMutation({
    mutationFn: async () => {
      const input = { username: form.username.trim(), email: form.email.trim(), password: form.password };
      const name = form.display_name.trim();
      return authApi.register(name === '' ? input : { ...input, display_name: name });
    },
    onSuccess: (tokens) => {
      login(tokens);
      void navigate('/chat', { replace: true });
    },
  });
  if (session !== null && !mutation.isPending) return <Navigate to="/chat" replace />;
  if (platform.data?.registration === 'Closed') {
    return (
      <AuthFrame title={t('auth.registerTitle')}>
        <p className="note">{t('auth.registrationClosed')}</p>
        <Link to="/login">{t('auth.login')}</Link>
      </AuthFrame>
    );
  }
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    const bad = form.password !== form.confirm;
    setMismatch(bad);
    if (!bad) mutation.mutate();
  };
  return (
    <AuthFrame title={t('auth.registerTitle')}>
      <form onSubmit={submit} className="form">
        <Field label={t('auth.username')} hint={t('auth.usernameHint')}>
          <input name="username" autoComplete="username" required minLength={3} maxLength={50} pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*" value={form.username} onChange={set('username')} />
        </Field>
        <Field label={t('auth.email')}>
          <input name="email" type="email" autoComplete="email" required value={form.email} onChange={set('email')} />
        </Field>
        <Field label={t('auth.displayName')}>
          <input name="display_name" autoComplete="name" maxLength={100} value={form.display_name} onChange={set('display_name')} />
        </Field>
        <Field label={t('auth.password')} hint={t('auth.passwordHint', { n: MIN_PASSWORD })}>
          <input name="password" type="password" autoComplete="new-password" required minLength={MIN_PASSWORD} value={form.password} onChange={set('password')} />
        </Field>
        <Field label={t('auth.confirmPassword')}>
          <input name="confirm" type="password" autoComplete="new-password" required value={form.confirm} onChange={set('confirm')} />
        </Field>
        {mismatch && <p className="note note-error" role="alert">{t('auth.passwordMismatch')}</p>}
        {mutation.isError && <ErrorNote error={mutation.error} />}
        <button type="submit" className="btn btn-primary btn-block" disabled={mutation.isPending}>
          {t('auth.register')}
        </button>
      </form>
      <p className="muted center">
        {t('auth.haveAccount')} <Link to="/login">{t('auth.login')}</Link>
      </p>
    </AuthFrame>
  );
}

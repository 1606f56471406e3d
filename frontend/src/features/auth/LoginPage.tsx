/** The login page: username or email and password; says why the last session ended. */
import { useMutation } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { authApi } from '../../api/endpoints';
import { usePlatform } from '../../app/session';
import { ErrorNote, Field } from '../../components/ui';
import { useT, type MessageKey } from '../../i18n';
import { useAuth, type EndReason } from '../../stores/auth';
import { AuthFrame } from './AuthFrame';

const endMessages: Record<EndReason, MessageKey> = {
  expired: 'auth.sessionExpired',
  loggedOut: 'auth.loggedOut',
  deleted: 'auth.accountDeleted',
};

/** safeNext keeps only same-app paths, so ?next= cannot send the user to another site. */
export function safeNext(next: string | null): string {
  return next !== null && next.startsWith('/') && !next.startsWith('//') ? next : '/chat';
}

export default function LoginPage() {
  const t = useT();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const { session, endReason, login: saveSession } = useAuth();
  const platform = usePlatform();
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const mutation = useMutation({
    mutationFn: () => authApi.login(login.trim(), password),
    onSuccess: (tokens) => {
      saveSession(tokens);
      void navigate(safeNext(params.get('next')), { replace: true });
    },
  });
  if (session !== null && !mutation.isPending) return <Navigate to={safeNext(params.get('next'))} replace />;
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    mutation.mutate();
  };
  return (
    <AuthFrame title={t('auth.loginTitle')}>
      {endReason !== null && endReason !== 'loggedOut' && (
        <p className="note note-warn" role="status">{t(endMessages[endReason])}</p>
      )}
      <form onSubmit={submit} className="form">
        <Field label={t('auth.loginName')}>
          <input name="login" autoComplete="username" required value={login} onChange={(e) => setLogin(e.target.value)} />
        </Field>
        <Field label={t('auth.password')}>
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        {mutation.isError && <ErrorNote error={mutation.error} />}
        <button type="submit" className="btn btn-primary btn-block" disabled={mutation.isPending}>
          {mutation.isPending ? t('auth.loggingIn') : t('auth.login')}
        </button>
      </form>
      {platform.data?.registration !== 'Closed' && (
        <p className="muted center">
          {t('auth.noAccount')} <Link to="/register">{t('auth.register')}</Link>
        </p>
      )}
    </AuthFrame>
  );
}

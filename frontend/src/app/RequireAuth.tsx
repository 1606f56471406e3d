/** RequireAuth lets signed-in users through (admins only, when asked) and sends everyone else to log in. */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Navigate, Outlet, useLocation } from 'react-router';
import { ErrorNote, Spinner } from '../components/ui';
import { useT } from '../i18n';
import { useAuth } from '../stores/auth';
import { useMe } from './session';

export function RequireAuth() {
  const session = useAuth((s) => s.session);
  const location = useLocation();
  const me = useMe();
  const qc = useQueryClient();
  // Every page change re-checks the account, so a deactivated user's open session ends at the next click.
  useEffect(() => {
    void qc.invalidateQueries({ queryKey: ['me'] });
  }, [qc, location.pathname]);
  if (session === null) {
    const next = location.pathname + location.search;
    return <Navigate to={`/login${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`} replace />;
  }
  if (me.data === undefined) {
    return <div className="center-page">{me.isError ? <ErrorNote error={me.error} onRetry={() => void me.refetch()} /> : <Spinner />}</div>;
  }
  return <Outlet />;
}

/** RequireAdmin shows its child routes to admins only. */
export function RequireAdmin() {
  const role = useAuth((s) => s.user?.role);
  const t = useT();
  if (role !== 'admin') return <div className="page"><p className="note note-error" role="alert">{t('error.adminOnly')}</p></div>;
  return <Outlet />;
}

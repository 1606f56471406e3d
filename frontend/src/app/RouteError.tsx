/** RouteError is shown when a page fails to load or throws (for instance a stale chunk after an upgrade). */
import { useRouteError } from 'react-router';
import { useT } from '../i18n';

export function RouteError() {
  const err = useRouteError();
  const t = useT();
  return (
    <div className="center-page">
      <div className="card narrow" role="alert">
        <h1>{t('error.pageTitle')}</h1>
        <p>{err instanceof Error ? err.message : t('error.generic')}</p>
        <button type="button" className="btn btn-primary" onClick={() => window.location.reload()}>
          {t('error.reload')}
        </button>
      </div>
    </div>
  );
}

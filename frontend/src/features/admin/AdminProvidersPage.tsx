/** Admin: the platform providers' key pools and the health of each key, as the answering replica sees them. */
import { useQuery } from '@tanstack/react-query';
import { adminApi } from '../../api/endpoints';
import type { KeyHealth } from '../../api/types';
import { Empty, ErrorNote, PageHeader, Spinner } from '../../components/ui';
import { locale, useT, type MessageKey } from '../../i18n';
import { formatDateTime, formatInt, formatRelative } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';

const stateLabels: Record<KeyHealth['state'], MessageKey> = {
  Healthy: 'providers.healthy',
  CoolingDown: 'providers.coolingDown',
  Rejected: 'providers.rejected',
  Probing: 'providers.probing',
};

const stateBadge: Record<KeyHealth['state'], string> = {
  Healthy: 'badge badge-ok',
  CoolingDown: 'badge badge-warn',
  Rejected: 'badge badge-error',
  Probing: 'badge badge-warn',
};

function KeyRow({ k }: { k: KeyHealth }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  return (
    <tr>
      <td>
        <code>{k.id}</code>
      </td>
      <td>
        <span className={stateBadge[k.state]}>{t(stateLabels[k.state])}</span>
        {k.until !== null && k.state !== 'Healthy' && <div className="muted small">{t('providers.until', { time: formatRelative(k.until, loc) })}</div>}
      </td>
      <td className="num">{formatInt(k.weight, loc)}</td>
      <td className="num">{k.requests_per_minute > 0 ? formatInt(k.requests_per_minute, loc) : '–'}</td>
      <td className="num">{formatInt(k.in_flight, loc)}</td>
      <td className="num">{formatInt(k.requests, loc)}</td>
      <td className="num">{formatInt(k.failures, loc)}</td>
      <td className="small">
        {k.last_error !== '' ? `${k.last_status > 0 ? `${k.last_status} ` : ''}${k.last_error}` : '–'}
      </td>
      <td>{k.last_used_at !== null ? formatDateTime(k.last_used_at, loc) : t('common.never')}</td>
    </tr>
  );
}

export default function AdminProvidersPage() {
  const t = useT();
  const providers = useQuery({ queryKey: ['admin-providers'], queryFn: adminApi.providers, refetchInterval: 15_000 });
  return (
    <div className="page">
      <PageHeader title={t('admin.providers')} />
      <p className="muted">{t('providers.intro')}</p>
      {providers.isPending && <Spinner />}
      {providers.isError && <ErrorNote error={providers.error} onRetry={() => void providers.refetch()} />}
      {providers.isSuccess && providers.data.length === 0 && <Empty>{t('providers.none')}</Empty>}
      {providers.data?.map((p) => (
        <section className="card" key={p.name} aria-label={p.name}>
          <h2>
            {p.name} <span className="muted small">{p.type}</span>
          </h2>
          {p.keys.length === 0 ? (
            <p className="empty">{t('providers.noKeys')}</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>{t('providers.key')}</th>
                    <th>{t('providers.state')}</th>
                    <th className="num">{t('providers.weight')}</th>
                    <th className="num">{t('providers.rpm')}</th>
                    <th className="num">{t('providers.inFlight')}</th>
                    <th className="num">{t('providers.requests')}</th>
                    <th className="num">{t('providers.failures')}</th>
                    <th>{t('providers.lastError')}</th>
                    <th>{t('tokens.lastUsed')}</th>
                  </tr>
                </thead>
                <tbody>
                  {p.keys.map((k) => (
                    <KeyRow key={k.id} k={k} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      ))}
    </div>
  );
}

/** Admin: the quotas in force (from UserQuota objects), with their subjects, limits and mode. */
import { useQuery } from '@tanstack/react-query';
import { adminApi } from '../../api/endpoints';
import type { QuotaInForce } from '../../api/types';
import { Empty, ErrorNote, PageHeader, Spinner } from '../../components/ui';
import { locale, useT, type T } from '../../i18n';
import { formatInt, formatUSD } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';

/** subjectsText says whom a quota applies to. */
export function subjectsText(q: QuotaInForce, t: T): string {
  if (q.subjects.all_users === true) return t('quota.allUsers');
  if ((q.subjects.roles?.length ?? 0) > 0) return t('quota.roles', { roles: q.subjects.roles?.join(', ') ?? '' });
  return q.subjects.users?.join(', ') ?? '';
}

/** limitsText lists a quota's limits in words. */
export function limitsText(q: QuotaInForce, t: T, loc: string): string[] {
  const l = q.limits;
  const out: string[] = [];
  if (l.requests_per_minute !== undefined) out.push(`${t('quota.requestsPerMinute')}: ${formatInt(l.requests_per_minute, loc)}`);
  if (l.tokens_per_day !== undefined) out.push(`${t('quota.tokensPerDay')}: ${formatInt(l.tokens_per_day, loc)}`);
  if (l.tokens_per_month !== undefined) out.push(`${t('quota.tokensPerMonth')}: ${formatInt(l.tokens_per_month, loc)}`);
  if (l.cost_per_month !== undefined) out.push(`${t('quota.costPerMonth')}: ${formatUSD(l.cost_per_month)}`);
  if (l.max_output_tokens_per_request !== undefined) out.push(`${t('quota.maxOutput')}: ${formatInt(l.max_output_tokens_per_request, loc)}`);
  return out;
}

/** refusalsText counts this month's refusals; a Shadow quota's are the requests it would have refused. */
export function refusalsText(q: QuotaInForce, t: T, loc: string): string {
  const r = q.refusals_this_month;
  if (q.mode === 'Shadow' || r.shadow > 0) return t('admin.refusalsShadow', { n: formatInt(r.enforced, loc), shadow: formatInt(r.shadow, loc) });
  return formatInt(r.enforced, loc);
}

export default function AdminQuotasPage() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const quotas = useQuery({ queryKey: ['admin-quotas'], queryFn: adminApi.quotas });
  return (
    <div className="page">
      <PageHeader title={t('admin.quotas')} />
      <p className="muted">{t('admin.quotasIntro')}</p>
      {quotas.isPending && <Spinner />}
      {quotas.isError && <ErrorNote error={quotas.error} onRetry={() => void quotas.refetch()} />}
      {quotas.isSuccess && quotas.data.length === 0 && <Empty>{t('admin.noQuotas')}</Empty>}
      {quotas.isSuccess && quotas.data.length > 0 && (
        <div className="table-wrap card">
          <table>
            <thead>
              <tr>
                <th>{t('admin.quotaName')}</th>
                <th>{t('admin.subjects')}</th>
                <th>{t('admin.limits')}</th>
                <th>{t('admin.models')}</th>
                <th>{t('admin.mode')}</th>
                <th className="num">{t('admin.matchedUsers')}</th>
                <th className="num">{t('admin.refusals')}</th>
              </tr>
            </thead>
            <tbody>
              {quotas.data.map((q) => (
                <tr key={q.name}>
                  <td>{q.name}</td>
                  <td>{subjectsText(q, t)}</td>
                  <td>
                    {limitsText(q, t, loc).map((s) => (
                      <div key={s}>{s}</div>
                    ))}
                  </td>
                  <td>{q.allowed_models.length > 0 ? q.allowed_models.join(', ') : t('quota.anyModel')}</td>
                  <td>{q.mode === 'Shadow' ? <span className="badge">{t('quota.shadow')}</span> : t('quota.enforce')}</td>
                  <td className="num">{formatInt(q.matched_users, loc)}</td>
                  <td className="num">{refusalsText(q, t, loc)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

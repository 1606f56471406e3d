/** Admin: everyone's usage over a date range — totals, by day, by model, and the top users. */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { adminApi } from '../../api/endpoints';
import { HBars } from '../../components/charts';
import { ErrorNote, PageHeader, Spinner } from '../../components/ui';
import { locale, useT } from '../../i18n';
import { formatCompact, formatInt, formatUSD } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';
import { ByModel, DailyCharts, lastDays, RangePicker, SummaryCards, type Range } from '../usage/parts';

export default function AdminUsagePage() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const [range, setRange] = useState<Range>(() => lastDays(30));
  const report = useQuery({ queryKey: ['admin-usage', range], queryFn: () => adminApi.usage(range.from, range.to) });
  const users = [...(report.data?.by_user ?? [])].sort((a, b) => Number(b.cost_usd) - Number(a.cost_usd));
  return (
    <div className="page">
      <PageHeader title={t('admin.usage')} />
      <RangePicker value={range} onChange={setRange} />
      {report.isPending && <Spinner />}
      {report.isError && <ErrorNote error={report.error} onRetry={() => void report.refetch()} />}
      {report.data !== undefined && (
        <>
          <SummaryCards totals={report.data.summary} />
          <DailyCharts days={report.data.by_day} range={range} />
          <ByModel rows={report.data.by_model} />
          <section className="card">
            <h2>{t('admin.topUsers')}</h2>
            <HBars
              title={t('admin.topUsers')}
              rows={users.slice(0, 10).map((u) => ({ label: u.username, value: u.prompt_tokens + u.completion_tokens }))}
              format={(n) => formatCompact(n, loc)}
            />
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>{t('auth.username')}</th>
                    <th className="num">{t('usage.requests')}</th>
                    <th className="num">{t('usage.promptTokens')}</th>
                    <th className="num">{t('usage.completionTokens')}</th>
                    <th className="num">{t('usage.cost')}</th>
                  </tr>
                </thead>
                <tbody>
                  {users.map((u) => (
                    <tr key={u.user_id}>
                      <td>{u.username}</td>
                      <td className="num">{formatInt(u.requests, loc)}</td>
                      <td className="num">{formatInt(u.prompt_tokens, loc)}</td>
                      <td className="num">{formatInt(u.completion_tokens, loc)}</td>
                      <td className="num">{formatUSD(u.cost_usd)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </div>
  );
}

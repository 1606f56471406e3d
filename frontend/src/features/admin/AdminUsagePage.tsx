/** Admin: everyone's usage over a date range — totals, by day, by model, and the top users. */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { adminApi } from '../../api/endpoints';
import { HBars } from '../../components/charts';
import type { UserUsage } from '../../api/types';
import { Empty, ErrorNote, PageHeader, Spinner } from '../../components/ui';
import { locale, useT } from '../../i18n';
import { saveFile } from '../../lib/download';
import { formatCompact, formatInt, formatUSD } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';
import { ByModel, DailyCharts, lastDays, RangePicker, SummaryCards, type Range } from '../usage/parts';

export default function AdminUsagePage() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const [range, setRange] = useState<Range>(() => lastDays(30));
  const report = useQuery({ queryKey: ['admin-usage', range], queryFn: () => adminApi.usage(range.from, range.to), placeholderData: (prev) => prev });
  const csv = useMutation({
    mutationFn: async () => {
      const file = await adminApi.usageCSV(range.from, range.to);
      saveFile(file.blob, file.filename ?? `usage-all-${range.from}-${range.to}.csv`);
    },
  });
  // The server lists the heaviest users first (cost, then tokens).
  const users = report.data?.by_user ?? [];
  const userName = (u: UserUsage) => (u.username === '' ? t('admin.deletedUser') : u.username);
  return (
    <div className="page">
      <PageHeader title={t('admin.usage')}>
        <button type="button" className="btn" disabled={csv.isPending} onClick={() => csv.mutate()}>
          {t('usage.csv')}
        </button>
      </PageHeader>
      {csv.isError && <ErrorNote error={csv.error} />}
      <RangePicker value={range} onChange={setRange} />
      {report.isPending && <Spinner />}
      {report.isError && <ErrorNote error={report.error} onRetry={() => void report.refetch()} />}
      {report.data !== undefined && (
        <div aria-busy={report.isFetching}>
          <p className="muted small">{t('usage.timezone', { tz: report.data.timezone })}</p>
          <SummaryCards totals={report.data.summary} />
          <DailyCharts days={report.data.by_day} />
          <ByModel rows={report.data.by_model} />
          <section className="card">
            <h2>{t('admin.topUsers')}</h2>
            {users.length === 0 && <Empty>{t('usage.none')}</Empty>}
            <HBars
              title={t('admin.topUsers')}
              rows={users.slice(0, 10).map((u) => ({ label: userName(u), value: u.total_tokens }))}
              format={(n) => formatCompact(n, loc)}
            />
            {users.length > 0 && (
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
                        <td>{userName(u)}</td>
                        <td className="num">{formatInt(u.requests, loc)}</td>
                        <td className="num">{formatInt(u.prompt_tokens, loc)}</td>
                        <td className="num">{formatInt(u.completion_tokens, loc)}</td>
                        <td className="num">{formatUSD(u.cost_usd)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </div>
      )}
    </div>
  );
}

/** My usage: totals, tokens and cost by day and by model, quota bars with reset times, CSV download. */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { usageApi } from '../../api/endpoints';
import type { QuotaLimitName, QuotaWindow } from '../../api/types';
import { QuotaBar } from '../../components/charts';
import { Empty, ErrorNote, PageHeader, Spinner } from '../../components/ui';
import { locale, useT, type MessageKey, type T } from '../../i18n';
import { saveFile } from '../../lib/download';
import { formatDateTime, formatInt, formatUSD } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';
import { ByModel, DailyCharts, lastDays, RangePicker, SummaryCards, type Range } from './parts';

/** The words for each limit a quota can set. */
export const limitLabels: Record<QuotaLimitName, MessageKey> = {
  requestsPerMinute: 'quota.requestsPerMinute',
  tokensPerDay: 'quota.tokensPerDay',
  tokensPerMonth: 'quota.tokensPerMonth',
  costPerMonth: 'quota.costPerMonth',
  maxOutputTokensPerRequest: 'quota.maxOutput',
  allowedModels: 'quota.allowedModels',
};

/** quotaDetail prints "used / limit · resets …" in the window's unit. */
export function quotaDetail(q: QuotaWindow, t: T, loc: string): string {
  const fmt = (v: string) => (q.limit === 'costPerMonth' ? formatUSD(v) : formatInt(Number(v), loc));
  return `${fmt(q.used)} / ${fmt(q.max)} · ${t('quota.resetsAt', { time: formatDateTime(q.reset_at, loc) })}`;
}

export default function UsagePage() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const [range, setRange] = useState<Range>(() => lastDays(30));
  const report = useQuery({ queryKey: ['usage', range], queryFn: () => usageApi.report(range.from, range.to) });
  const quotas = useQuery({ queryKey: ['usage-quotas'], queryFn: usageApi.quotas, refetchInterval: 60_000 });
  const csv = useMutation({
    mutationFn: async () => {
      const file = await usageApi.csv(range.from, range.to);
      saveFile(file.blob, file.filename ?? `usage-${range.from}-${range.to}.csv`);
    },
  });
  return (
    <div className="page">
      <PageHeader title={t('usage.title')}>
        <button type="button" className="btn" disabled={csv.isPending} onClick={() => csv.mutate()}>
          {t('usage.csv')}
        </button>
      </PageHeader>
      {csv.isError && <ErrorNote error={csv.error} />}
      <section className="card">
        <h2>{t('usage.quotas')}</h2>
        {quotas.isPending && <Spinner />}
        {quotas.isError && <ErrorNote error={quotas.error} onRetry={() => void quotas.refetch()} />}
        {quotas.isSuccess && quotas.data.length === 0 && <Empty>{t('usage.noQuotas')}</Empty>}
        {quotas.data?.map((q) => (
          <QuotaBar
            key={`${q.quota}/${q.limit}`}
            label={`${q.quota} · ${t(limitLabels[q.limit])}${q.mode === 'Shadow' ? ` (${t('quota.shadow')})` : ''}`}
            used={Number(q.used)}
            limit={Number(q.max)}
            detail={quotaDetail(q, t, loc)}
          />
        ))}
      </section>
      <RangePicker value={range} onChange={setRange} />
      {report.isPending && <Spinner />}
      {report.isError && <ErrorNote error={report.error} onRetry={() => void report.refetch()} />}
      {report.data !== undefined && (
        <>
          <SummaryCards totals={report.data.summary} />
          <DailyCharts days={report.data.by_day} range={range} />
          <ByModel rows={report.data.by_model} />
          <section className="card">
            <h2>{t('usage.byProvider')}</h2>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>{t('usage.provider')}</th>
                    <th className="num">{t('usage.requests')}</th>
                    <th className="num">{t('usage.promptTokens')}</th>
                    <th className="num">{t('usage.completionTokens')}</th>
                    <th className="num">{t('usage.cost')}</th>
                  </tr>
                </thead>
                <tbody>
                  {report.data.by_provider.map((p) => (
                    <tr key={p.provider}>
                      <td>{p.provider}</td>
                      <td className="num">{formatInt(p.requests, loc)}</td>
                      <td className="num">{formatInt(p.prompt_tokens, loc)}</td>
                      <td className="num">{formatInt(p.completion_tokens, loc)}</td>
                      <td className="num">{formatUSD(p.cost_usd)}</td>
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

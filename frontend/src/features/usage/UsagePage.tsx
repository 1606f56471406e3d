/** My usage: quota bars with reset times, totals, tokens and cost by day and by model, CSV download. */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { usageApi } from '../../api/endpoints';
import type { QuotaWindow, UsageByProvider } from '../../api/types';
import { QuotaBar } from '../../components/charts';
import { Empty, ErrorNote, PageHeader, Spinner } from '../../components/ui';
import { locale, useT, type T } from '../../i18n';
import { saveFile } from '../../lib/download';
import { formatInt, formatUSD } from '../../lib/format';
import { limitLabels, quotaDetail } from '../../lib/quota';
import { usePrefs } from '../../stores/prefs';
import { ByModel, DailyCharts, lastDays, RangePicker, SummaryCards, useProviderName, type Range } from './parts';

/** quotaLabel names a window: the quota, the limit, and whether it is only recorded (Shadow). */
export function quotaLabel(q: QuotaWindow, t: T): string {
  const shadow = q.mode === 'Shadow' ? ` (${t('quota.shadow')})` : '';
  return `${q.quota} · ${t(limitLabels[q.limit])}${shadow}`;
}

function Quotas() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const quotas = useQuery({ queryKey: ['usage-quotas'], queryFn: usageApi.quotas, refetchInterval: 30_000 });
  return (
    <section className="card">
      <h2>{t('usage.quotas')}</h2>
      {quotas.isPending && <Spinner />}
      {quotas.isError && <ErrorNote error={quotas.error} onRetry={() => void quotas.refetch()} />}
      {quotas.isSuccess && quotas.data.length === 0 && <Empty>{t('usage.noQuotas')}</Empty>}
      {quotas.data?.map((q) => (
        <QuotaBar key={`${q.quota}/${q.limit}`} label={quotaLabel(q, t)} used={Number(q.used)} limit={Number(q.max)} detail={quotaDetail(q, t, loc)} />
      ))}
    </section>
  );
}

function ByProvider({ rows }: { rows: UsageByProvider[] }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const name = useProviderName();
  if (rows.length === 0) return null;
  return (
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
            {rows.map((p) => (
              <tr key={p.provider}>
                <td>{name(p.provider)}</td>
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
  );
}

export default function UsagePage() {
  const t = useT();
  const [range, setRange] = useState<Range>(() => lastDays(30));
  const report = useQuery({ queryKey: ['usage', range], queryFn: () => usageApi.report(range.from, range.to), placeholderData: (prev) => prev });
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
      <Quotas />
      <RangePicker value={range} onChange={setRange} />
      {report.isPending && <Spinner />}
      {report.isError && <ErrorNote error={report.error} onRetry={() => void report.refetch()} />}
      {report.data !== undefined && (
        <div aria-busy={report.isFetching}>
          <p className="muted small">{t('usage.timezone', { tz: report.data.timezone })}</p>
          <SummaryCards totals={report.data.summary} />
          <DailyCharts days={report.data.by_day} />
          <ByModel rows={report.data.by_model} />
          <ByProvider rows={report.data.by_provider} />
        </div>
      )}
    </div>
  );
}

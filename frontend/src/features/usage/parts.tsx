/** Pieces shared by the own and the admin usage pages: date range, summary cards, charts, provider names. */
import { useQuery } from '@tanstack/react-query';
import { useCallback, useMemo } from 'react';
import { keysApi } from '../../api/endpoints';
import type { UsageByModel, UsageDay, UsageTotals } from '../../api/types';
import { usePlatform } from '../../app/session';
import { HBars, StackedBars } from '../../components/charts';
import { Field } from '../../components/ui';
import { locale, useT, type T } from '../../i18n';
import { daysAgo, formatCompact, formatInt, formatUSD, isoDate } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';

/** A date range, both ends inclusive, as YYYY-MM-DD. */
export interface Range {
  from: string;
  to: string;
}

/** lastDays is the range of the last n days, today included. */
export function lastDays(n: number, today: Date = new Date()): Range {
  return { from: daysAgo(n - 1, today), to: isoDate(today) };
}

/** The prefix of usage rows served by a user's own key ("key:<id>"). */
const OWN_KEY = 'key:';

/**
 * providerName names a usage row's provider: a platform provider as it is, a user's own key ("key:<id>") by
 * the key's name when known.
 */
export function providerName(provider: string, keyNames: ReadonlyMap<string, string>, t: T): string {
  if (!provider.startsWith(OWN_KEY)) return provider;
  const name = keyNames.get(provider.slice(OWN_KEY.length));
  return name === undefined ? t('usage.ownKey') : t('chat.ownKey', { name });
}

/** useProviderName returns {@link providerName} over the user's own keys (read only where they are allowed). */
export function useProviderName(): (provider: string) => string {
  const t = useT();
  const platform = usePlatform();
  const keys = useQuery({ queryKey: ['keys'], queryFn: keysApi.list, enabled: platform.data?.user_keys_allowed === true });
  const names = useMemo(() => new Map((keys.data ?? []).map((k) => [k.id, k.name])), [keys.data]);
  return useCallback((provider: string) => providerName(provider, names, t), [names, t]);
}

export function RangePicker({ value, onChange }: { value: Range; onChange: (r: Range) => void }) {
  const t = useT();
  return (
    <div className="range">
      {[7, 30, 90].map((n) => (
        <button key={n} type="button" className="btn btn-small" onClick={() => onChange(lastDays(n))}>
          {t('usage.lastDays', { n })}
        </button>
      ))}
      <Field label={t('usage.from')}>
        <input type="date" value={value.from} max={value.to} onChange={(e) => e.target.value !== '' && onChange({ ...value, from: e.target.value })} />
      </Field>
      <Field label={t('usage.to')}>
        <input type="date" value={value.to} min={value.from} onChange={(e) => e.target.value !== '' && onChange({ ...value, to: e.target.value })} />
      </Field>
    </div>
  );
}

export function SummaryCards({ totals }: { totals: UsageTotals }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const cards = [
    {
      label: t('usage.requests'),
      value: formatInt(totals.requests, loc),
      sub: t('usage.refusedFailed', { refused: formatInt(totals.refused, loc), failed: formatInt(totals.failed, loc) }),
    },
    {
      label: t('usage.totalTokens'),
      value: formatInt(totals.total_tokens, loc),
      sub: t('usage.inOut', { in: formatInt(totals.prompt_tokens, loc), out: formatInt(totals.completion_tokens, loc) }),
    },
    {
      label: t('usage.cachedReasoning'),
      value: `${formatInt(totals.cached_prompt_tokens, loc)} · ${formatInt(totals.reasoning_tokens, loc)}`,
      sub: t('usage.cachedReasoningHint'),
    },
    { label: t('usage.cost'), value: formatUSD(totals.cost_usd), sub: t('usage.costHint') },
  ];
  return (
    <div className="stats">
      {cards.map((c) => (
        <div className="stat card" key={c.label}>
          <span className="stat-label">{c.label}</span>
          <span className="stat-value" data-stat={c.label}>
            {c.value}
          </span>
          <span className="stat-sub">{c.sub}</span>
        </div>
      ))}
    </div>
  );
}

/** DailyCharts draws tokens (input and output stacked) and cost per day; the server sends every day. */
export function DailyCharts({ days }: { days: UsageDay[] }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  return (
    <div className="grid-2">
      <section className="card">
        <h2>{t('usage.tokensByDay')}</h2>
        <StackedBars
          title={t('usage.tokensByDay')}
          data={days.map((d) => ({ label: d.date, values: [d.prompt_tokens, d.completion_tokens] }))}
          series={[
            { name: t('usage.promptTokens'), className: 'series-a' },
            { name: t('usage.completionTokens'), className: 'series-b' },
          ]}
          format={(n) => formatCompact(n, loc)}
        />
      </section>
      <section className="card">
        <h2>{t('usage.costByDay')}</h2>
        <StackedBars
          title={t('usage.costByDay')}
          data={days.map((d) => ({ label: d.date, values: [Number(d.cost_usd)] }))}
          series={[{ name: t('usage.cost'), className: 'series-c' }]}
          format={formatUSD}
        />
      </section>
    </div>
  );
}

/** ByModel shows tokens and cost per model as bars, heaviest first. */
export function ByModel({ rows }: { rows: UsageByModel[] }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const name = useProviderName();
  const label = (r: UsageByModel) => `${name(r.provider)} / ${r.model}`;
  const byTokens = [...rows].sort((a, b) => b.total_tokens - a.total_tokens);
  const byCost = [...rows].sort((a, b) => Number(b.cost_usd) - Number(a.cost_usd));
  return (
    <div className="grid-2">
      <section className="card">
        <h2>{t('usage.tokensByModel')}</h2>
        {rows.length === 0 && <p className="empty">{t('usage.none')}</p>}
        <HBars title={t('usage.tokensByModel')} rows={byTokens.map((r) => ({ label: label(r), value: r.total_tokens }))} format={(n) => formatCompact(n, loc)} />
      </section>
      <section className="card">
        <h2>{t('usage.costByModel')}</h2>
        {rows.length === 0 && <p className="empty">{t('usage.none')}</p>}
        <HBars title={t('usage.costByModel')} rows={byCost.map((r) => ({ label: label(r), value: Number(r.cost_usd) }))} format={formatUSD} />
      </section>
    </div>
  );
}

/** Pieces shared by the own and the admin usage pages: date range, summary cards, charts. */
import type { UsageDay, UsageTotals } from '../../api/types';
import { HBars, StackedBars } from '../../components/charts';
import { Field } from '../../components/ui';
import { locale, useT } from '../../i18n';
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

/** fillDays returns one entry per day of the range, with zeros for days without usage. */
export function fillDays(days: UsageDay[], range: Range): UsageDay[] {
  const byDate = new Map(days.map((d) => [d.date, d]));
  const out: UsageDay[] = [];
  const end = new Date(`${range.to}T00:00:00`);
  for (let d = new Date(`${range.from}T00:00:00`); d <= end && out.length < 400; d.setDate(d.getDate() + 1)) {
    const key = isoDate(d);
    out.push(
      byDate.get(key) ?? { date: key, requests: 0, prompt_tokens: 0, cached_prompt_tokens: 0, completion_tokens: 0, reasoning_tokens: 0, cost_usd: '0' },
    );
  }
  return out;
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
    { label: t('usage.requests'), value: formatInt(totals.requests, loc) },
    { label: t('usage.promptTokens'), value: formatInt(totals.prompt_tokens, loc) },
    { label: t('usage.completionTokens'), value: formatInt(totals.completion_tokens, loc) },
    { label: t('usage.cost'), value: formatUSD(totals.cost_usd) },
  ];
  return (
    <div className="stats">
      {cards.map((c) => (
        <div className="stat card" key={c.label}>
          <span className="stat-label">{c.label}</span>
          <span className="stat-value">{c.value}</span>
        </div>
      ))}
    </div>
  );
}

export function DailyCharts({ days, range }: { days: UsageDay[]; range: Range }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const filled = fillDays(days, range);
  return (
    <div className="grid-2">
      <section className="card">
        <h2>{t('usage.tokensByDay')}</h2>
        <StackedBars
          title={t('usage.tokensByDay')}
          data={filled.map((d) => ({ label: d.date, values: [d.prompt_tokens, d.completion_tokens] }))}
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
          data={filled.map((d) => ({ label: d.date, values: [Number(d.cost_usd)] }))}
          series={[{ name: t('usage.cost'), className: 'series-c' }]}
          format={formatUSD}
        />
      </section>
    </div>
  );
}

/** ByModel shows tokens and cost per model as bars. */
export function ByModel({ rows }: { rows: { model: string; provider: string; prompt_tokens: number; completion_tokens: number; cost_usd: string }[] }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const sorted = [...rows].sort((a, b) => b.prompt_tokens + b.completion_tokens - (a.prompt_tokens + a.completion_tokens));
  return (
    <div className="grid-2">
      <section className="card">
        <h2>{t('usage.tokensByModel')}</h2>
        <HBars
          title={t('usage.tokensByModel')}
          rows={sorted.map((r) => ({ label: `${r.provider}/${r.model}`, value: r.prompt_tokens + r.completion_tokens }))}
          format={(n) => formatCompact(n, loc)}
        />
      </section>
      <section className="card">
        <h2>{t('usage.costByModel')}</h2>
        <HBars title={t('usage.costByModel')} rows={sorted.map((r) => ({ label: `${r.provider}/${r.model}`, value: Number(r.cost_usd) }))} format={formatUSD} />
      </section>
    </div>
  );
}

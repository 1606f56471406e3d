/**
 * Hand-written SVG charts for the usage pages (no chart library: they would cost more than the whole app).
 * Each bar carries a <title> so hovering or a screen reader tells its exact value.
 */

/** One bar of a {@link StackedBars} chart: a label and one value per series. */
export interface StackedDatum {
  label: string;
  values: number[];
}

/** A series: its name (legend) and the CSS class that colours it. */
export interface Series {
  name: string;
  className: string;
}

const W = 640;
const H = 220;
const PAD = { top: 12, right: 8, bottom: 28 };
/** The width of one character of the axis labels (11 px, tabular digits), for the room the y axis needs. */
const AXIS_CHAR_W = 7;

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  const n = v / p;
  const step = n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10;
  return step * p;
}

/** StackedBars draws vertical stacked bars, one per datum (days), with a y axis and a legend. */
export function StackedBars({ data, series, format, title }: {
  data: StackedDatum[];
  series: Series[];
  format: (n: number) => string;
  title: string;
}) {
  const totals = data.map((d) => d.values.reduce((a, b) => a + b, 0));
  const max = niceMax(Math.max(0, ...totals));
  const ticks = [0, 0.5, 1].map((f) => ({ f, label: format(max * f) }));
  const left = 12 + AXIS_CHAR_W * Math.max(...ticks.map((tk) => tk.label.length));
  const innerW = W - left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = data.length > 0 ? innerW / data.length : innerW;
  const barW = Math.max(2, Math.min(40, slot * 0.7));
  const y = (v: number) => PAD.top + innerH - (v / max) * innerH;
  const labelEvery = Math.max(1, Math.ceil(data.length / 8));
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title} preserveAspectRatio="none">
        {ticks.map(({ f, label }) => (
          <g key={f}>
            <line className="chart-grid" x1={left} x2={W - PAD.right} y1={y(max * f)} y2={y(max * f)} />
            <text className="chart-axis" x={left - 6} y={y(max * f) + 4} textAnchor="end">
              {label}
            </text>
          </g>
        ))}
        {data.map((d, i) => {
          const x = left + i * slot + (slot - barW) / 2;
          let acc = 0;
          return (
            <g key={d.label}>
              {d.values.map((v, s) => {
                const top = y(acc + v);
                const h = y(acc) - top;
                acc += v;
                const cls = series[s]?.className ?? '';
                return (
                  <rect key={s} className={cls} x={x} y={top} width={barW} height={Math.max(0, h)}>
                    <title>{`${d.label} · ${series[s]?.name ?? ''}: ${format(v)}`}</title>
                  </rect>
                );
              })}
              {i % labelEvery === 0 && (
                <text className="chart-axis" x={x + barW / 2} y={H - 8} textAnchor="middle">
                  {d.label.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        {series.map((s) => (
          <span key={s.name}>
            <i className={`swatch ${s.className}`} aria-hidden="true" /> {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** HBars draws labelled horizontal bars (models, users) sorted as given. */
export function HBars({ rows, format, title }: { rows: { label: string; value: number }[]; format: (n: number) => string; title: string }) {
  const max = Math.max(0, ...rows.map((r) => r.value)) || 1;
  return (
    <div className="hbars" role="list" aria-label={title}>
      {rows.map((r) => (
        <div className="hbar" role="listitem" key={r.label}>
          <span className="hbar-label" title={r.label}>{r.label}</span>
          <span className="hbar-track">
            <span className="hbar-fill" style={{ width: `${(r.value / max) * 100}%` }} />
          </span>
          <span className="hbar-value">{format(r.value)}</span>
        </div>
      ))}
    </div>
  );
}

/** QuotaBar shows how much of a limit is used, turning amber past 80 % and red when exhausted. */
export function QuotaBar({ label, used, limit, detail }: { label: string; used: number; limit: number; detail: string }) {
  const ratio = limit > 0 ? Math.min(1, used / limit) : 0;
  const level = ratio >= 1 ? 'full' : ratio >= 0.8 ? 'high' : 'ok';
  return (
    <div className="quota">
      <div className="quota-head">
        <span>{label}</span>
        <span>{detail}</span>
      </div>
      <div className={`quota-track quota-${level}`} role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(ratio * 100)}>
        <span style={{ width: `${ratio * 100}%` }} />
      </div>
    </div>
  );
}

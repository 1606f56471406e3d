/** Formatting of numbers, money and times for display, in the user's language. */

/** formatInt prints an integer with grouping ("12,345"). */
export function formatInt(n: number, loc: string): string {
  return new Intl.NumberFormat(loc, { maximumFractionDigits: 0 }).format(n);
}

/** formatCompact prints large counts briefly ("12.3K"). */
export function formatCompact(n: number, loc: string): string {
  return new Intl.NumberFormat(loc, { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

/**
 * formatUSD prints a decimal-string amount in dollars. Small amounts keep enough digits to be non-zero
 * ("$0.000123"); amounts of a cent and more show cents.
 */
export function formatUSD(amount: string | number): string {
  const n = typeof amount === 'number' ? amount : Number(amount);
  if (!Number.isFinite(n)) return String(amount);
  const abs = Math.abs(n);
  const digits = abs === 0 || abs >= 0.01 ? 2 : Math.min(8, 1 - Math.floor(Math.log10(abs)));
  return `$${n.toFixed(digits)}`;
}

/** formatPrice prints a per-million-token price ("$0.15/M"), or "–" when unknown. */
export function formatPrice(perMillion: string | undefined): string {
  if (perMillion === undefined || perMillion === '') return '–';
  const n = Number(perMillion);
  return Number.isFinite(n) ? `$${n}/M` : perMillion;
}

/** formatDateTime prints a timestamp in the user's locale and time zone. */
export function formatDateTime(iso: string, loc: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(loc, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** formatRelative prints how long ago (or from now) a timestamp is ("3 min ago", "in 2 h"). */
export function formatRelative(iso: string, loc: string, now: Date = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const sec = Math.round((d.getTime() - now.getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(loc, { numeric: 'auto', style: 'short' });
  const abs = Math.abs(sec);
  if (abs < 60) return rtf.format(sec, 'second');
  if (abs < 3600) return rtf.format(Math.round(sec / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(sec / 3600), 'hour');
  if (abs < 86400 * 30) return rtf.format(Math.round(sec / 86400), 'day');
  return formatDateTime(iso, loc);
}

/** isoDate returns the local calendar date of d as YYYY-MM-DD. */
export function isoDate(d: Date): string {
  const m = String(d.getMonth() + 1).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, '0');
  return `${d.getFullYear()}-${m}-${day}`;
}

/** daysAgo returns the local date n days before today as YYYY-MM-DD. */
export function daysAgo(n: number, today: Date = new Date()): string {
  const d = new Date(today);
  d.setDate(d.getDate() - n);
  return isoDate(d);
}

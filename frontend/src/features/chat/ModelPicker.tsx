/** The model picker: models grouped by provider, each with its price per million tokens. */
import type { ModelInfo } from '../../api/types';
import { ErrorNote, Field, Spinner } from '../../components/ui';
import { locale, useT, type T } from '../../i18n';
import { formatCompact, formatPrice } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';
import { useModels } from './queries';

/** groupByProvider groups models by provider, keeping the server's order; `ownLabel` names an own key's group. */
export function groupByProvider(models: ModelInfo[], ownLabel: (provider: string) => string): [string, ModelInfo[]][] {
  const groups = new Map<string, ModelInfo[]>();
  for (const m of models) {
    const key = m.source === 'user' ? ownLabel(m.provider) : m.provider;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups.entries()];
}

/** priceLine prints a model's input and output prices per million tokens, or nothing when it has none. */
export function priceLine(m: ModelInfo, inLabel: string, outLabel: string): string {
  if (m.pricing.input === '' && m.pricing.output === '') return '';
  return `${inLabel} ${formatPrice(m.pricing.input)} · ${outLabel} ${formatPrice(m.pricing.output)}`;
}

/** modelHint describes the chosen model beyond its option's text: where it runs and its context window. */
function modelHint(m: ModelInfo, t: T, loc: string): string {
  const parts: string[] = [m.provider_type];
  if (m.context_window > 0) parts.push(t('chat.contextWindow', { n: formatCompact(m.context_window, loc) }));
  if (m.max_output_tokens > 0) parts.push(t('chat.maxOutput', { n: formatCompact(m.max_output_tokens, loc) }));
  return parts.join(' · ');
}

export function ModelPicker({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const models = useModels();
  if (models.isPending) return <Spinner />;
  if (models.isError) {
    // When the model list cannot be read, the model id can still be typed.
    return (
      <>
        <ErrorNote error={models.error} />
        <Field label={t('chat.model')} hint={t('chat.modelTypeHint')}>
          <input name="model" required value={value} onChange={(e) => onChange(e.target.value)} />
        </Field>
      </>
    );
  }
  const selected = models.data.find((m) => m.id === value);
  return (
    <Field label={t('chat.model')} hint={selected === undefined ? undefined : modelHint(selected, t, loc)}>
      <select name="model" required value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="" disabled>
          {models.data.length === 0 ? t('chat.noModels') : t('chat.pickModel')}
        </option>
        {value !== '' && selected === undefined && (
          // A conversation's model that is no longer offered (a deleted key, a removed model) stays visible.
          <option value={value}>{t('chat.modelGone', { id: value })}</option>
        )}
        {groupByProvider(models.data, (p) => t('chat.ownKey', { name: p })).map(([provider, list]) => (
          <optgroup key={provider} label={provider}>
            {list.map((m) => {
              const price = priceLine(m, t('chat.priceIn'), t('chat.priceOut'));
              return (
                <option key={m.id} value={m.id}>
                  {price === '' ? m.name : `${m.name} — ${price}`}
                </option>
              );
            })}
          </optgroup>
        ))}
      </select>
    </Field>
  );
}

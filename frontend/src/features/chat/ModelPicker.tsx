/** The model picker: models grouped by provider, each with its price per million tokens. */
import type { ModelInfo } from '../../api/types';
import { ErrorNote, Field, Spinner } from '../../components/ui';
import { useT } from '../../i18n';
import { formatPrice } from '../../lib/format';
import { useModels } from './queries';

/** groupByProvider groups models by provider, keeping the server's order inside each group. */
export function groupByProvider(models: ModelInfo[]): [string, ModelInfo[]][] {
  const groups = new Map<string, ModelInfo[]>();
  for (const m of models) {
    const key = m.source === 'user' ? `${m.provider} ★` : m.provider;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups.entries()];
}

/** priceLine prints a model's input and output prices, or nothing when it has no prices. */
export function priceLine(m: ModelInfo, inLabel: string, outLabel: string): string {
  if (m.pricing === undefined || (m.pricing.input === undefined && m.pricing.output === undefined)) return '';
  return `${inLabel} ${formatPrice(m.pricing.input)} · ${outLabel} ${formatPrice(m.pricing.output)}`;
}

export function ModelPicker({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  const t = useT();
  const models = useModels();
  if (models.isPending) return <Spinner />;
  if (models.isError) {
    // Without the model list (an older server), the model id can still be typed.
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
    <Field label={t('chat.model')} hint={selected === undefined ? undefined : priceLine(selected, t('chat.priceIn'), t('chat.priceOut'))}>
      <select name="model" required value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="" disabled>
          {models.data.length === 0 ? t('chat.noModels') : t('chat.pickModel')}
        </option>
        {groupByProvider(models.data).map(([provider, list]) => (
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

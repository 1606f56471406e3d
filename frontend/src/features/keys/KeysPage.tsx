/** My provider keys (when the platform allows them): add, edit, test and delete; the secret is never shown. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { ApiError } from '../../api/client';
import { keysApi } from '../../api/endpoints';
import type { CreateKeyInput, KeyModel, KeyTestResult, ProviderKey, ProviderType, UpdateKeyInput } from '../../api/types';
import { usePlatform } from '../../app/session';
import { ConfirmButton, Dialog, Empty, ErrorNote, Field, PageHeader, Spinner } from '../../components/ui';
import { locale, useT } from '../../i18n';
import { formatDateTime, formatPrice } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';

const providerTypes: ProviderType[] = ['OpenAI', 'Anthropic', 'Gemini', 'Ollama', 'OpenAICompatible'];

/** Types whose base URL must be given (the others have a default). */
const needsBaseURL = new Set<ProviderType>(['OpenAICompatible', 'Ollama']);
/** Types that may run without an API key. */
const keyOptional = new Set<ProviderType>(['OpenAICompatible', 'Ollama']);

/**
 * One row of the models editor: the model name, its prices per million tokens and its context window (as
 * typed), plus the settings the editor does not show, kept as they were.
 */
export interface ModelRow {
  name: string;
  input: string;
  output: string;
  contextWindow: string;
  cachedInput: string;
  maxOutputTokens: number;
}

const emptyRow: ModelRow = { name: '', input: '', output: '', contextWindow: '', cachedInput: '', maxOutputTokens: 0 };

/** rowsOf turns a key's models into editor rows. */
export function rowsOf(models: KeyModel[]): ModelRow[] {
  return models.map((m) => ({
    name: m.name,
    input: m.pricing.input,
    output: m.pricing.output,
    contextWindow: m.context_window !== undefined && m.context_window > 0 ? String(m.context_window) : '',
    cachedInput: m.pricing.cached_input,
    maxOutputTokens: m.max_output_tokens ?? 0,
  }));
}

/**
 * modelsOf turns the editor rows into the API's model list: rows without a name are dropped; prices and the
 * context window are sent only when given.
 */
export function modelsOf(rows: ModelRow[]): CreateKeyInput['models'] {
  return rows
    .filter((r) => r.name.trim() !== '')
    .map((r) => {
      const pricing: { input?: string; cached_input?: string; output?: string } = {};
      if (r.input.trim() !== '') pricing.input = r.input.trim();
      if (r.cachedInput !== '') pricing.cached_input = r.cachedInput;
      if (r.output.trim() !== '') pricing.output = r.output.trim();
      const m: { name: string; pricing?: typeof pricing; context_window?: number; max_output_tokens?: number } = { name: r.name.trim() };
      if (Object.keys(pricing).length > 0) m.pricing = pricing;
      const cw = Number(r.contextWindow);
      if (r.contextWindow.trim() !== '' && Number.isInteger(cw) && cw > 0) m.context_window = cw;
      if (r.maxOutputTokens > 0) m.max_output_tokens = r.maxOutputTokens;
      return m;
    });
}

function ModelsEditor({ rows, onChange }: { rows: ModelRow[]; onChange: (rows: ModelRow[]) => void }) {
  const t = useT();
  const set = (i: number, patch: Partial<ModelRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset className="models-editor">
      <legend className="field-label">{t('keys.models')}</legend>
      <span className="field-hint">{t('keys.modelsHint')}</span>
      {rows.map((r, i) => (
        <div className="model-row" key={i}>
          <input aria-label={t('keys.modelName', { n: i + 1 })} placeholder={t('keys.modelNamePlaceholder')} required={i === 0} maxLength={200} value={r.name} onChange={(e) => set(i, { name: e.target.value })} />
          <input aria-label={t('keys.priceInput', { n: i + 1 })} placeholder={t('keys.priceInputShort')} inputMode="decimal" pattern="[0-9]+(\.[0-9]{1,6})?" value={r.input} onChange={(e) => set(i, { input: e.target.value })} />
          <input aria-label={t('keys.priceOutput', { n: i + 1 })} placeholder={t('keys.priceOutputShort')} inputMode="decimal" pattern="[0-9]+(\.[0-9]{1,6})?" value={r.output} onChange={(e) => set(i, { output: e.target.value })} />
          <input aria-label={t('keys.contextWindow', { n: i + 1 })} placeholder={t('keys.contextWindowShort')} inputMode="numeric" pattern="[0-9]*" value={r.contextWindow} onChange={(e) => set(i, { contextWindow: e.target.value })} />
          <button type="button" className="btn btn-ghost btn-small" aria-label={t('keys.removeModel', { n: i + 1 })} disabled={rows.length === 1} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            ×
          </button>
        </div>
      ))}
      <button type="button" className="btn btn-small add-model" disabled={rows.length >= 100} onClick={() => onChange([...rows, emptyRow])}>
        + {t('keys.addModel')}
      </button>
    </fieldset>
  );
}

function KeyForm({ existing, onClose }: { existing?: ProviderKey; onClose: () => void }) {
  const t = useT();
  const qc = useQueryClient();
  const [form, setForm] = useState({
    name: existing?.name ?? '',
    provider_type: existing?.provider_type ?? 'OpenAI',
    base_url: existing?.base_url ?? '',
    api_key: '',
  });
  const [rows, setRows] = useState<ModelRow[]>(existing === undefined ? [emptyRow] : rowsOf(existing.models));
  const save = useMutation({
    mutationFn: () => {
      const models = modelsOf(rows);
      if (existing !== undefined) {
        const input: UpdateKeyInput = { name: form.name.trim(), base_url: form.base_url.trim(), models };
        if (form.api_key !== '') input.api_key = form.api_key;
        return keysApi.update(existing.id, input);
      }
      const input: CreateKeyInput = { name: form.name.trim(), provider_type: form.provider_type, models };
      if (form.base_url.trim() !== '') input.base_url = form.base_url.trim();
      if (form.api_key !== '') input.api_key = form.api_key;
      return keysApi.create(input);
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['keys'] });
      void qc.invalidateQueries({ queryKey: ['models'] });
      onClose();
    },
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <Dialog title={existing === undefined ? t('keys.add') : t('keys.editTitle', { name: existing.name })} onClose={onClose} wide>
      <form className="form" onSubmit={submit}>
        <Field label={t('keys.name')}>
          <input name="name" required maxLength={100} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </Field>
        <Field label={t('keys.provider')}>
          <select name="provider_type" value={form.provider_type} disabled={existing !== undefined} onChange={(e) => setForm({ ...form, provider_type: e.target.value as ProviderType })}>
            {providerTypes.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('keys.baseURL')} hint={needsBaseURL.has(form.provider_type) ? undefined : t('keys.baseURLHint')}>
          <input name="base_url" type="url" maxLength={500} required={needsBaseURL.has(form.provider_type)} value={form.base_url} onChange={(e) => setForm({ ...form, base_url: e.target.value })} />
        </Field>
        <Field label={t('keys.secret')} hint={existing === undefined ? (keyOptional.has(form.provider_type) ? t('keys.secretOptional') : undefined) : t('keys.secretKeep')}>
          <input
            name="api_key"
            type="password"
            autoComplete="off"
            maxLength={1000}
            required={existing === undefined && !keyOptional.has(form.provider_type)}
            value={form.api_key}
            onChange={(e) => setForm({ ...form, api_key: e.target.value })}
          />
        </Field>
        <ModelsEditor rows={rows} onChange={setRows} />
        {save.isError && <ErrorNote error={save.error} />}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {t('common.save')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** TestResult says whether a key works and which models the provider offers it. */
function TestResult({ result }: { result: KeyTestResult }) {
  const t = useT();
  if (!result.ok) {
    return (
      <div className="note note-error" role="status">
        {result.message ?? t('keys.testFailed')}
      </div>
    );
  }
  const offered = result.models ?? [];
  return (
    <div className="note note-ok" role="status">
      <span>
        {t('keys.testOk')}
        {offered.length > 0 && ` ${t('keys.offered', { models: offered.slice(0, 12).join(', ') + (offered.length > 12 ? ' …' : '') })}`}
      </span>
    </div>
  );
}

/** modelsText lists a key's models with their prices. */
function modelsText(k: ProviderKey): string {
  return k.models
    .map((m) => (m.pricing.input === '' && m.pricing.output === '' ? m.name : `${m.name} (${formatPrice(m.pricing.input)} / ${formatPrice(m.pricing.output)})`))
    .join(', ');
}

export default function KeysPage() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const qc = useQueryClient();
  const platform = usePlatform();
  // Ask for the keys once the platform says they are allowed (or could not say: the answer of /keys tells).
  const keys = useQuery({ queryKey: ['keys'], queryFn: keysApi.list, enabled: platform.isSuccess ? platform.data.user_keys_allowed : platform.isError });
  const [editing, setEditing] = useState<ProviderKey | 'new' | null>(null);
  const [tests, setTests] = useState<Record<string, KeyTestResult>>({});
  const test = useMutation({
    mutationFn: async (id: string) => ({ id, result: await keysApi.test(id) }),
    onSuccess: ({ id, result }) => setTests((s) => ({ ...s, [id]: result })),
  });
  const remove = useMutation({
    mutationFn: keysApi.remove,
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['keys'] });
      void qc.invalidateQueries({ queryKey: ['models'] });
    },
  });
  const disabled = platform.data?.user_keys_allowed === false || (keys.error instanceof ApiError && keys.error.code === 'user_keys_disabled');
  if (disabled) {
    return (
      <div className="page">
        <PageHeader title={t('keys.title')} />
        <p className="note">{t('keys.notAllowed')}</p>
      </div>
    );
  }
  return (
    <div className="page">
      <PageHeader title={t('keys.title')}>
        <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
          {t('keys.add')}
        </button>
      </PageHeader>
      <p className="muted">{t('keys.intro')}</p>
      {(keys.isPending || platform.isPending) && <Spinner />}
      {keys.isError && <ErrorNote error={keys.error} onRetry={() => void keys.refetch()} />}
      {keys.isSuccess && keys.data.length === 0 && <Empty>{t('keys.none')}</Empty>}
      {keys.isSuccess && keys.data.length > 0 && (
        <div className="table-wrap card">
          <table>
            <thead>
              <tr>
                <th>{t('keys.name')}</th>
                <th>{t('keys.provider')}</th>
                <th>{t('keys.models')}</th>
                <th>{t('keys.secret')}</th>
                <th>{t('tokens.lastUsed')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => {
                const result = tests[k.id];
                return (
                  <tr key={k.id}>
                    <td>{k.name}</td>
                    <td>
                      {k.provider_type}
                      {k.base_url !== '' && <div className="muted small">{k.base_url}</div>}
                    </td>
                    <td className="small">{modelsText(k)}</td>
                    <td>{k.hint !== '' ? <code>{k.hint}</code> : <span className="muted">–</span>}</td>
                    <td>{k.last_used_at !== null ? formatDateTime(k.last_used_at, loc) : t('common.never')}</td>
                    <td className="row-actions">
                      <button type="button" className="btn btn-small" disabled={test.isPending} onClick={() => test.mutate(k.id)}>
                        {test.isPending && test.variables === k.id ? t('keys.testing') : t('keys.test')}
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => setEditing(k)}>
                        {t('keys.edit')}
                      </button>
                      <ConfirmButton label={t('common.delete')} confirmLabel={t('keys.deleteConfirm')} onConfirm={() => remove.mutate(k.id)} />
                      {result !== undefined && <TestResult result={result} />}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {[test, remove].map((m, i) => (m.isError ? <ErrorNote key={i} error={m.error} /> : null))}
      {editing !== null && <KeyForm existing={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} />}
    </div>
  );
}

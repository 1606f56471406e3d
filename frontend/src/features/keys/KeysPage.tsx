/** My provider keys (when the platform allows them): add, edit, test and delete; the secret is never shown. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { keysApi } from '../../api/endpoints';
import type { KeyTestResult, ProviderKey, ProviderKeyInput, ProviderType } from '../../api/types';
import { usePlatform } from '../../app/session';
import { ConfirmButton, Dialog, Empty, ErrorNote, Field, PageHeader, Spinner } from '../../components/ui';
import { locale, useT } from '../../i18n';
import { formatDateTime } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';

const providerTypes: ProviderType[] = ['OpenAI', 'Anthropic', 'Gemini', 'Ollama', 'OpenAICompatible'];

/** Types whose base URL must be given (the others have a default). */
const needsBaseURL = new Set<ProviderType>(['OpenAICompatible', 'Ollama']);

/** splitModels reads a comma- or line-separated model list. */
export function splitModels(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s !== '');
}

function KeyForm({ existing, onClose }: { existing?: ProviderKey; onClose: () => void }) {
  const t = useT();
  const qc = useQueryClient();
  const [form, setForm] = useState({
    name: existing?.name ?? '',
    provider_type: existing?.provider_type ?? 'OpenAI',
    base_url: existing?.base_url ?? '',
    models: existing?.models.join(', ') ?? '',
    api_key: '',
  });
  const save = useMutation({
    mutationFn: () => {
      const input: ProviderKeyInput = { name: form.name.trim(), provider_type: form.provider_type, models: splitModels(form.models) };
      if (form.base_url.trim() !== '') input.base_url = form.base_url.trim();
      if (form.api_key !== '') input.api_key = form.api_key;
      return existing === undefined ? keysApi.create(input) : keysApi.update(existing.id, input);
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
    <Dialog title={existing === undefined ? t('keys.add') : t('keys.edit')} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <Field label={t('keys.name')}>
          <input required maxLength={100} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </Field>
        <Field label={t('keys.provider')}>
          <select value={form.provider_type} disabled={existing !== undefined} onChange={(e) => setForm({ ...form, provider_type: e.target.value as ProviderType })}>
            {providerTypes.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('keys.baseURL')} hint={needsBaseURL.has(form.provider_type) ? undefined : t('keys.baseURLHint')}>
          <input type="url" required={needsBaseURL.has(form.provider_type)} value={form.base_url} onChange={(e) => setForm({ ...form, base_url: e.target.value })} />
        </Field>
        <Field label={t('keys.models')} hint={t('keys.modelsHint')}>
          <input value={form.models} onChange={(e) => setForm({ ...form, models: e.target.value })} />
        </Field>
        <Field label={t('keys.secret')} hint={existing === undefined ? undefined : t('keys.secretKeep')}>
          <input
            type="password"
            autoComplete="off"
            required={existing === undefined && form.provider_type !== 'Ollama'}
            value={form.api_key}
            onChange={(e) => setForm({ ...form, api_key: e.target.value })}
          />
        </Field>
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

export default function KeysPage() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const qc = useQueryClient();
  const platform = usePlatform();
  const keys = useQuery({ queryKey: ['keys'], queryFn: keysApi.list, enabled: platform.data?.user_keys_allowed !== false });
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
  if (platform.data?.user_keys_allowed === false) {
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
      {keys.isPending && <Spinner />}
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
                      {k.base_url !== undefined && k.base_url !== '' && <div className="muted small">{k.base_url}</div>}
                    </td>
                    <td>{k.models.join(', ')}</td>
                    <td>
                      <code>…{k.hint}</code>
                    </td>
                    <td>{k.last_used_at != null ? formatDateTime(k.last_used_at, loc) : t('common.never')}</td>
                    <td className="row-actions">
                      <button type="button" className="btn btn-small" disabled={test.isPending} onClick={() => test.mutate(k.id)}>
                        {t('keys.test')}
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => setEditing(k)}>
                        {t('keys.edit')}
                      </button>
                      <ConfirmButton label={t('common.delete')} confirmLabel={t('keys.deleteConfirm')} onConfirm={() => remove.mutate(k.id)} />
                      {result !== undefined && (
                        <div className={result.ok ? 'note note-ok' : 'note note-error'} role="status">
                          {result.ok ? t('keys.testOk') : (result.message ?? t('keys.testFailed'))}
                        </div>
                      )}
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

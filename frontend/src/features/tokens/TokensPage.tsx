/** My API tokens for /v1: create (the secret is shown once, with ready-to-paste snippets), list, revoke. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { tokensApi, v1BaseURL } from '../../api/endpoints';
import type { ApiToken, CreateTokenInput } from '../../api/types';
import { ConfirmButton, Empty, ErrorNote, Field, PageHeader, Spinner } from '../../components/ui';
import { locale, useT } from '../../i18n';
import { copyText } from '../../lib/download';
import { formatDateTime } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';
import { useModels } from '../chat/queries';

/** shellQuote wraps s in single quotes for a POSIX shell. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** curlSnippet is a streamed call of /v1/chat/completions with curl. */
export function curlSnippet(baseURL: string, token: string, model: string): string {
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello!' }], stream: true });
  return [
    `curl ${baseURL}/chat/completions \\`,
    `  -H ${shellQuote(`Authorization: Bearer ${token}`)} \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(body)}`,
  ].join('\n');
}

/** pythonSnippet is the same call with OpenAI's Python SDK. */
export function pythonSnippet(baseURL: string, token: string, model: string): string {
  return [
    'from openai import OpenAI',
    '',
    `client = OpenAI(base_url=${JSON.stringify(baseURL)}, api_key=${JSON.stringify(token)})`,
    'stream = client.chat.completions.create(',
    `    model=${JSON.stringify(model)},`,
    '    messages=[{"role": "user", "content": "Hello!"}],',
    '    stream=True,',
    ')',
    'for chunk in stream:',
    '    if chunk.choices:',
    '        print(chunk.choices[0].delta.content or "", end="", flush=True)',
  ].join('\n');
}

/** splitList reads a comma- or space-separated list. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function CodeBlock({ lang, text, label }: { lang: string; text: string; label: string }) {
  const t = useT();
  const [copied, setCopied] = useState<boolean | null>(null);
  return (
    <div className="code-block">
      <div className="code-head">
        <span>{lang}</span>
        <button type="button" className="copy-code" aria-label={`${t('common.copy')}: ${label}`} onClick={() => void copyText(text).then(setCopied)}>
          {copied === null ? t('common.copy') : copied ? t('common.copied') : t('common.copyFailed')}
        </button>
      </div>
      <pre>
        <code>{text}</code>
      </pre>
    </div>
  );
}

/** NewToken shows a token's secret, this once, with snippets that use it. */
function NewToken({ token, base, onDone }: { token: string; base: string; onDone: () => void }) {
  const t = useT();
  const models = useModels();
  const [model, setModel] = useState('');
  const chosen = model !== '' ? model : (models.data?.[0]?.id ?? 'MODEL');
  return (
    <div className="secret-once" role="status">
      <p>
        <strong>{t('tokens.copyNow')}</strong>
      </p>
      <CodeBlock lang={t('tokens.secret')} label={t('tokens.secret')} text={token} />
      {(models.data?.length ?? 0) > 0 && (
        <Field label={t('tokens.snippetModel')}>
          <select value={chosen} onChange={(e) => setModel(e.target.value)}>
            {models.data?.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id}
              </option>
            ))}
          </select>
        </Field>
      )}
      <p className="muted">{t('tokens.snippet')}</p>
      <CodeBlock lang="curl" label="curl" text={curlSnippet(base, token, chosen)} />
      <CodeBlock lang="Python (openai)" label="Python" text={pythonSnippet(base, token, chosen)} />
      <button type="button" className="btn" onClick={onDone}>
        {t('tokens.done')}
      </button>
    </div>
  );
}

function CreateToken({ base }: { base: string }) {
  const t = useT();
  const qc = useQueryClient();
  const [form, setForm] = useState({ name: '', expires: '', models: '' });
  const [created, setCreated] = useState<ApiToken | null>(null);
  const create = useMutation({
    mutationFn: () => {
      const input: CreateTokenInput = { name: form.name.trim() };
      // The chosen day is included: the token expires at the end of it, in the browser's time zone.
      if (form.expires !== '') input.expires_at = new Date(`${form.expires}T23:59:59`).toISOString();
      const models = splitList(form.models);
      if (models.length > 0) input.allowed_models = models;
      return tokensApi.create(input);
    },
    onSuccess: (tok) => {
      setCreated(tok);
      setForm({ name: '', expires: '', models: '' });
      void qc.invalidateQueries({ queryKey: ['tokens'] });
    },
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <section className="card">
      <h2>{t('tokens.create')}</h2>
      <form className="form form-wide" onSubmit={submit}>
        <div className="form-row">
          <Field label={t('tokens.name')}>
            <input name="name" required maxLength={100} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
          </Field>
          <Field label={t('tokens.expires')} hint={t('tokens.expiresHint')}>
            <input name="expires" type="date" value={form.expires} onChange={(e) => setForm({ ...form, expires: e.target.value })} />
          </Field>
          <Field label={t('tokens.allowedModels')} hint={t('tokens.allowedModelsHint')}>
            <input name="allowed_models" placeholder="openai/gpt-*" value={form.models} onChange={(e) => setForm({ ...form, models: e.target.value })} />
          </Field>
        </div>
        <div className="form-actions form-actions-start">
          <button type="submit" className="btn btn-primary" disabled={create.isPending || form.name.trim() === ''}>
            {t('tokens.create')}
          </button>
        </div>
      </form>
      {create.isError && <ErrorNote error={create.error} />}
      {created?.token !== undefined && <NewToken token={created.token} base={base} onDone={() => setCreated(null)} />}
    </section>
  );
}

/** tokenState says whether a token still works. */
function tokenState(tok: ApiToken, now: Date): 'revoked' | 'expired' | 'live' {
  if (tok.revoked_at !== null) return 'revoked';
  if (tok.expires_at !== null && new Date(tok.expires_at) <= now) return 'expired';
  return 'live';
}

export default function TokensPage() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const qc = useQueryClient();
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: tokensApi.list });
  const revoke = useMutation({ mutationFn: tokensApi.revoke, onSuccess: () => void qc.invalidateQueries({ queryKey: ['tokens'] }) });
  const base = v1BaseURL(window.location.origin);
  const now = new Date();
  return (
    <div className="page">
      <PageHeader title={t('tokens.title')} />
      <p className="muted">
        {t('tokens.intro')} <code>{base}</code>
      </p>
      <CreateToken base={base} />
      <section className="card">
        <h2>{t('tokens.list')}</h2>
        {tokens.isPending && <Spinner />}
        {tokens.isError && <ErrorNote error={tokens.error} onRetry={() => void tokens.refetch()} />}
        {tokens.isSuccess && tokens.data.length === 0 && <Empty>{t('tokens.none')}</Empty>}
        {tokens.isSuccess && tokens.data.length > 0 && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>{t('tokens.name')}</th>
                  <th>{t('tokens.prefix')}</th>
                  <th>{t('tokens.allowedModels')}</th>
                  <th>{t('common.created')}</th>
                  <th>{t('tokens.lastUsed')}</th>
                  <th>{t('tokens.expires')}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {tokens.data.map((tok) => {
                  const state = tokenState(tok, now);
                  return (
                    <tr key={tok.id} className={state !== 'live' ? 'revoked' : undefined}>
                      <td>{tok.name}</td>
                      <td>
                        <code>{tok.prefix}…</code>
                      </td>
                      <td className="small">{tok.allowed_models.length > 0 ? tok.allowed_models.join(', ') : t('tokens.anyModel')}</td>
                      <td>{formatDateTime(tok.created_at, loc)}</td>
                      <td>{tok.last_used_at !== null ? formatDateTime(tok.last_used_at, loc) : t('common.never')}</td>
                      <td>{tok.expires_at !== null ? formatDateTime(tok.expires_at, loc) : t('common.never')}</td>
                      <td>
                        {state === 'live' ? (
                          <ConfirmButton label={t('tokens.revoke')} confirmLabel={t('tokens.revokeConfirm')} onConfirm={() => revoke.mutate(tok.id)} />
                        ) : (
                          <span className="badge">{state === 'revoked' ? t('tokens.revoked') : t('tokens.expired')}</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {revoke.isError && <ErrorNote error={revoke.error} />}
      </section>
    </div>
  );
}

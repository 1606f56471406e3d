/** My API tokens for /v1: create (the secret is shown once, with a ready-to-paste snippet), list, revoke. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { tokensApi, v1BaseURL } from '../../api/endpoints';
import type { ApiToken } from '../../api/types';
import { ConfirmButton, Empty, ErrorNote, Field, PageHeader, Spinner } from '../../components/ui';
import { locale, useT } from '../../i18n';
import { copyText } from '../../lib/download';
import { formatDateTime } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';

/** snippet is a curl call of /v1/chat/completions with the token. */
export function snippet(baseURL: string, token: string, model: string): string {
  return [
    `curl ${baseURL}/chat/completions \\`,
    `  -H "Authorization: Bearer ${token}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello"}], "stream": true}'`,
  ].join('\n');
}

function Snippet({ text }: { text: string }) {
  const t = useT();
  const [copied, setCopied] = useState(false);
  return (
    <div className="code-block">
      <div className="code-head">
        <span>shell</span>
        <button type="button" className="copy-code" onClick={() => void copyText(text).then(setCopied)}>
          {copied ? t('common.copied') : t('common.copy')}
        </button>
      </div>
      <pre>
        <code>{text}</code>
      </pre>
    </div>
  );
}

export default function TokensPage() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const qc = useQueryClient();
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: tokensApi.list });
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<ApiToken | null>(null);
  const create = useMutation({
    mutationFn: () => {
      const input: { name: string; expires_at?: string } = { name: name.trim() };
      if (expires !== '') input.expires_at = new Date(`${expires}T23:59:59`).toISOString();
      return tokensApi.create(input);
    },
    onSuccess: (tok) => {
      setCreated(tok);
      setName('');
      setExpires('');
      void qc.invalidateQueries({ queryKey: ['tokens'] });
    },
  });
  const revoke = useMutation({ mutationFn: tokensApi.revoke, onSuccess: () => void qc.invalidateQueries({ queryKey: ['tokens'] }) });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const base = v1BaseURL(window.location.origin);
  return (
    <div className="page">
      <PageHeader title={t('tokens.title')} />
      <p className="muted">{t('tokens.intro', { url: base })}</p>
      <section className="card">
        <h2>{t('tokens.create')}</h2>
        <form className="inline-form wrap" onSubmit={submit}>
          <Field label={t('tokens.name')}>
            <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field label={t('tokens.expires')}>
            <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
          </Field>
          <button type="submit" className="btn btn-primary" disabled={create.isPending || name.trim() === ''}>
            {t('tokens.create')}
          </button>
        </form>
        {create.isError && <ErrorNote error={create.error} />}
        {created?.token !== undefined && (
          <div className="secret-once" role="status">
            <p>
              <strong>{t('tokens.copyNow')}</strong>
            </p>
            <Snippet text={created.token} />
            <p className="muted">{t('tokens.snippet')}</p>
            <Snippet text={snippet(base, created.token, 'MODEL')} />
            <button type="button" className="btn" onClick={() => setCreated(null)}>
              {t('tokens.done')}
            </button>
          </div>
        )}
      </section>
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
                  <th>{t('common.created')}</th>
                  <th>{t('tokens.lastUsed')}</th>
                  <th>{t('tokens.expires')}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {tokens.data.map((tok) => (
                  <tr key={tok.id} className={tok.revoked_at != null ? 'revoked' : undefined}>
                    <td>{tok.name}</td>
                    <td>
                      <code>{tok.prefix}…</code>
                    </td>
                    <td>{formatDateTime(tok.created_at, loc)}</td>
                    <td>{tok.last_used_at != null ? formatDateTime(tok.last_used_at, loc) : t('common.never')}</td>
                    <td>{tok.expires_at != null ? formatDateTime(tok.expires_at, loc) : t('common.never')}</td>
                    <td>
                      {tok.revoked_at != null ? (
                        <span className="badge">{t('tokens.revoked')}</span>
                      ) : (
                        <ConfirmButton label={t('tokens.revoke')} confirmLabel={t('tokens.revokeConfirm')} onConfirm={() => revoke.mutate(tok.id)} />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {revoke.isError && <ErrorNote error={revoke.error} />}
      </section>
    </div>
  );
}

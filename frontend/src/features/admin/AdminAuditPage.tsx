/** Admin: the audit log, newest first, filterable by action. */
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { adminApi } from '../../api/endpoints';
import type { AuditAction } from '../../api/types';
import { Empty, ErrorNote, PageHeader, Spinner } from '../../components/ui';
import { locale, useT } from '../../i18n';
import { formatDateTime } from '../../lib/format';
import { usePrefs } from '../../stores/prefs';

/** The actions the API documents, for the filter (the compiler checks the list is complete). */
export const auditActions = [
  'user.registered',
  'user.login_failed',
  'user.login_throttled',
  'user.password_changed',
  'user.deleted_self',
  'session.refresh_reuse',
  'admin.bootstrap',
  'admin.user_created',
  'admin.user_activated',
  'admin.user_deactivated',
  'admin.user_role_changed',
  'admin.user_deleted',
] as const satisfies readonly AuditAction[];

/** Fails to compile when the document has an action the list above lacks. */
type Missing = Exclude<AuditAction, (typeof auditActions)[number]>;
export const auditActionsComplete: Missing extends never ? true : never = true;

/** detailsText prints an entry's details as "key=value" pairs. */
export function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

export default function AdminAuditPage() {
  const t = useT();
  const loc = locale(usePrefs((s) => s.lang));
  const [action, setAction] = useState<AuditAction | ''>('');
  const audit = useInfiniteQuery({
    queryKey: ['admin-audit', action],
    initialPageParam: '',
    queryFn: ({ pageParam }) => adminApi.audit({ action: action === '' ? undefined : action, limit: 50, cursor: pageParam }),
    getNextPageParam: (last) => last.next_cursor,
  });
  const entries = audit.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="page">
      <PageHeader title={t('admin.audit')} />
      <div className="filters">
        <select aria-label={t('admin.action')} value={action} onChange={(e) => setAction(e.target.value as AuditAction | '')}>
          <option value="">{t('admin.allActions')}</option>
          {auditActions.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </div>
      {audit.isPending && <Spinner />}
      {audit.isError && <ErrorNote error={audit.error} onRetry={() => void audit.refetch()} />}
      {audit.isSuccess && entries.length === 0 && <Empty>{t('admin.noAudit')}</Empty>}
      {entries.length > 0 && (
        <div className="table-wrap card">
          <table>
            <thead>
              <tr>
                <th>{t('admin.when')}</th>
                <th>{t('admin.action')}</th>
                <th>{t('admin.actor')}</th>
                <th>{t('admin.target')}</th>
                <th>{t('admin.clientIP')}</th>
                <th>{t('admin.details')}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>{formatDateTime(e.at, loc)}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{e.actor_username}</td>
                  <td>{e.target_type !== '' ? `${e.target_type} ${e.target_id}` : ''}</td>
                  <td>{e.client_ip}</td>
                  <td className="small">{detailsText(e.details)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {audit.hasNextPage && (
        <button type="button" className="btn" disabled={audit.isFetchingNextPage} onClick={() => void audit.fetchNextPage()}>
          {t('common.more')}
        </button>
      )}
    </div>
  );
}

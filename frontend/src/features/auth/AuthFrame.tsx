/** AuthFrame is the centred card around the login and register forms, with the language switch. */
import type { ReactNode } from 'react';
import { usePlatform } from '../../app/session';
import { usePrefs, type Lang } from '../../stores/prefs';
import { useT } from '../../i18n';

export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  const t = useT();
  const platform = usePlatform();
  const { lang, setLang } = usePrefs();
  return (
    <div className="center-page">
      <main className="card narrow auth-card">
        <div className="auth-brand">{platform.data?.platform ?? 'LLMPlatform'}</div>
        <h1>{title}</h1>
        {children}
        <select className="lang-select" aria-label={t('prefs.language')} value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
          <option value="en">English</option>
          <option value="zh">中文</option>
        </select>
      </main>
    </div>
  );
}

/** The signed-in frame: header with theme, language and account; navigation as a sidebar or a phone drawer. */
import { useState } from 'react';
import { NavLink, Outlet } from 'react-router';
import { useT, type MessageKey } from '../i18n';
import { useAuth } from '../stores/auth';
import { usePrefs, type Lang, type Theme } from '../stores/prefs';
import { useLogout, usePlatform } from './session';

interface NavItem {
  to: string;
  label: MessageKey;
}

const userNav: NavItem[] = [
  { to: '/chat', label: 'nav.chat' },
  { to: '/usage', label: 'nav.usage' },
  { to: '/tokens', label: 'nav.tokens' },
  { to: '/keys', label: 'nav.keys' },
  { to: '/settings', label: 'nav.settings' },
];

const adminNav: NavItem[] = [
  { to: '/admin/users', label: 'nav.adminUsers' },
  { to: '/admin/usage', label: 'nav.adminUsage' },
  { to: '/admin/quotas', label: 'nav.adminQuotas' },
  { to: '/admin/audit', label: 'nav.adminAudit' },
  { to: '/admin/providers', label: 'nav.adminProviders' },
];

/** The theme cycle of the header button. */
const nextTheme: Record<Theme, Theme> = { system: 'light', light: 'dark', dark: 'system' };

export function Layout() {
  const t = useT();
  const user = useAuth((s) => s.user);
  const { lang, theme, setLang, setTheme } = usePrefs();
  const logout = useLogout();
  const platform = usePlatform();
  const [open, setOpen] = useState(false);
  // The keys page is listed once the platform says users may bring their own keys.
  const keysAllowed = platform.data?.user_keys_allowed === true;
  const nav = userNav.filter((n) => n.to !== '/keys' || keysAllowed);
  return (
    <div className={open ? 'shell nav-open' : 'shell'}>
      <header className="topbar">
        <button type="button" className="btn btn-ghost menu-button" aria-label={t('nav.menu')} aria-expanded={open} onClick={() => setOpen(!open)}>
          ☰
        </button>
        <span className="brand">{platform.data?.platform ?? 'LLMPlatform'}</span>
        <span className="spacer" />
        <select className="lang-select" aria-label={t('prefs.language')} value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
          <option value="en">English</option>
          <option value="zh">中文</option>
        </select>
        <button type="button" className="btn btn-ghost" title={t(`prefs.theme.${theme}`)} aria-label={t(`prefs.theme.${theme}`)} onClick={() => setTheme(nextTheme[theme])}>
          {theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'}
        </button>
        <span className="user-name" title={user?.email ?? undefined}>{user?.display_name ?? user?.username}</span>
        <button type="button" className="btn btn-small" onClick={() => void logout()}>
          {t('nav.logout')}
        </button>
      </header>
      <nav className="sidebar" aria-label={t('nav.main')}>
        {nav.map((n) => (
          <NavLink key={n.to} to={n.to} className="nav-link" onClick={() => setOpen(false)}>
            {t(n.label)}
          </NavLink>
        ))}
        {user?.role === 'admin' && (
          <>
            <div className="nav-section">{t('nav.admin')}</div>
            {adminNav.map((n) => (
              <NavLink key={n.to} to={n.to} className="nav-link" onClick={() => setOpen(false)}>
                {t(n.label)}
              </NavLink>
            ))}
          </>
        )}
      </nav>
      <div className="nav-scrim" onClick={() => setOpen(false)} aria-hidden="true" />
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}

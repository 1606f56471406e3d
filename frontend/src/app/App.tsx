/** App wires the providers: query client, router, theme and language on <html>, and session following. */
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { RouterProvider } from 'react-router';
import { syncAcrossTabs, useAuth } from '../stores/auth';
import { resolveTheme, usePrefs } from '../stores/prefs';
import { newRouter } from './router';

/** useDocumentPrefs mirrors language and theme onto the <html> element, following the system theme. */
function useDocumentPrefs(): void {
  const lang = usePrefs((s) => s.lang);
  const theme = usePrefs((s) => s.theme);
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  }, [lang]);
  useEffect(() => {
    const apply = () => {
      document.documentElement.dataset.theme = resolveTheme(theme);
    };
    apply();
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    mq.addEventListener('change', apply);
    return () => mq.removeEventListener('change', apply);
  }, [theme]);
}

export function App({ queryClient }: { queryClient: QueryClient }) {
  const [router] = useState(newRouter);
  useDocumentPrefs();
  useEffect(() => syncAcrossTabs(), []);
  useEffect(
    () =>
      useAuth.subscribe((s, prev) => {
        if (prev.session !== null && s.session === null) queryClient.clear();
      }),
    [queryClient],
  );
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}

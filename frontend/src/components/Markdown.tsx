/** Markdown renders an assistant answer, with copy buttons on code blocks. */
import { useDeferredValue, useMemo, type MouseEvent } from 'react';
import { copyText } from '../lib/download';
import { useT } from '../i18n';
import { renderMarkdown } from './markdown';

export function Markdown({ text }: { text: string }) {
  const deferred = useDeferredValue(text);
  const t = useT();
  const copyLabel = t('common.copy');
  const html = useMemo(() => renderMarkdown(deferred, copyLabel), [deferred, copyLabel]);
  const onClick = (e: MouseEvent<HTMLDivElement>) => {
    if (!(e.target instanceof Element)) return;
    const button = e.target.closest('button[data-copy]');
    const code = button?.closest('.code-block')?.querySelector('code');
    if (!(button instanceof HTMLButtonElement) || code === null || code === undefined) return;
    void copyText(code.textContent).then((ok) => {
      button.textContent = ok ? t('common.copied') : t('common.copyFailed');
      setTimeout(() => {
        button.textContent = t('common.copy');
      }, 1500);
    });
  };
  // The HTML comes from renderMarkdown, which sanitizes it with DOMPurify.
  return <div className="markdown" onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} />;
}

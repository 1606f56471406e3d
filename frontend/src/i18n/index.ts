/**
 * A small typed translation layer: English is the source of the keys, Chinese must translate every one of
 * them (the compiler checks), and `{name}` placeholders are filled from the second argument.
 */
import { useCallback } from 'react';
import { usePrefs, type Lang } from '../stores/prefs';
import { en, type MessageKey } from './en';
import { zh } from './zh';

export type { MessageKey };

const dictionaries: Record<Lang, Record<MessageKey, string>> = { en, zh };

/** Values for a message's placeholders. */
export type Vars = Record<string, string | number>;

/** translate looks a key up in one language and fills its placeholders. */
export function translate(lang: Lang, key: MessageKey, vars?: Vars): string {
  const text = dictionaries[lang][key];
  if (vars === undefined) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** The translate function bound to the current language. */
export type T = (key: MessageKey, vars?: Vars) => string;

/** useT returns a translate function for the current language; components re-render when it changes. */
export function useT(): T {
  const lang = usePrefs((s) => s.lang);
  return useCallback((key: MessageKey, vars?: Vars) => translate(lang, key, vars), [lang]);
}

/** locale is the BCP 47 tag used for dates and numbers. */
export function locale(lang: Lang): string {
  return lang === 'zh' ? 'zh-CN' : 'en-US';
}

/** User interface preferences (language and theme), remembered in localStorage. */
import { create } from 'zustand';

export type Lang = 'en' | 'zh';
export type Theme = 'light' | 'dark' | 'system';

export interface PrefsState {
  lang: Lang;
  theme: Theme;
  setLang: (lang: Lang) => void;
  setTheme: (theme: Theme) => void;
}

const LANG_KEY = 'llmp.lang';
const THEME_KEY = 'llmp.theme';

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Preferences are a convenience; without storage they last for this tab only.
  }
}

/** initialLang is the saved language, else the browser's when it is Chinese, else English. */
export function initialLang(): Lang {
  const saved = read(LANG_KEY);
  if (saved === 'en' || saved === 'zh') return saved;
  return typeof navigator !== 'undefined' && navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

function initialTheme(): Theme {
  const saved = read(THEME_KEY);
  return saved === 'light' || saved === 'dark' ? saved : 'system';
}

export const usePrefs = create<PrefsState>((set) => ({
  lang: initialLang(),
  theme: initialTheme(),
  setLang: (lang) => {
    write(LANG_KEY, lang);
    set({ lang });
  },
  setTheme: (theme) => {
    write(THEME_KEY, theme);
    set({ theme });
  },
}));

/** resolveTheme turns "system" into the browser's current scheme. */
export function resolveTheme(theme: Theme): 'light' | 'dark' {
  if (theme !== 'system') return theme;
  return typeof window !== 'undefined' && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

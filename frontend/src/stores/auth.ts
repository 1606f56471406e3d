/**
 * The session store: the current tokens and user, kept in localStorage so a reload or a second tab stays
 * logged in, and the reason the last session ended (shown on the login page).
 */
import { create } from 'zustand';
import type { TokenPair, User } from '../api/types';

/** The tokens of a logged-in session. */
export interface Session {
  accessToken: string;
  refreshToken: string;
}

/** Why the user was sent to the login page. */
export type EndReason = 'expired' | 'loggedOut' | 'deleted';

export interface AuthState {
  session: Session | null;
  user: User | null;
  endReason: EndReason | null;
  /** login stores a fresh token pair (login, register or refresh). */
  login: (tokens: TokenPair) => void;
  setUser: (user: User) => void;
  /** end forgets the session and says why. */
  end: (reason: EndReason) => void;
  clearEndReason: () => void;
}

/** The localStorage key of the session. */
export const SESSION_KEY = 'llmp.session';

/** readStoredSession returns the session saved in localStorage, or null when none (or it is malformed). */
export function readStoredSession(): Session | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    if (raw === null) return null;
    const parsed: unknown = JSON.parse(raw);
    if (isSession(parsed)) return parsed;
  } catch {
    // Malformed or inaccessible storage: treat as logged out.
  }
  return null;
}

function isSession(v: unknown): v is Session {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.accessToken === 'string' && typeof o.refreshToken === 'string';
}

function store(session: Session | null): void {
  try {
    if (session === null) localStorage.removeItem(SESSION_KEY);
    else localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  } catch {
    // Storage full or disabled: the session still lives in memory for this tab.
  }
}

export const useAuth = create<AuthState>((set) => ({
  session: readStoredSession(),
  user: null,
  endReason: null,
  login: (tokens) => {
    const session = { accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
    store(session);
    set(() => ({ session, endReason: null, user: tokens.user }));
  },
  setUser: (user) => set({ user }),
  end: (reason) => {
    store(null);
    set({ session: null, user: null, endReason: reason });
  },
  clearEndReason: () => set({ endReason: null }),
}));

/**
 * syncAcrossTabs follows logins, refreshes and logouts made in other tabs (the storage event fires only in
 * the tabs that did not write). It returns a function that stops following.
 */
export function syncAcrossTabs(): () => void {
  const onStorage = (e: StorageEvent) => {
    if (e.key !== SESSION_KEY) return;
    const session = readStoredSession();
    if (session === null) useAuth.setState({ session: null, user: null, endReason: 'loggedOut' });
    else useAuth.setState({ session });
  };
  window.addEventListener('storage', onStorage);
  return () => window.removeEventListener('storage', onStorage);
}

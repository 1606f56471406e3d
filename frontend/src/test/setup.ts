/** Runs before every test file: unmount rendered trees and restore globals after each test. */
import { cleanup } from '@testing-library/react';
import { afterEach, beforeEach, vi } from 'vitest';
import { usePrefs } from '../stores/prefs';

beforeEach(() => {
  usePrefs.setState({ lang: 'en', theme: 'light' });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

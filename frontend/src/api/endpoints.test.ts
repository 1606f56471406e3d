import { describe, expect, it } from 'vitest';
import { p, qs } from './endpoints';

describe('paths', () => {
  it('fills documented templates with encoded values', () => {
    expect(p('/conversations/{id}/messages/{message_id}', { id: 'c/1', message_id: 'm 2' })).toBe('/conversations/c%2F1/messages/m%202');
    expect(p('/models')).toBe('/models');
  });

  it('refuses a template whose value is missing', () => {
    expect(() => p('/keys/{id}')).toThrow(/no value for \{id\}/);
  });

  it('drops empty query values', () => {
    expect(qs({ from: '2030-01-01', to: '', cursor: undefined, limit: 5 })).toBe('?from=2030-01-01&limit=5');
    expect(qs({ q: '' })).toBe('');
  });
});

import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { Dialog } from './ui';

describe('Dialog', () => {
  it('moves focus in, keeps Tab inside and closes on Escape', () => {
    const onClose = vi.fn();
    render(
      <>
        <button type="button">outside</button>
        <Dialog title="Edit" onClose={onClose}>
          <input aria-label="first" />
          <button type="button">last</button>
        </Dialog>
      </>,
    );
    const first = screen.getByRole('textbox', { name: 'first' });
    const last = screen.getByRole('button', { name: 'last' });
    expect(document.activeElement).toBe(first);
    last.focus();
    fireEvent.keyDown(document, { key: 'Tab' });
    // The close button comes first in the dialog.
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Close' }));
    fireEvent.keyDown(document, { key: 'Tab', shiftKey: true });
    expect(document.activeElement).toBe(last);
    fireEvent.keyDown(document, { key: 'Escape' });
    expect(onClose).toHaveBeenCalled();
  });
});

import { fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { Composer } from './Composer';

function Harness({ busy = false, onSend, onStop = () => undefined }: { busy?: boolean; onSend: (v: string) => void; onStop?: () => void }) {
  const [v, setV] = useState('');
  return <Composer value={v} onChange={setV} busy={busy} onSend={() => onSend(v)} onStop={onStop} />;
}

describe('Composer', () => {
  it('sends on Enter and adds a line on Shift+Enter', () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    const box = screen.getByRole('textbox', { name: 'Message' });
    fireEvent.change(box, { target: { value: 'first line' } });
    fireEvent.keyDown(box, { key: 'Enter', shiftKey: true });
    expect(onSend).not.toHaveBeenCalled();
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onSend).toHaveBeenCalledWith('first line');
  });

  it('does not send while an input method is composing (Chinese input)', () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    const box = screen.getByRole('textbox', { name: 'Message' });
    fireEvent.change(box, { target: { value: 'ni hao' } });
    fireEvent.keyDown(box, { key: 'Enter', isComposing: true });
    expect(onSend).not.toHaveBeenCalled();
  });

  it('shows Stop instead of Send while an answer streams, and Enter does not send then', () => {
    const onSend = vi.fn();
    const onStop = vi.fn();
    render(<Harness busy onSend={onSend} onStop={onStop} />);
    const box = screen.getByRole('textbox', { name: 'Message' });
    fireEvent.change(box, { target: { value: 'next' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.queryByRole('button', { name: 'Send' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(onStop).toHaveBeenCalled();
  });

  it('stops the answer on Escape while it streams, and not otherwise', () => {
    const onStop = vi.fn();
    const { unmount } = render(<Harness onSend={() => undefined} onStop={onStop} />);
    fireEvent.keyDown(screen.getByRole('textbox', { name: 'Message' }), { key: 'Escape' });
    expect(onStop).not.toHaveBeenCalled();
    unmount();
    render(<Harness busy onSend={() => undefined} onStop={onStop} />);
    fireEvent.keyDown(screen.getByRole('textbox', { name: 'Message' }), { key: 'Escape' });
    expect(onStop).toHaveBeenCalledTimes(1);
  });
});

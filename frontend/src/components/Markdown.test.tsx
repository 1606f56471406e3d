// @vitest-environment jsdom
// DOMPurify needs a faithful DOM: happy-dom keeps attributes DOMPurify removes, so these tests use jsdom.
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { Markdown } from './Markdown';
import { renderMarkdown } from './markdown';

describe('renderMarkdown', () => {
  it('highlights fenced code and adds a copy button', () => {
    const html = renderMarkdown('```go\nfunc main() {}\n```', 'Copy');
    expect(html).toContain('class="hljs-keyword"');
    expect(html).toContain('data-copy="code"');
    expect(html).toContain('>go<');
  });

  it('removes scripts, event handlers and javascript: links', () => {
    const html = renderMarkdown('<script>alert(1)</script><img src=x onerror="alert(2)"> <a href="javascript:alert(3)">x</a> [y](javascript:alert(4)) <b>ok</b>');
    expect(html).not.toMatch(/<script|onerror|href="javascript:/);
    expect(html).toContain('<b>ok</b>');
  });

  it('opens links in a new tab without opener', () => {
    expect(renderMarkdown('[site](https://example.com)')).toContain('rel="noopener noreferrer"');
  });

  it('escapes code in unknown languages', () => {
    expect(renderMarkdown('```weird\n<b>x</b>\n```')).toContain('&lt;b&gt;x&lt;/b&gt;');
  });
});

describe('Markdown', () => {
  it('copies the code of a block when its button is clicked', async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    render(<Markdown text={'Run:\n\n```bash\necho hi\n```'} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Copy' }));
    expect(writeText).toHaveBeenCalledWith('echo hi');
    await waitFor(() => expect(screen.getByRole('button', { name: 'Copied' })).toBeTruthy());
  });
});

/**
 * Markdown to safe HTML: marked parses, highlight.js colours code blocks (a fixed set of common languages, so
 * the bundle stays small), and DOMPurify removes anything executable. Code blocks get a copy button whose
 * clicks are handled by the Markdown component.
 */
import DOMPurify from 'dompurify';
import { Marked, type Tokens } from 'marked';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import dockerfile from 'highlight.js/lib/languages/dockerfile';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const languages = { bash, c, cpp, css, diff, dockerfile, go, java, javascript, json, python, rust, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(languages)) hljs.registerLanguage(name, lang);
hljs.registerAliases(['sh', 'shell', 'zsh'], { languageName: 'bash' });
hljs.registerAliases(['js', 'jsx'], { languageName: 'javascript' });
hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
hljs.registerAliases(['py'], { languageName: 'python' });
hljs.registerAliases(['golang'], { languageName: 'go' });
hljs.registerAliases(['yml'], { languageName: 'yaml' });

function escapeHTML(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** highlight returns the HTML of a code block's content, coloured when the language is known. */
export function highlight(code: string, lang: string): string {
  if (lang !== '' && hljs.getLanguage(lang) !== undefined) {
    return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
  }
  return escapeHTML(code);
}

function newMarked(copyLabel: string): Marked {
  const copy = escapeHTML(copyLabel);
  return new Marked({
    gfm: true,
    breaks: false,
    renderer: {
      code(token: Tokens.Code): string {
        const lang = (token.lang ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
        const label = lang === '' ? 'text' : escapeHTML(lang);
        return `<div class="code-block"><div class="code-head"><span>${label}</span><button type="button" class="copy-code" data-copy="code">${copy}</button></div><pre><code class="hljs">${highlight(token.text, lang)}</code></pre></div>`;
      },
    },
  });
}

/** One parser per copy-button label (one per language). */
const parsers = new Map<string, Marked>();

let hooked = false;

function addLinkHook(): void {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A') {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  });
}

/** renderMarkdown turns Markdown into sanitized HTML; code blocks get a copy button labelled copyLabel. */
export function renderMarkdown(src: string, copyLabel = 'Copy'): string {
  addLinkHook();
  let parser = parsers.get(copyLabel);
  if (parser === undefined) {
    parser = newMarked(copyLabel);
    parsers.set(copyLabel, parser);
  }
  const html = parser.parse(src, { async: false });
  return DOMPurify.sanitize(html, { ADD_ATTR: ['target'] });
}

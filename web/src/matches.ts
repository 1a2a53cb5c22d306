// A search's words in a text: the query's words as the server matches them (case, accents and punctuation
// ignored, the last word also as the start of a word), and text with those words in <mark>, built as
// nodes (never HTML: the text is the server's). Recent's hits and the transcript's found line use it.

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const fold = (word: string) => word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/** The words of a search, folded as the server folds them: the last one matches the words it starts. */
export interface Words {
  whole: string[];
  prefix: string | null;
}

export function queryWords(q: string): Words {
  const words = (q.match(WORD) ?? []).map(fold).filter(Boolean);
  return { whole: words.slice(0, -1), prefix: words.at(-1) ?? null };
}

const matches = (word: string, words: Words) => {
  const folded = fold(word);
  return words.whole.includes(folded) || (words.prefix !== null && folded.startsWith(words.prefix));
};

/** `text` as nodes, each word of the search in a <mark>. */
export function marked(text: string, words: Words): Node[] {
  const nodes: Node[] = [];
  let at = 0;
  for (const m of text.matchAll(WORD)) {
    if (!matches(m[0], words)) continue;
    if (m.index > at) nodes.push(document.createTextNode(text.slice(at, m.index)));
    const mark = document.createElement('mark');
    mark.textContent = m[0];
    nodes.push(mark);
    at = m.index + m[0].length;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

/** Around the first word of the search in `text`: at most about `chars` characters, cut at spaces, "…" where cut. */
export function excerpt(text: string, words: Words, chars = 140): string {
  if (text.length <= chars) return text;
  const first = [...text.matchAll(WORD)].find((m) => matches(m[0], words))?.index ?? 0;
  let from = Math.max(0, first - Math.round(chars / 3));
  let to = Math.min(text.length, from + chars);
  if (from > 0) from = text.indexOf(' ', from) + 1 || from;
  if (to < text.length) to = text.lastIndexOf(' ', to) > from ? text.lastIndexOf(' ', to) : to;
  return `${from > 0 ? '…' : ''}${text.slice(from, to).trim()}${to < text.length ? '…' : ''}`;
}

/** Puts the search's words in `root`'s text (its text nodes, wherever they are) in <mark>; true if any was. */
export function markIn(root: Element, words: Words): boolean {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const texts: Text[] = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) texts.push(node as Text);
  let any = false;
  for (const node of texts) {
    if (node.parentElement?.closest('mark, time')) continue;
    const nodes = marked(node.data, words);
    if (nodes.some((n) => n instanceof HTMLElement)) {
      node.replaceWith(...nodes);
      any = true;
    }
  }
  return any;
}

// Times as the page shows them: m:ss (h:mm:ss past an hour), to the second, or to a tenth
// where a tenth matters (the editor's boundaries). Pure, so the edit model's tests use it too.

export function clock(seconds: number, { tenths = false } = {}): string {
  const units = tenths ? 10 : 1;
  const d = Math.max(0, Math.round(seconds * units));
  const s = Math.floor(d / units);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60).padStart(h ? 2 : 1, '0');
  return `${h ? `${h}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}${tenths ? `.${d % units}` : ''}`;
}

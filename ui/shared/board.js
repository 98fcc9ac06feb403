/* global document */
// The browser's copy of a widget's rows: a snapshot replaces it, a delta changes only the rows it names.
// Rows live in a plain Map outside Vue's reactivity (10,000 reactive rows would cost far more than the table
// ever shows); `version` is bumped once per message so the computed page is worked out again.

export function createBoard() {
  return { rows: new Map(), dropped: 0 };
}

/** Applies a snapshot or delta; true when it was one (other messages of the widget are ignored). */
export function applyToBoard(board, update) {
  if (!update || typeof update !== 'object') return false;
  if (update.kind === 'snapshot' && Array.isArray(update.items)) {
    board.rows.clear();
    for (const row of update.items) board.rows.set(row.key, row);
  } else if (update.kind === 'delta' && Array.isArray(update.upsert) && Array.isArray(update.remove)) {
    for (const row of update.upsert) board.rows.set(row.key, row);
    for (const key of update.remove) board.rows.delete(key);
  } else {
    return false;
  }
  board.dropped = typeof update.dropped === 'number' ? update.dropped : 0;
  return true;
}

/** "12 s", "5 min", "3 h", "2 d" since `ts`. */
export function since(ts, now) {
  if (typeof ts !== 'number') return '—';
  const s = Math.max(0, Math.round((now - ts) / 1000));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  if (s < 86400) return Math.floor(s / 3600) + ' h';
  return Math.floor(s / 86400) + ' d';
}

/** Adds the widget's CSS to the page once (the dashboard loads only the widget's .js). */
export function injectStyle(id, css) {
  if (typeof document === 'undefined' || document.getElementById(id)) return;
  const style = document.createElement('style');
  style.id = id;
  style.textContent = css;
  document.head.appendChild(style);
}

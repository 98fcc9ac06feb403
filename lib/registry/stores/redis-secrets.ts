/**
 * Keeps Redis credentials out of logs. A password may itself contain `@` or `:` (`redis://:p@ss@host`): the
 * user info runs to the last `@` of the authority, as the WHATWG URL parser (and so ioredis) reads it.
 */

/** The URL with its user info (and any password in the query) replaced by `***`. */
export function redactUrl(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0] ?? '';
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  const withoutUserInfo = at === -1 ? rest : `***@${rest.slice(at + 1)}`;
  return scheme + withoutUserInfo.replace(/([?&](?:password|username|user|pass)=)[^&#]*/gi, '$1***');
}

/** Every text in the URL that could be a secret or part of one: the user info, its pieces and their decoded forms. */
export function secretsOf(url: string): string[] {
  const rest = url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  const at = rest.lastIndexOf('@');
  const pieces = new Set<string>();
  const add = (text: string): void => {
    if (text.length >= 3) pieces.add(text);
    try {
      const decoded = decodeURIComponent(text);
      if (decoded.length >= 3) pieces.add(decoded);
    } catch {
      // not percent-encoded
    }
  };
  if (at !== -1) {
    const userInfo = rest.slice(0, at);
    add(userInfo);
    const colon = userInfo.indexOf(':');
    if (colon !== -1) add(userInfo.slice(colon + 1));
    for (const piece of userInfo.split(/[:@]/)) add(piece);
  }
  for (const match of url.matchAll(/[?&](?:password|username|user|pass)=([^&#]*)/gi)) add(match[1] ?? '');
  // Longest first, so that a secret is replaced whole before any piece of it.
  return [...pieces].sort((a, b) => b.length - a.length);
}

/** A scrubber for messages about this URL: the URL itself redacted, then every secret text replaced. */
export function secretScrubber(url: string): (text: string) => string {
  const secrets = secretsOf(url);
  const redacted = redactUrl(url);
  return (text) => {
    let out = text.split(url).join(redacted);
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
}

/** A URL fit for an error or a log line: its password (and a user name that may be a token) replaced. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '(an unparseable URL)';
  }
  if (url.password) url.password = '***';
  else if (url.username) url.username = '***';
  return url.toString();
}

/** Replaces every credential-bearing URL inside a message (driver errors sometimes repeat the URL they used). */
export function redactUrlsIn(message: string): string {
  return message.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s/@]*@[^\s]*/gi, (m) => redactUrl(m));
}

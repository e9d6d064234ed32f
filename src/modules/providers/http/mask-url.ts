const MASK = '***';

// Query parameter names that carry a credential, compared without case, `-`, `_` or `.`, so
// `api_key`, `apiKey` and `API-KEY` all match.
const CREDENTIAL_NAMES = new Set([
  'token',
  'accesstoken',
  'apikey',
  'key',
  'secret',
  'password',
  'signature',
  'sig',
  'clientsecret',
  'auth',
  'authorization',
]);
// Longer names ending like these (`refresh_token`, `X-Amz-Signature`, `app_secret`) are credentials too.
const CREDENTIAL_SUFFIXES = ['token', 'secret', 'password', 'signature', 'apikey', 'credential'];

/**
 * A URL fit for a log line or an error message: the userinfo password, the values of query
 * parameters named like credentials and every occurrence of `secrets` (raw or percent-encoded,
 * for a token in the path) become `***`. The rest stays as written, so the line still says which
 * resource was called.
 */
export function maskUrl(url: string | URL, secrets: readonly string[] = []): string {
  let masked = typeof url === 'string' ? url : url.href;
  // Query and userinfo by hand: URL's own serialiser would re-encode the parts left alone.
  const queryStart = masked.indexOf('?');
  if (queryStart >= 0) {
    const fragmentStart = masked.indexOf('#', queryStart);
    const queryEnd = fragmentStart >= 0 ? fragmentStart : masked.length;
    const query = masked.slice(queryStart + 1, queryEnd);
    masked = `${masked.slice(0, queryStart + 1)}${maskQuery(query)}${masked.slice(queryEnd)}`;
  }
  masked = masked.replace(/^([a-z][a-z\d+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, `$1:${MASK}@`);
  return maskSecrets(masked, secrets);
}

function maskQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 0) return pair;
      return isCredentialName(pair.slice(0, equals)) ? `${pair.slice(0, equals)}=${MASK}` : pair;
    })
    .join('&');
}

function isCredentialName(rawName: string): boolean {
  let name: string;
  try {
    name = decodeURIComponent(rawName.replace(/\+/g, ' '));
  } catch {
    name = rawName;
  }
  const normalised = name.toLowerCase().replace(/[-_.\s[\]]/g, '');
  return (
    CREDENTIAL_NAMES.has(normalised) || CREDENTIAL_SUFFIXES.some((suffix) => normalised.endsWith(suffix))
  );
}

/**
 * `text` with every occurrence of `secrets` as `***`: each secret as written, as a path segment or
 * a query value encodes it, and as a JSON string escapes it; longest first, so a secret that
 * contains another is masked whole.
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  // Most text holds none of them: looking first spares the sorting below, on every call.
  if (!secrets.some((secret) => secret.length > 0 && formsOf(secret).some((form) => text.includes(form))))
    return text;
  const forms = secrets
    .filter((secret) => secret.length > 0)
    .flatMap(formsOf)
    .sort((a, b) => b.length - a.length);
  let masked = text;
  for (const form of forms) masked = masked.replaceAll(form, MASK);
  return masked;
}

/** The forms of the secrets in use, kept: every call of a connection masks the same ones. */
const knownForms = new Map<string, string[]>();
const MAX_KNOWN_FORMS = 1000;

function formsOf(secret: string): string[] {
  let forms = knownForms.get(secret);
  if (!forms) {
    if (knownForms.size >= MAX_KNOWN_FORMS) knownForms.clear();
    // Usually one form: a token of letters and digits is written the same in all four.
    forms = [
      ...new Set([
        secret,
        encodeURIComponent(secret),
        new URLSearchParams({ s: secret }).toString().slice(2),
        JSON.stringify(secret).slice(1, -1),
      ]),
    ];
    knownForms.set(secret, forms);
  }
  return forms;
}

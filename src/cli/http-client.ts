/** A JSON GET against a running Annal, failing with the status and problem detail. */
export function createJsonClient(baseUrl: string, fetchImpl: typeof fetch = fetch, headers: Record<string, string> = {}) {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    base,
    async get<T>(path: string): Promise<T> {
      const response = await fetchImpl(`${base}${path}`, { headers: { accept: "application/json", ...headers } });
      if (!response.ok) {
        const text = await response.text();
        let detail = text;
        try {
          detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
        } catch {
          // not a problem document: show the text as is
        }
        throw new Error(`GET ${path} answered ${response.status}: ${detail}`);
      }
      return (await response.json()) as T;
    },
  };
}

/** ANNAL_TOKEN, when set, is sent as a bearer token (the audit routes need `audit:read`). */
export function authHeaders(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return env.ANNAL_TOKEN ? { authorization: `Bearer ${env.ANNAL_TOKEN}` } : {};
}

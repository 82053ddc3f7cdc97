// user-agent family: a small closed set, so the model learns per client library, not per version.
const FAMILIES: readonly [RegExp, string][] = [
  [/^curl\//i, 'curl'],
  [/python-requests|python-urllib|aiohttp|httpx/i, 'python'],
  [/^okhttp/i, 'okhttp'],
  [/go-http-client/i, 'go'],
  // apart: their default retry policies differ (got retries twice, axios not at all without
  // axios-retry, Node's fetch and undici not at all), and the model learns per family
  [/^got\b/i, 'got'],
  [/^axios\//i, 'axios'],
  [/^(node|undici)/i, 'node'],
  [/^(aws-sdk|aws-cli|boto)/i, 'aws'],
  [/^grpc-/i, 'grpc'],
  [/java|apache-httpclient|jetty/i, 'java'],
  [/^wget/i, 'wget'],
  [/bot|crawler|spider/i, 'bot'],
  [/mozilla\/.*(chrome|firefox|safari|edg)/i, 'browser'],
];

const cache = new Map<string, string>();
const CACHE_LIMIT = 1000;

export function userAgentFamily(ua: string | undefined): string {
  if (ua === undefined || ua === '') return 'none';
  const hit = cache.get(ua);
  if (hit !== undefined) return hit;
  let family = 'other';
  for (const [re, name] of FAMILIES) {
    if (re.test(ua)) {
      family = name;
      break;
    }
  }
  // bounded: a flood of unique user agents must not grow memory
  if (cache.size < CACHE_LIMIT) cache.set(ua, family);
  return family;
}

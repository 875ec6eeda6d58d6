import { SEVERITIES, type Severity } from '../detect/catalog';

/** One `WEBHOOK_URLS` endpoint: where new findings go, and the least severity it receives. */
export interface WebhookTarget {
  readonly url: string;
  /** Findings below this severity are not sent here (default LOW: every finding). */
  readonly minSeverity: Severity;
}

/**
 * Parses `WEBHOOK_URLS`: comma-separated http(s) URLs, each optionally followed by `>=SEVERITY`
 * (`https://siem.example/hook>=HIGH,https://chat.example/x`). Throws an Error saying which entry is wrong and why,
 * without repeating the URL (webhook URLs often carry a token).
 */
export function parseWebhookUrls(value: string): WebhookTarget[] {
  const entries = value.split(',').map((s) => s.trim());
  const targets: WebhookTarget[] = [];
  entries.forEach((entry, i) => {
    const where = entries.length > 1 ? `entry ${i + 1} of ${entries.length}` : 'the entry';
    if (entry === '') throw new Error(`${where} is empty`);
    const [urlPart, severityPart, ...rest] = entry.split('>=').map((s) => s.trim());
    if (rest.length > 0) throw new Error(`${where} has more than one ">="`);
    const url = urlPart!;
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw new Error(`${where} is not an http(s) URL`);
    let minSeverity: Severity = 'LOW';
    if (severityPart !== undefined) {
      const s = severityPart.toUpperCase();
      if (!(SEVERITIES as readonly string[]).includes(s))
        throw new Error(`${where} has an unknown severity after ">=": use one of ${SEVERITIES.join(', ')}`);
      minSeverity = s as Severity;
    }
    if (targets.some((t) => t.url === url)) throw new Error(`${where} repeats an earlier URL`);
    targets.push({ url, minSeverity });
  });
  return targets;
}

/** The origin of a webhook URL (scheme, host, port): what logs name, never the path (it may hold a token). */
export function webhookOrigin(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : '(unparsable URL)';
}

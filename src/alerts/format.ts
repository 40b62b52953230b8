/** What an alert says outside: ids and quantities only (the rows never hold customer data). Pure. */
export interface AlertRecord {
  id: string;
  kind: string;
  shopId: string | null;
  subject: string;
  at: string;
  details: Record<string, unknown>;
}

const TITLES: Record<string, string> = {
  drift: 'Reconciliation found drift over the threshold',
  reservation_expired: 'Reservation expired and was released',
  missed_webhooks: 'Orders without a reservation (webhooks lost)',
  unmapped_order_line: 'Order line with no mapping',
  order_adjust_refused: 'Shopify refused an order adjustment',
};

export function alertText(a: AlertRecord): string {
  const facts = Object.entries(a.details)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${TITLES[a.kind] ?? a.kind}: shop ${a.shopId ?? '-'}, ${a.subject}${facts ? ` (${facts})` : ''} [alert ${a.id}]`;
}

/** The request body for an endpoint: our JSON, or what a Slack incoming webhook accepts. */
export function alertBody(a: AlertRecord, format: 'json' | 'slack'): Record<string, unknown> {
  const text = alertText(a);
  if (format === 'slack') {
    return {
      text,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `:warning: *${TITLES[a.kind] ?? a.kind}*\nshop \`${a.shopId ?? '-'}\` · ${a.subject}` } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `${Object.entries(a.details).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' · ') || 'no details'} · alert ${a.id} · ${a.at}` }] },
      ],
    };
  }
  return { id: a.id, kind: a.kind, shopId: a.shopId, subject: a.subject, at: a.at, details: a.details, text };
}

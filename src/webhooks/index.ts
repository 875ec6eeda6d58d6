/** Webhooks: new findings POSTed, signed, to `WEBHOOK_URLS` through a database outbox (`webhook_deliveries`). */
export { webhookOutboxHooks } from './webhook-outbox';
export { startWebhookDeliverer, type DeliveryOutcome, type WebhookDeliverer } from './webhook-deliverer';
export { startFollowerWebhooks } from './webhooks';

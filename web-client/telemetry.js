// Sending to the telemetry service: one Idempotency-Key per batch, retried with the same key on network
// errors, 503 and 429 (honouring Retry-After), a new token on 401, and sendBeacon for the last events.

import { HttpError, requestJson } from "./api.js";

const RETRYABLE = new Set([429, 503]);
const MAX_BACKOFF_MS = 8_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class TelemetrySender {
  constructor(baseUrl, token) {
    this.baseUrl = baseUrl;
    this.token = token;
    this.acknowledged = []; // {path, key, ack}: what the service has made durable
    this.retries = 0;
    // Every attempt: {path, key, sentAt, answeredAt, status, retryAfter, waitMs} (times from performance.now(),
    // status "network" when no answer came). The page publishes it as window.__telemetryLog for its test.
    this.log = [];
  }

  /** POSTs ``body`` until the service acknowledges it; every attempt carries the same key. */
  async send(path, body, key = crypto.randomUUID()) {
    let backoffMs = 500;
    for (;;) {
      let waitMs;
      const attempt = { path, key, sentAt: performance.now() };
      this.log.push(attempt);
      try {
        const ack = await requestJson(`${this.baseUrl}${path}`, {
          method: "POST",
          token: this.token.value,
          body,
          headers: { "Idempotency-Key": key },
        });
        Object.assign(attempt, { answeredAt: performance.now(), status: "ok" });
        this.acknowledged.push({ path, key, ack });
        return ack;
      } catch (error) {
        attempt.answeredAt = performance.now();
        attempt.status = error instanceof HttpError ? error.status : "network";
        attempt.retryAfter = error instanceof HttpError ? error.retryAfter : null;
        if (error instanceof HttpError && error.status === 401) {
          await this.token.renew();
          waitMs = 0;
        } else if (error instanceof HttpError && RETRYABLE.has(error.status)) {
          waitMs = (error.retryAfter ?? backoffMs / 1000) * 1000;
        } else if (error instanceof TypeError) {
          waitMs = backoffMs; // the network failed: the request may or may not have arrived, so same key
        } else {
          throw error; // 400/403/413/422: resending the same body cannot succeed
        }
      }
      attempt.waitMs = waitMs;
      this.retries += 1;
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      await sleep(waitMs);
    }
  }

  /** The page is going away: hand the last events to the browser, token in the body (no headers). */
  beacon({ mediaEvents = [], analyticsEvents = [], key }) {
    if (!mediaEvents.length && !analyticsEvents.length) return false;
    const body = JSON.stringify({
      token: this.token.value,
      media_events: mediaEvents,
      analytics_events: analyticsEvents,
      idempotency_key: key,
    });
    return navigator.sendBeacon(`${this.baseUrl}/v1/beacon`, body);
  }
}

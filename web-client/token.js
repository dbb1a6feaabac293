// The telemetry token: asked from core-api, renewed before it expires (docs/telemetry.md).

const RENEW_BEFORE_MS = 60_000; // renew a minute early; for short tokens at 80 % of their life
const RETRY_MS = 2_000;

export class TelemetryToken {
  constructor(core) {
    this.core = core;
    this.current = null;
    this.timer = null;
  }

  /** The first token; later ones replace it in the background. */
  async start() {
    await this.renew();
  }

  async renew() {
    try {
      this.current = await this.core.telemetryToken();
      const lifetime = Date.parse(this.current.expires_at) - Date.now();
      this.schedule(Math.max(1_000, Math.min(lifetime - RENEW_BEFORE_MS, lifetime * 0.8)));
    } catch (error) {
      if (!this.current) throw error;
      this.schedule(RETRY_MS);
    }
  }

  schedule(delayMs) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.renew(), delayMs);
  }

  get value() {
    return this.current.token;
  }

  /** The claim the server checks too: pose frames need biometric consent. */
  get biometric() {
    return Boolean(this.current?.biometric);
  }

  get consentLevel() {
    return this.current?.consent_level ?? 0;
  }
}

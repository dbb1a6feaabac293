// A synthetic MediaPipe BlazePose stream (33 landmarks) at 30 frames/s, buffered and posted every 1.5 s
// as one PoseFrameBatch. A real app feeds the same buffer from MediaPipe's results callback.

const FRAME_MS = 1000 / 30;
const FLUSH_MS = 1_500;
const LANDMARKS = 33;

export class PoseStream {
  // sessionId: the exercise log's telemetry_session_id, which core-api gave it when the session started.
  constructor(sender, mediaId, sessionId) {
    this.sender = sender;
    this.mediaId = mediaId;
    this.sessionId = sessionId;
    this.buffer = [];
    this.frameNumber = 0;
    this.startedAt = performance.now();
    this.sending = Promise.resolve(); // batches go one after another, in capture order
    this.framesAcknowledged = 0;
  }

  start() {
    this.frameTimer = setInterval(() => this.capture(), FRAME_MS);
    this.flushTimer = setInterval(() => this.flush(), FLUSH_MS);
  }

  capture() {
    const n = this.frameNumber++;
    const phase = Math.sin(n / 15);
    const coordinate = (base, i) => Math.min(1, Math.max(0, base + 0.1 * phase * Math.cos(i)));
    this.buffer.push({
      frame_number: n,
      elapsed_ms: Math.round(performance.now() - this.startedAt),
      landmark_x: Array.from({ length: LANDMARKS }, (_, i) => coordinate(0.5, i)),
      landmark_y: Array.from({ length: LANDMARKS }, (_, i) => coordinate(0.3 + i / 66, i)),
      landmark_z: Array.from({ length: LANDMARKS }, () => -0.1 * phase),
      landmark_visibility: Array.from({ length: LANDMARKS }, () => 0.9),
      pose_confidence: 0.95,
      landmarks_detected: LANDMARKS,
      rep_count: Math.floor(n / 90),
      form_score: 0.8 + 0.1 * phase,
      rom_degrees: 45 + 40 * phase,
      active_exercise_phase: phase >= 0 ? "concentric" : "eccentric",
      camera_resolution: "640x480",
      processing_time_ms: 12,
    });
  }

  /** Moves the buffered frames into one batch with its own key; resolves once it is acknowledged. */
  flush() {
    if (!this.buffer.length) return this.sending;
    const batch = { session_id: this.sessionId, media_id: this.mediaId, frames: this.buffer.splice(0) };
    const key = crypto.randomUUID();
    this.sending = this.sending.then(async () => {
      const ack = await this.sender.send("/v1/pose/frames", batch, key);
      this.framesAcknowledged += ack.accepted;
    });
    return this.sending;
  }

  /** Stops capturing and sends what is left. */
  async stop() {
    clearInterval(this.frameTimer);
    clearInterval(this.flushTimer);
    await this.flush();
  }
}

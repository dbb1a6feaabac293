// Video QoE events as a player emits them, from a real <video> element: play_intent (the playback request,
// so a video that never starts still leaves a view), session_start (its first frame), heartbeat,
// buffering_start/end, quality_change, milestones and session_end (contracts.media_events.MediaEvent).

const MILESTONES = [25, 50, 75, 95];

const now = () => new Date().toISOString();
const round = (x, digits = 2) => Number(x.toFixed(digits));

function connection() {
  const info = navigator.connection ?? {};
  const type = ["wifi", "cellular", "ethernet"].includes(info.type) ? info.type : "unknown";
  return {
    connection_type: type,
    effective_bandwidth: info.downlink ?? 0,
    rtt_ms: Math.round(info.rtt ?? 0),
    platform: "web",
  };
}

export class MediaView {
  // sessionId: the exercise log's telemetry_session_id, which core-api gave it when the session started.
  constructor(video, mediaId, heartbeatMs, sessionId) {
    this.video = video;
    this.mediaId = mediaId;
    this.heartbeatMs = heartbeatMs;
    this.sessionId = sessionId;
    this.queue = []; // events not yet handed to the network
    this.watched = 0;
    this.lastPosition = 0;
    this.buffering = null;
    this.bufferingCount = 0;
    this.bufferingMs = 0;
    this.milestones = new Set();
    this.resolution = null;
    this.ended = false;
    this.loadStartedAt = performance.now();
    this.listeners = {
      playing: () => this.onPlaying(),
      waiting: () => this.onWaiting(),
      timeupdate: () => this.onTimeUpdate(),
      resize: () => this.onResize(),
    };
    for (const [name, listener] of Object.entries(this.listeners)) video.addEventListener(name, listener);
    this.emit("play_intent", connection(), { media_id: mediaId, media_type: "video" });
  }

  emit(event, data, extra = {}) {
    this.queue.push({ event, session_id: this.sessionId, timestamp: now(), ...extra, data });
  }

  /** The queued events, removed from the queue: the caller sends them. */
  take() {
    return this.queue.splice(0);
  }

  resolutionLabel() {
    return this.video.videoHeight ? `${this.video.videoHeight}p` : null;
  }

  bitrate() {
    const [entry] = performance.getEntriesByName(this.video.currentSrc);
    const bits = (entry?.encodedBodySize ?? 0) * 8;
    return this.video.duration ? Math.round(bits / this.video.duration) : 0;
  }

  onPlaying() {
    if (this.buffering !== null) {
      const durationMs = Math.round(performance.now() - this.buffering.since);
      this.bufferingMs += durationMs;
      this.emit("buffering_end", { position_seconds: round(this.video.currentTime), duration_ms: durationMs });
      this.buffering = null;
    }
    if (this.started) return;
    this.started = true;
    this.resolution = this.resolutionLabel();
    const [entry] = performance.getEntriesByName(this.video.currentSrc);
    this.emit(
      "session_start",
      {
        total_duration_seconds: round(this.video.duration),
        ttfb_ms: Math.round(entry ? entry.responseStart - entry.requestStart : 0),
        video_load_time_ms: Math.round(performance.now() - this.loadStartedAt),
        cdn_response_time_ms: Math.round(entry ? entry.responseEnd - entry.requestStart : 0),
        ...connection(),
      },
      { media_id: this.mediaId, media_type: "video" },
    );
    this.heartbeatTimer = setInterval(() => this.emit("heartbeat", this.progress(true)), this.heartbeatMs);
  }

  onWaiting() {
    if (!this.started || this.buffering !== null) return;
    this.bufferingCount += 1;
    this.buffering = { since: performance.now() };
    this.emit("buffering_start", { position_seconds: round(this.video.currentTime) });
  }

  onTimeUpdate() {
    const position = this.video.currentTime;
    const step = position - this.lastPosition;
    if (step > 0 && step < 1.5) this.watched += step; // a seek is not watching
    this.lastPosition = position;
    for (const percent of MILESTONES) {
      if (!this.milestones.has(percent) && this.completion() >= percent) {
        this.milestones.add(percent);
        this.emit("milestone", { percent, position_seconds: round(position) });
      }
    }
  }

  onResize() {
    const label = this.resolutionLabel();
    if (!this.started || !label || label === this.resolution) return;
    this.emit("quality_change", {
      from_bitrate: this.bitrate(),
      to_bitrate: this.bitrate(),
      reason: "abr",
      from_resolution: this.resolution,
      to_resolution: label,
    });
    this.resolution = label;
  }

  completion() {
    return this.video.duration ? Math.min(100, (100 * this.watched) / this.video.duration) : 0;
  }

  progress(heartbeat) {
    const data = {
      watched_duration_seconds: round(this.watched),
      completion_percent: round(this.completion()),
      buffering_count: this.bufferingCount,
      buffering_duration_ms: this.bufferingMs,
    };
    if (!heartbeat) return data;
    const quality = this.video.getVideoPlaybackQuality();
    return {
      position_seconds: round(this.video.currentTime),
      ...data,
      current_bitrate: this.bitrate(),
      current_resolution: this.resolution,
      dropped_frames: quality.droppedVideoFrames,
      total_frames: quality.totalVideoFrames,
    };
  }

  /** Ends the view (the patient moved on or left): a last heartbeat and session_end are queued. */
  end(exitReason) {
    if (this.ended || !this.started) return;
    this.ended = true;
    clearInterval(this.heartbeatTimer);
    for (const [name, listener] of Object.entries(this.listeners)) this.video.removeEventListener(name, listener);
    this.emit("heartbeat", this.progress(true));
    this.emit("session_end", {
      ...this.progress(false),
      completed: this.completion() >= 95,
      exit_reason: exitReason,
    });
  }
}

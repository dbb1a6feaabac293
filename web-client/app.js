// The patient flow: telemetry token → today's session → start → each exercise (video, instructions, pose
// frames, media events) → exercise log → complete → analytics event; the last events by beacon on pagehide.

import { coreApi } from "./api.js";
import { MediaView } from "./media.js";
import { PoseStream } from "./pose.js";
import { TelemetrySender } from "./telemetry.js";
import { TelemetryToken } from "./token.js";

const MEDIA_FLUSH_MS = 5_000;

// A real app gets the patient's bearer token from its identity provider (OIDC sign-in); this reference page
// takes it, with the services' origins, from the URL fragment, which is never sent to any server.
const config = new URLSearchParams(location.hash.slice(1));
history.replaceState(null, "", location.pathname);

const core = coreApi(config.get("core"), config.get("token"));
const token = new TelemetryToken(core);
const sender = new TelemetrySender(config.get("telemetry"), token);
const heartbeatMs = Number(config.get("heartbeat_ms") ?? 10_000);

const $ = (id) => document.getElementById(id);
const state = {
  phase: "loading",
  completion: null,
  exerciseLogs: [],
  poseFramesAcknowledged: 0,
  poseSessions: [], // {sessionId, framesAcknowledged} per exercise with pose tracking
  views: [], // each video view's session_id (its exercise log's telemetry_session_id)
  beaconSent: null,
};
window.referenceClient = { state, acknowledged: sender.acknowledged, sender };
window.__telemetryLog = sender.log;

function show(phase, text) {
  state.phase = phase;
  $("status").dataset.state = phase;
  $("status").textContent = text;
}

let currentView = null;
let mediaSending = Promise.resolve();

function sendMedia(events) {
  if (!events.length || token.consentLevel < 2) return mediaSending;
  mediaSending = mediaSending.then(() => sender.send("/v1/media/events", events));
  return mediaSending;
}

function playToEnd(video, url) {
  return new Promise((resolve, reject) => {
    video.addEventListener("ended", resolve, { once: true });
    video.addEventListener("error", () => reject(new Error(`cannot play ${url}`)), { once: true });
    video.src = url;
    video.play().catch(reject);
  });
}

async function runExercise(item, sessionId, isLast) {
  const { exercise, exercise_log_id: logId } = item;
  $("exercise-name").textContent = exercise.name;
  $("instructions").replaceChildren(
    ...exercise.instructions.map((step) => Object.assign(document.createElement("li"), { textContent: step })),
  );
  const mediaId = item.exercise_id; // a HashedId: a UUID's letters, digits and hyphens qualify
  const pose = token.biometric ? new PoseStream(sender, mediaId, sessionId) : null;
  $("pose").textContent = pose ? "Pose tracking on" : "Pose tracking off (no biometric consent)";
  const startedAt = new Date().toISOString();
  currentView = new MediaView($("player"), mediaId, heartbeatMs, sessionId);
  state.views.push(currentView.sessionId);
  pose?.start();
  await playToEnd($("player"), exercise.video_url);
  await pose?.stop();
  if (!isLast) {
    currentView.end("ended"); // the last view stays open on the completion screen until the page closes
    sendMedia(currentView.take());
  }
  const log = await core.logExercise(logId, {
    actual_sets: 3,
    actual_reps: 10,
    video_watched: true,
    video_watch_seconds: Math.round(currentView.watched),
    video_watch_percentage: Number(currentView.completion().toFixed(2)),
    pose_data_captured: pose !== null,
    started_at: startedAt,
    completed_at: new Date().toISOString(),
  });
  state.exerciseLogs.push(log.id);
  state.poseFramesAcknowledged += pose?.framesAcknowledged ?? 0;
  if (pose) state.poseSessions.push({ sessionId: pose.sessionId, framesAcknowledged: pose.framesAcknowledged });
}

async function main() {
  await token.start();
  const mediaTimer = setInterval(() => currentView && sendMedia(currentView.take()), MEDIA_FLUSH_MS);
  const today = await core.today(config.get("patient"));
  if (!today.next_session) {
    show("nothing-due", "Nothing due today");
    return;
  }
  show("running", `Session ${today.next_session.session_number}`);
  const started = await core.start(today.patient_treatment_plan_id, today.next_session.session_number, {
    pain_level_before: 3,
  });
  state.completion = started.session_completion_id;
  // Each exercise's media events and pose frames go under its log's telemetry session id, so core-api can
  // later match what telemetry measured to what the log reports (docs/telemetry.md, "Session ids").
  const sessionIds = new Map(started.exercise_logs.map((log) => [log.id, log.telemetry_session_id]));
  for (const [index, item] of started.exercises.entries()) {
    await runExercise(item, sessionIds.get(item.exercise_log_id), index === started.exercises.length - 1);
  }
  const done = await core.complete(started.session_completion_id, { pain_level_after: 2, perceived_difficulty: 3 });
  if (token.consentLevel >= 2) {
    await sender.send("/v1/analytics/track", {
      event_name: "treatment_plan.session_completed",
      event_category: "treatment_plan",
      timestamp: new Date().toISOString(),
      resource_type: "patient_session_completion",
      resource_id: String(done.id),
      properties: { session_number: done.session_number, exercises_total: started.exercises.length },
    });
  }
  clearInterval(mediaTimer);
  await sendMedia(currentView.take());
  show("done", `Session complete: ${done.exercises_completed} exercises`);
}

// pagehide, not unload: it also fires when the page goes into the back/forward cache.
addEventListener("pagehide", () => {
  if (!currentView || token.consentLevel < 2) return;
  currentView.end("navigated_away");
  state.beaconSent = sender.beacon({
    mediaEvents: currentView.take(),
    analyticsEvents: [
      {
        event_name: "treatment_plan.page_left",
        event_category: "treatment_plan",
        timestamp: new Date().toISOString(),
        resource_type: "patient_session_completion",
        resource_id: String(state.completion),
        properties: { phase: state.phase },
      },
    ],
    key: `beacon-${currentView.sessionId}`,
  });
});

main().catch((error) => {
  show("failed", `Something went wrong: ${error.message}`);
  console.error(error);
});

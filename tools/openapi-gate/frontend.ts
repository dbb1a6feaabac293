// What a frontend written against the OpenAPI documents does, in the order a clinic and a patient do it.
// The gate (tests/contract/test_openapi_gate.py) generates ./generated/*.ts with openapi-typescript's
// default settings and compiles this file with `tsc --strict --noEmit`: a document change that breaks
// such code fails the build.
import createClient from "openapi-fetch";
import type { paths as CoreApi } from "./generated/core-api";
import type { paths as Telemetry } from "./generated/telemetry";

const core = createClient<CoreApi>({ baseUrl: "http://localhost:8000" });
const telemetry = createClient<Telemetry>({ baseUrl: "http://localhost:8001" });

export async function clinicAndPatient(patientId: number): Promise<void> {
  // A specialist creates a plan with only the required fields and the ones the spec's sample sends.
  const created = await core.POST("/v1/treatment-plans", {
    body: { name: "Post-ACL Rehab Weeks 1-4", type: "telerehab", frequency_per_week: 3, duration_weeks: 4 },
  });
  if (created.error) throw new Error(created.error.title);
  const planId: string = created.data.id;

  // Lists plans with filters; optional query parameters are left out or given plain values.
  const plans = await core.GET("/v1/treatment-plans", {
    params: { query: { type: "telerehab", published: true, q: "acl", sort: "-created_at", page: 1, limit: 25 } },
  });
  const names: string[] = (plans.data?.treatment_plans ?? []).map((plan) => plan.name);

  // The patient app: today's session, then start it.
  const today = await core.GET("/v1/patients/{patient_id}/treatment-plans/today", {
    params: { path: { patient_id: patientId } },
  });
  if (today.error) throw new Error(today.error.title);
  const enrollmentId = today.data.patient_treatment_plan_id;
  const sessionNumber = today.data.next_session?.session_number;
  if (enrollmentId == null || sessionNumber == null) return;

  const started = await core.POST("/v1/patient-treatment-plans/{enrollment_id}/sessions/{session_number}/start", {
    params: { path: { enrollment_id: enrollmentId, session_number: sessionNumber } },
    body: { pain_level_before: 3 },
  });
  if (started.error) throw new Error(started.error.title);
  const completionId: number = started.data.session_completion_id;

  // Logs each exercise: done with its actuals, or skipped.
  for (const exercise of started.data.exercises) {
    const logged = await core.PUT("/v1/patient-exercise-logs/{log_id}", {
      params: { path: { log_id: exercise.exercise_log_id } },
      body: { actual_sets: exercise.prescribed_sets, actual_reps: 10, video_watched: true },
    });
    if (logged.error) throw new Error(logged.error.title);
  }

  const completed = await core.POST("/v1/patient-session-completions/{completion_id}/complete", {
    params: { path: { completion_id: completionId } },
    body: { pain_level_after: 2, perceived_difficulty: 5 },
  });
  const status: string | undefined = completed.data?.status;

  // Telemetry: a batch of pose frames and a media event, with the token from core-api.
  const token = await core.POST("/v1/telemetry/token", {});
  const headers = { Authorization: `Bearer ${token.data?.token ?? ""}` };
  const sessionId = "550e8400-e29b-41d4-a716-446655440000";
  const landmarks = Array.from({ length: 33 }, () => 0.5);
  await telemetry.POST("/v1/pose/frames", {
    headers,
    body: {
      session_id: sessionId,
      media_id: "hashed-exercise-id",
      frames: [
        {
          frame_number: 450,
          elapsed_ms: 15000,
          landmark_x: landmarks,
          landmark_y: landmarks,
          landmark_z: landmarks,
          landmark_visibility: landmarks,
          pose_confidence: 0.96,
          landmarks_detected: 33,
          rep_count: 5,
          camera_resolution: "640x480",
          processing_time_ms: 12,
        },
      ],
    },
  });
  await telemetry.POST("/v1/media/events", {
    headers,
    body: {
      event: "heartbeat",
      session_id: sessionId,
      timestamp: new Date().toISOString(),
      data: {
        position_seconds: 12.5,
        watched_duration_seconds: 12.0,
        completion_percent: 30,
        buffering_count: 0,
        buffering_duration_ms: 0,
        current_bitrate: 2500,
      },
    },
  });
  console.log(planId, names, status);
}

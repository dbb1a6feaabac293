// fetch wrappers for core-api and telemetry: JSON bodies, bearer tokens, problem+json errors.

export class HttpError extends Error {
  constructor(response, problem) {
    super(`${response.status} ${problem?.title ?? response.statusText}`);
    this.status = response.status;
    this.retryAfter = Number(response.headers.get("Retry-After")) || null;
    this.problem = problem;
  }
}

export async function requestJson(url, { method = "GET", token, body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new HttpError(response, parsed);
  return parsed;
}

/** The patient's calls to core-api, authenticated with the identity provider's token. */
export function coreApi(baseUrl, bearer) {
  const call = (path, options = {}) => requestJson(`${baseUrl}${path}`, { ...options, token: bearer });
  return {
    telemetryToken: () => call("/v1/telemetry/token", { method: "POST" }),
    today: (patientId) => call(`/v1/patients/${patientId}/treatment-plans/today`),
    start: (enrollmentId, sessionNumber, body) =>
      call(`/v1/patient-treatment-plans/${enrollmentId}/sessions/${sessionNumber}/start`, {
        method: "POST",
        body,
        headers: { "Idempotency-Key": crypto.randomUUID() },
      }),
    logExercise: (logId, body) => call(`/v1/patient-exercise-logs/${logId}`, { method: "PUT", body }),
    complete: (completionId, body) =>
      call(`/v1/patient-session-completions/${completionId}/complete`, { method: "POST", body }),
  };
}

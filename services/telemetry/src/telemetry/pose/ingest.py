"""``POST /v1/pose/frames``: batches of MediaPipe pose frames from a patient's device, stored in
``pose_tracking_frames`` (the route as :mod:`telemetry.ingest.route` builds it)."""

from __future__ import annotations

from contracts.pose import PoseFrameBatch

from telemetry.identity import ANALYTICS
from telemetry.ingest.route import IngestRoute, ingest_handler, json_body
from telemetry.pose.columns import POSE_FRAMES
from telemetry.pose.decode import decode_pose_batch

ingest_pose_frames = ingest_handler(
    IngestRoute(
        path="/v1/pose/frames",
        operation_id="IngestPoseFrames",
        description="""Store pose-tracking frames (consent level 2+ and biometric consent): the frames that fit the
        contract, listing the others in the answer (docs/telemetry.md, "Partial batches").""",
        body=json_body(PoseFrameBatch, "A batch of up to 300 MediaPipe frames of one session.", decode_pose_batch),
        table=POSE_FRAMES,
        consent=ANALYTICS,
        biometric=True,
        endpoint="pose_frames",
    )
)

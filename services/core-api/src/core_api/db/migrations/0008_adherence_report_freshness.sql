-- When a stored weekly report still holds, so the organization's page can read it instead of computing.
--
-- A week's report changes by the clock alone only when one of its windows opens or closes: fresh_until is
-- the first such instant after computed_at (the week's close once nothing opens before it). time_zone is
-- the patient's zone the windows were laid out in; a patient who moves makes the row stale. The page
-- reads a row that is final (computed_at >= closes_at) or fresh (now < fresh_until, same zone, and no
-- session, status change or enrollment update written after computed_at); it recomputes the others.
-- Rows stored before this migration get -infinity and '', so they are recomputed on first read.
-- See docs/adherence.md.

ALTER TABLE weekly_adherence_reports
    ADD COLUMN fresh_until timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN time_zone text NOT NULL DEFAULT '';
ALTER TABLE weekly_adherence_reports
    ALTER COLUMN fresh_until DROP DEFAULT,
    ALTER COLUMN time_zone DROP DEFAULT;

-- An enrollment's status as of now: an active or paused enrollment whose end_date is before today in the
-- patient's time zone is expired, whether or not the expiry (the nightly job, or a write that locks the
-- enrollment) has recorded it yet. Every read of an enrollment's status, a filter or a count on it goes
-- through this one definition, so no read sees an overdue enrollment as active; the expiry statement uses
-- it too, so what it records is what reads already showed. A plain SQL expression: the planner inlines it,
-- and a query can still narrow on the stored status first (active now implies active stored).
CREATE FUNCTION enrollment_status_now(status text, end_date date, time_zone text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN status IN ('active', 'paused') AND end_date < (now() AT TIME ZONE time_zone)::date
                      THEN 'expired' ELSE status END $$;
GRANT EXECUTE ON FUNCTION enrollment_status_now(text, date, text) TO rehab_app;

-- The audit log becomes tamper-evident (docs/audit.md): append-only for everyone, and hash-chained per
-- organization. Each row gets chain_seq (1, 2, 3, ... within its organization, no gaps), previous_hash
-- (the row_hash of the organization's row chain_seq - 1; 32 zero bytes for the first) and
-- row_hash = sha256(previous_hash || audit_log_canonical(row)). A BEFORE INSERT trigger fills all three
-- under a per-organization advisory lock held to commit, so concurrent writers of one organization
-- append to one chain while other organizations' writers never wait for it. The verifier
-- (core_api/domain/audit/chain.py) recomputes the same bytes in Python.
--
-- The row hash covers before/after through payload_hash, a digest of the two, so that GDPR erasure can
-- drop a patient's payloads (audit_log_erase_payloads, the one UPDATE the table allows) and leave the chain
-- verifiable. patient_id names the patient a row is about: the trigger derives it when the writer does not
-- give it (audit_patient_of); read auditing gives it.

ALTER TABLE audit_log
    ADD COLUMN patient_id bigint,
    ADD COLUMN chain_seq bigint,
    ADD COLUMN previous_hash bytea,
    ADD COLUMN row_hash bytea,
    ADD COLUMN payload_hash bytea,
    ADD COLUMN payload_erased_at timestamptz;

-- One field of the canonical form: NULL is the single byte '-', any other value is its UTF-8 byte length
-- in decimal, ':', then the bytes. Length-prefixing makes the concatenation unambiguous whatever the
-- values contain.
CREATE FUNCTION audit_field(value text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN value IS NULL THEN '\x2d'::bytea
                ELSE convert_to(octet_length(convert_to(value, 'UTF8'))::text || ':', 'UTF8')
                     || convert_to(value, 'UTF8')
           END
    $$;

-- The digest of a row's payload: jsonb as PostgreSQL's own text of the jsonb value (deterministic: jsonb
-- is stored normalized).
CREATE FUNCTION audit_payload_hash(before jsonb, after jsonb) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT sha256(audit_field(before::text) || audit_field(after::text)) $$;

-- The bytes a row's hash covers, version-tagged, in this order: every column but previous_hash, row_hash
-- and payload_erased_at, with before and after through payload_hash (lowercase hex). Integers in decimal,
-- created_at as integer microseconds since the Unix epoch (independent of TimeZone and DateStyle).
CREATE FUNCTION audit_log_canonical(r audit_log) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT convert_to('audit_log/v1', 'UTF8')
        || audit_field(r.organization_id::text)
        || audit_field(r.chain_seq::text)
        || audit_field(r.id::text)
        || audit_field(r.actor_user_id::text)
        || audit_field(r.actor_role)
        || audit_field(r.action)
        || audit_field(r.entity_type)
        || audit_field(r.entity_id)
        || audit_field(r.patient_id::text)
        || audit_field(encode(r.payload_hash, 'hex'))
        || audit_field(((extract(epoch FROM r.created_at) * 1000000)::bigint)::text)
    $$;

-- The patient a row is about when its writer did not say: a patient entity, else the payload's
-- patient_id or patient.id (every contract Struct about a patient carries one of them), else the exercise
-- log's patient. NULL for rows about no patient (plans, exercises, staff).
CREATE FUNCTION audit_patient_of(entity_type text, entity_id text, payload jsonb) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN entity_type = 'patient' AND entity_id ~ '^[0-9]{1,18}$' THEN entity_id::bigint
        WHEN payload ->> 'patient_id' ~ '^[0-9]{1,18}$' THEN (payload ->> 'patient_id')::bigint
        WHEN payload -> 'patient' ->> 'id' ~ '^[0-9]{1,18}$' THEN (payload -> 'patient' ->> 'id')::bigint
        WHEN entity_type = 'patient_exercise_log' AND entity_id ~ '^[0-9]{1,18}$' THEN
            (SELECT l.patient_id FROM patient_exercise_logs l WHERE l.id = entity_id::bigint)
    END
    $$;

-- Existing rows, chained per organization in id order. The owner is subject to FORCE ROW LEVEL SECURITY
-- and audit_log has no UPDATE policy, so RLS is relaxed for the owner inside this transaction only.
ALTER TABLE audit_log NO FORCE ROW LEVEL SECURITY;
DO $$
DECLARE
    r audit_log;
    current_org bigint := NULL;
    seq bigint;
    previous bytea;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY organization_id, id LOOP
        IF current_org IS DISTINCT FROM r.organization_id THEN
            current_org := r.organization_id;
            seq := 0;
            previous := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
        END IF;
        seq := seq + 1;
        r.chain_seq := seq;
        r.patient_id := audit_patient_of(r.entity_type, r.entity_id, coalesce(r.after, r.before));
        r.payload_hash := audit_payload_hash(r.before, r.after);
        r.previous_hash := previous;
        r.row_hash := sha256(previous || audit_log_canonical(r));
        UPDATE audit_log
            SET chain_seq = r.chain_seq, patient_id = r.patient_id, payload_hash = r.payload_hash,
                previous_hash = r.previous_hash, row_hash = r.row_hash
            WHERE id = r.id;
        previous := r.row_hash;
    END LOOP;
END
$$;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;

ALTER TABLE audit_log
    ALTER COLUMN chain_seq SET NOT NULL,
    ALTER COLUMN previous_hash SET NOT NULL,
    ALTER COLUMN row_hash SET NOT NULL,
    ALTER COLUMN payload_hash SET NOT NULL;
-- One row per position: a second writer that somehow missed the lock fails here instead of forking the
-- chain. Also the trigger's look-up of the chain's head and the verifier's walk.
CREATE UNIQUE INDEX audit_log_chain_idx ON audit_log (organization_id, chain_seq);
-- Who accessed or changed a patient's data, and when (HIPAA access reports); the rows erasure visits.
CREATE INDEX audit_log_patient_idx ON audit_log (organization_id, patient_id, created_at)
    WHERE patient_id IS NOT NULL;

-- Runs as the inserting role (SECURITY INVOKER): the app role sees its own organization's rows through
-- audit_log_read, which is all it needs; an insert into another organization fails audit_log_insert.
CREATE FUNCTION audit_log_chain() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    head record;
BEGIN
    -- Serializes the writers of this organization only, until their transactions end: the next writer
    -- then reads a head that has committed. The key is a 64-bit hash of the organization; a collision
    -- between two organizations only makes them wait for each other.
    PERFORM pg_advisory_xact_lock(hashtextextended('audit_log:' || NEW.organization_id::text, 0));
    SELECT a.chain_seq, a.row_hash INTO head
        FROM audit_log a
        WHERE a.organization_id = NEW.organization_id
        ORDER BY a.chain_seq DESC
        LIMIT 1;
    IF FOUND THEN
        NEW.chain_seq := head.chain_seq + 1;
        NEW.previous_hash := head.row_hash;
    ELSE
        NEW.chain_seq := 1;
        NEW.previous_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    NEW.patient_id := coalesce(NEW.patient_id, audit_patient_of(NEW.entity_type, NEW.entity_id, coalesce(NEW.after, NEW.before)));
    NEW.payload_hash := audit_payload_hash(NEW.before, NEW.after);
    NEW.payload_erased_at := NULL;
    NEW.row_hash := sha256(NEW.previous_hash || audit_log_canonical(NEW));
    RETURN NEW;
END
$$;

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    erased audit_log;
BEGIN
    -- The one change allowed: erasing a payload (GDPR), once, touching nothing else. The chain still
    -- verifies, since row_hash covers payload_hash, and the erasure is visible in payload_erased_at.
    IF TG_OP = 'UPDATE' THEN
        erased := OLD;
        erased.before := NULL;
        erased.after := NULL;
        erased.payload_erased_at := NEW.payload_erased_at;
        IF OLD.payload_erased_at IS NULL AND NEW.payload_erased_at IS NOT NULL
                AND NEW IS NOT DISTINCT FROM erased THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Rows are never changed or deleted, only their payload erased; see docs/audit.md.';
END
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
-- For every role, superusers and the owner included (they could disable it: the chain shows the edit).
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- Erasure (GDPR): the owner role, in a job with the tenant set, drops the payloads of every row about the
-- patient, and of the creation of the patient's user (call it before the user is unlinked). The app role
-- has no UPDATE privilege on the table, so this policy gives it nothing.
CREATE POLICY audit_log_erase ON audit_log FOR UPDATE TO CURRENT_USER
    USING (organization_id = app_organization_id())
    WITH CHECK (organization_id = app_organization_id());

CREATE FUNCTION audit_log_erase_payloads(patient bigint) RETURNS bigint
    LANGUAGE sql
    AS $$
    WITH erased AS (
        UPDATE audit_log a
        SET before = NULL, after = NULL, payload_erased_at = now()
        WHERE a.payload_erased_at IS NULL
          AND (a.before IS NOT NULL OR a.after IS NOT NULL)
          AND (a.patient_id = patient
               OR (a.entity_type = 'user'
                   AND a.entity_id = (SELECT p.user_id::text FROM patients p WHERE p.id = patient)))
        RETURNING 1
    )
    SELECT count(*) FROM erased
    $$;
REVOKE ALL ON FUNCTION audit_log_erase_payloads(bigint) FROM PUBLIC;

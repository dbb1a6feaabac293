"""The pgbench transaction the core-api load benchmark makes from a request's recorded statements."""

from __future__ import annotations

from bench.core_api_load import pgbench_script

# A statement as a queries.sql file gives it: its comment before it, and a section heading after it.
RECORDED = b"""-- The completion's state; a pending one gets its collection.
UPDATE patient_session_completions SET evidence_state = %(state)s WHERE id = %(id)s

-- Collecting, in the dispatcher --------------------------------------------------------------------
"""


def test_a_statement_ends_before_the_comment_lines_that_follow_it() -> None:
    script = pgbench_script([(RECORDED, {"state": "pending", "id": 42})], {"42": "completion"}, "")
    assert script.text.splitlines()[1:] == [
        "BEGIN;",
        "-- The completion's state; a pending one gets its collection.",
        "UPDATE patient_session_completions SET evidence_state = :c0 WHERE id = (:completion)::int2;",
        "COMMIT;",
    ]
    assert script.statements == 1
    assert script.constants == {"c0": "pending"}

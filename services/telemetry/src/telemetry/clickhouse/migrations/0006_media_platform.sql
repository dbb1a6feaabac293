-- The app platform of a view (`web`, `ios`, `android`, `desktop`, `other`), sent by play_intent and
-- session_start; the bandwidth statistics group views by it. Empty means "not reported"; rows written before
-- this migration read as empty. A plain ADD COLUMN (18.16 has no IF NOT EXISTS): a run that stopped after it
-- leaves the column, and the next run skips an ADD COLUMN whose column exists (migrate.py).
ALTER TABLE media_events ADD COLUMN platform {lc_string} AFTER cdn;

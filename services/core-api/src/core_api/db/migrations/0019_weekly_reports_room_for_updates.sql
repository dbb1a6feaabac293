-- The nightly roll-forward rewrites every active enrollment's current-week row. With full pages none of
-- those updates could stay on its page (0 of 28,929 heap-only updates in bench/adherence.py), so each one
-- wrote a new row version elsewhere and touched every index. Half-empty pages let PostgreSQL update in
-- place (no indexed column changes): all updates heap-only, the upsert's PostgreSQL CPU 50-57 -> 40-44 µs
-- an enrollment, for about twice the table's disk space (docs/performance.md, adherence).
ALTER TABLE weekly_adherence_reports SET (fillfactor = 50);

"""Session evidence: what the player and the pose tracker measured for the exercise sessions core-api names
(``POST /v1/session-evidence``, core-api's service token only), in one ClickHouse query per call."""

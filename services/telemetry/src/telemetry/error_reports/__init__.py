"""Client error reports (``POST /v1/errors/report``): the route, the columns of ``error_reports`` and the
scrubbing of personal data from their free text."""

"""What every ingest route shares: the route builder (``route.py``), admission before the body is read
(``admission.py``, ``ratelimit.py``), the batch a request's rows share (``batch.py``) and the partial
acceptance of batches (``partial.py``). The routes themselves are the features' (``media/ingest.py``, ...)."""

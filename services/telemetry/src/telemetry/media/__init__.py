"""Video watch events: ``POST /v1/media/events`` and CMCD reports (``POST /v1/media/cmcd``) into
``media_events``, and the staff read routes over them (per-view QoE, per-media statistics, ranking)."""

"""Bandwidth monitoring (``GET /v1/media/bandwidth/stats``): the organization's views grouped by country,
connection, CDN, resolution or platform, from the network figures of their media events."""

"""Product analytics events (``POST /v1/analytics/track``): the route and the columns of ``analytics_events``."""

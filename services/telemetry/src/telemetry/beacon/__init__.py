"""``POST /v1/beacon``: the media and analytics events a closing page sends with ``navigator.sendBeacon``."""

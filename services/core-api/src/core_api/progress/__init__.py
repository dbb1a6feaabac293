"""Progress and analytics reports: an enrollment's progress and analytics, the organization dashboard."""

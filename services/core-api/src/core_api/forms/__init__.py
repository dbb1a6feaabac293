"""Form instances: reading a patient's forms and submitting responses validated against the template."""

"""HTML pages for incidents: the triage queue, the incident page and intake."""

"""HTTP routes of the workspace: pages (HTML) and the JSON API under /api/v1."""

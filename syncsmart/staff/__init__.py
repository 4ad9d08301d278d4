"""The staff console at /staff/: every tenant's health, a page per tenant, audited support actions.

Django's model admin stays reachable under /staff/admin/ for raw records."""

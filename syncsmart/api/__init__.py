"""SyncSmart's REST API: a tenant's integrations, mappings, filters, runs, record events and
connections, for the customer's own scripts and tools.

Everything here is a thin HTTP layer: reads go through tenant-scoped querysets and every
change goes through the same named actions (mappings.services.actions) and model validation the UI
uses, so the API can never do what the UI would refuse, nor skip an audit row.
"""

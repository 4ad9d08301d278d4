"""What the customer UI and the REST API share: the audited configuration actions (`actions`),
sandbox → production (`go_live`), the read models of runs and events (`queries`), the schema
views of a connection (`schema`), record samples for the filter builder (`samples`)."""

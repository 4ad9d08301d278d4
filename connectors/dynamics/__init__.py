"""Microsoft Dynamics 365 (Dataverse Web API v9.2): connector, credential form, webhooks and emulator.

connector.py  the Connector (auth, change-tracked reads, $batch writes, look-ups, webhooks)
forms.py      the credential form (org URL, tenant, client id, write-only client secret)
webhooks.py   RemoteExecutionContext payloads and service-endpoint auth (both sides)
limits.py     Dataverse's published service protection limits and the shared-limiter policy
odata.py      the $filter parser / evaluator / renderer
batch.py      multipart/mixed $batch bodies with change sets
schema.py     the tables the emulator serves (the connector discovers them over the API)
emulator.py   the Dataverse + Azure AD token endpoint emulator
"""

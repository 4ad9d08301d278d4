"""NetSuite: SuiteTalk REST web services (record/v1, SuiteQL), its connector and its emulator.

Published numbers the connector and the emulator are built on (NetSuite's help center, "SuiteTalk
REST Web Services", "Collection Paging", "SuiteQL", "Web Services and RESTlet Concurrency
Governance"):
"""

RECORD_PATH = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
METADATA_PATH = RECORD_PATH + "/metadata-catalog"

# Collection paging: at most 1,000 results per page (the default), offset-based.
MAX_PAGE_SIZE = 1000
# SuiteQL through REST pages through at most 100,000 results of one query.
SUITEQL_MAX_RESULTS = 100_000
# Concurrency governance: an account's limit of concurrent web-service / RESTlet requests is its
# service tier's base (15 for the standard tier) plus 10 per SuiteCloud Plus licence; the request
# over the limit is refused with HTTP 429. Integrations are told their share; ours defaults to 5.
ACCOUNT_CONCURRENCY_STANDARD = 15
DEFAULT_INTEGRATION_CONCURRENCY = 5

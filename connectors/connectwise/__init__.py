"""ConnectWise Manage (PSA): connector, credential form, callbacks and emulator.

Published numbers the connector and emulator are built on (ConnectWise developer guide):
- REST base path /v4_6_release/apis/3.0 on the customer's site (e.g. na.myconnectwise.net);
- list pages default to 25 records and are capped at 1,000 (pageSize), with `Link` headers;
- no published request-rate limit for the cloud API (see emulator.py: a knob, off by default).
"""

API_PATH = "/v4_6_release/apis/3.0"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000

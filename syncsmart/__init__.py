"""SyncSmart project package. Kept free of imports: `python3 -m syncsmart` runs before Django is installed."""

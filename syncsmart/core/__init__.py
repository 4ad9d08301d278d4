"""The dependency-free core every layer may import: the choices shared by configuration and
engine (Side, Direction), secrets at rest (AES-256-GCM) and the encrypted model fields.

It imports nothing of SyncSmart's own (see docs/architecture.md)."""

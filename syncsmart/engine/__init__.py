"""The sync engine: DESIGN.md section 4, one page at a time (see engine.run)."""

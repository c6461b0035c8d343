"""Long-running work (encoding, exporting) as plain functions with progress and cancel."""

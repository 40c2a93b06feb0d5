"""Cross-domain evaluation: networks trained on one sky source, tested on another (issue 18)."""

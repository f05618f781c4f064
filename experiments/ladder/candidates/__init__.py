"""Configurations tried on validation beside the ladder's steps."""

"""The ladder's steps: each adds one change to the step before it."""

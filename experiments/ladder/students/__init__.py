"""Distilled students of the chosen configuration (and their later generations)."""

"""Labelled relevance data for bench/relevance.py."""

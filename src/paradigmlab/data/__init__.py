"""Offline datasets and where to find them (nothing is downloaded at run time)."""

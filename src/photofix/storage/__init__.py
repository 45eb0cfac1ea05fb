"""Blob storage for uploaded sources and results, behind the ResultStore protocol."""

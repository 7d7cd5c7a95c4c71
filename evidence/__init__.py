"""Tamper-evident evidence for violations: capture, storage, signing, verification, review.

See README.md in this folder.
"""

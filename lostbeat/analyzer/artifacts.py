"""ARTIFACTS: every logical artifact, named once, with its candidate paths in a bundle.

STUB: to be written.
"""

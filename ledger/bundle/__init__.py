"""Evidence bundles: one ZIP per departure that proves, offline, what happened.

The format is fixed in docs/bundle-format.md.
"""

"""RFC 3161 trusted time over the log's checkpoints: the request and verification
(``token``, through rfc3161-client), the HTTP adapter (``client``), obtaining and storing
tokens (``stamper``), the background worker (``worker``) and their wiring (``wiring``).
"""

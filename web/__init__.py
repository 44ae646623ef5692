"""The web console: server-rendered pages over the same use cases and read models as the API
(mounted under /console/ by web.site.build_site)."""

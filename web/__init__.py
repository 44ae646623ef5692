"""The web console: server-rendered pages over the same use cases (ledger.service) and read
models (ledger.projections) as the API, mounted under /console/ by ``web.site.build_site``.

Adding a page area (one module per area, each under ~250 lines):

- ``routes = web.RouteTableDef()`` in ``web/<area>_pages.py``, paths relative to /console
  (``@routes.get("/tasks")`` serves /console/tasks); add ``<area>_pages.routes`` to
  ``web.site.PAGE_AREAS`` and its menu entry to ``web.nav.NAV`` (label marked with ``N_``).
- Who may see it: ``actor = require_role(request, "hr", ...)`` (web.session: 404 to other
  roles, the sign-in page without a session) or ``signed_in(request)`` for any role; the
  use cases still apply their own rules. ``context_of(request)`` (web.keys) is the request
  context to pass to a command, as the API passes it.
- Render: ``return render(request, "<area>/page.html", **values)`` (web.render): the
  template extends ``base.html`` and fills ``{% block title %}`` and ``{% block content %}``;
  ``{{ _("English text") }}``, ``{% trans %}``, ``ngettext``; filters ``|day`` and
  ``|moment`` format dates and times for the reader's locale in the organisation's zone.
- Forms: ``<form method="post">`` with ``<input type="hidden" name="csrf" value="{{ csrf }}">``
  (``X-CSRF-Token`` header for fetch uploads); the middleware refuses a POST without it before
  the handler runs. After success ``response = see_other(path)`` (web.session) and
  ``flash(request, response, N_("Done."))`` (web.render); on a LedgerError re-render the form
  with ``problem_text(request, error)`` (the API's title, translated, and its detail).
- Upload forms (files of any size the API takes): mark the handler ``@streamed_form``
  (web.security, under the route decorator) and read the body with
  ``web.streamed_form.read_streamed_form``: the CSRF token is checked from the first part (or
  the ``X-CSRF-Token`` header of a script's upload), files stream into the blob store as the
  API's upload streams them; ``data-live="upload"`` on the form shows progress
  (web/task_pages.py). ``data-live="sign"`` signs a statement in the browser (Ed25519).
- Messages: English msgids; translations in ``web/locale/<zh|en>/LC_MESSAGES/<area>.po``
  (`python -m web.catalogue --area <area>` adds the new ones untranslated; the unit test
  tests/unit/test_console_catalogues.py fails on any message without a zh translation).
"""

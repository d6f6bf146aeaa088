"""Head office's web console (issue 14): people, roles and the audit log; the fleet; the privacy desk.

It owns the web layer only: Litestar routes, Jinja templates, the session cookie, CSRF, security headers
and role guards. Everything it shows or changes goes through the same ``central`` functions the
``store-edge-central`` command line calls; it writes no SQL of its own (people are ``central.users``,
the audit log ``central.audit``). The preview's renderer is a worker process of its own
(``console.preview_worker``): Kivy never runs in the web process.
``store-edge-central console`` serves it (``docs/console.md``).
"""

"""The speed-to-lead intake: `leadflow serve` receives webhooks from ad platforms, form tools, the CRM
and a site's own forms, verifies each, stores it durably (intake/inbox.py) and answers at once; the
lander (intake/land.py) puts what the inbox holds into the warehouse's raw tables.

Modules: `webhooks` (each source's signature and payload), `inbox` (the SQLite inbox), `server`
(the HTTP service and its limits), `land` (inbox -> raw).
"""

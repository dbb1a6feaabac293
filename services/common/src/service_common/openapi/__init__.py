"""What the services' OpenAPI documents add to Litestar's, each module editing ``app.openapi_schema`` in
place, so ``/schema`` and ``tools/openapi.py`` see one document (:func:`service_common.app.service_app`
applies them in order):

- :mod:`.components`: component schemas from msgspec, the one schema language, with their examples and
  which fields a client must send or always receives;
- :mod:`.errors`: the errors the app's shared machinery answers (413, 415, 503) and ``Retry-After``;
- :mod:`.parameters`: the values every route refuses before its handler runs, and no ``null`` in queries;
- :mod:`.links`: links from what a POST creates to the operations on it, and its ``Location``;
- :mod:`.descriptions`: tags, summaries, the roles that may call each operation, public operations;
- :mod:`.operations`: the walk over the document's operations the others share.
"""

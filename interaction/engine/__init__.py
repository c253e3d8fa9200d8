"""The offer engine: pure Python over a compiled live catalogue (SPEC §5).

Nothing here imports Django's request, template or ORM layers; the Django glue
(loading the catalogue, history queries, caching, API) lives outside.
"""

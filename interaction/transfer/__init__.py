"""Catalogue as data (SPEC §8): an environment exported to one versioned JSON
document and imported on another site, all or nothing.

- :mod:`.schema`: the document's format (pydantic models; ``schema.json`` is
  generated from them and shipped with the package), its name and version;
- :mod:`.document`: objects to document entries (the export, and what an
  import compares to decide "unchanged");
- :mod:`.validate`: reading a document: JSON, format and version, schema,
  codes and references, each problem with its path in the document;
- :mod:`.apply`: the import: drafts created or updated by code, published on
  request, every model validator run, in one transaction rolled back on any
  problem (and on a dry run);
- :mod:`.log`: the audit-log actions an import records.

Documented in ``docs/catalogue-format.md``.
"""

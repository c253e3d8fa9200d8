"""The offer engine: pure Python over a compiled live catalogue (SPEC §4-§5).

Nothing here imports Django, Wagtail or any other part of ``interaction``
(an import-linter contract and a test enforce it), so the engine runs and is
tested on in-memory catalogues. The Django side lives in
:mod:`interaction.delivery` (building the catalogue from published rows,
reading contacts and history, rendering, storing) and
:mod:`interaction.targeting` (model fields as condition fields, ``Q``).

- :mod:`.conditions` and :mod:`.formulas`: the condition tree and weight
  formulas, parsed and checked against a schema of field specs;
- :mod:`.codegen`, :mod:`.predicates`, :mod:`.evaluation`: compiled to Python
  functions once per published version;
- :mod:`.catalogue`: the compiled catalogue; :mod:`.call`: a call's input,
  readers and outcome; :mod:`.typology`: rules over history;
  :mod:`.core`: the steps of one call; :mod:`.statuses`: proposition statuses.
"""

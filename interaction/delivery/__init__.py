"""The Django side of the offer engine (SPEC §5 steps 8-9 and the inbound interfaces).

:mod:`.snapshot` compiles the live catalogue from published rows; :mod:`.readers`
read contacts and history; :mod:`.propose` runs a call and renders it
(:mod:`.rendering`); :mod:`.storage` stores propositions and moves statuses;
:mod:`.web` turns a request into a call; :mod:`.tracking` signs links and tokens.
"""

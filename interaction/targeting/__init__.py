"""What conditions and formulas target on Django models (SPEC §4).

The engine (:mod:`interaction.engine.conditions`, :mod:`interaction.engine.formulas`)
knows condition trees and formulas over abstract field specs; this package
gives it the specs of a dimension's model fields (:mod:`.fields`), turns its
errors into form errors (:mod:`.validation`) and compiles conditions to a
Django ``Q`` for set-based batch work (:mod:`.sql`).
"""

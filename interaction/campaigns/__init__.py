"""Outbound delivery (SPEC §6): campaign runs over a whole population."""

"""The Interaction reports, their exports and the dashboard panel (SPEC §7)."""
